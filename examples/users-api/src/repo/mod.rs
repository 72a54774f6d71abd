//! Database access, one module per table: the only place with SQL besides the
//! migrations. Every write is one statement or one transaction, so a failed request
//! never leaves half a change behind.

pub mod api_keys;
pub mod users;
