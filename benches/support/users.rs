//! The 50 users of the template's seed data, shared by the benches that serve or
//! cache them (`memory`, `http_hits`): one definition, so their numbers are about
//! the same data.

use serde::{Deserialize, Serialize};

/// One user, as the template's users API returns it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct User {
    id: u64,
    email: String,
    first_name: String,
    last_name: String,
    role: String,
    is_verified: bool,
    created: String,
}

/// The seed data: 50 users.
pub(crate) fn users() -> Vec<User> {
    (1..=50)
        .map(|i| User {
            id: i,
            email: format!("user{i:03}@example.com"),
            first_name: ["Ada", "Grace", "Alan", "Linus", "Barbara"][i as usize % 5].into(),
            last_name: ["Lovelace", "Hopper", "Turing", "Torvalds", "Liskov"][i as usize % 5]
                .into(),
            role: if i % 10 == 1 { "admin" } else { "user" }.into(),
            is_verified: i % 3 != 0,
            created: format!("2024-01-01T{:02}:00:00", i % 24),
        })
        .collect()
}
