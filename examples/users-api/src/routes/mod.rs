//! The HTTP routes, one module per resource. Each module has a `router()`, merged by
//! [`crate::app::app`].

pub mod api_keys;
pub mod auth;
pub mod health;
pub mod users;
