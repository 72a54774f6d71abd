//! The steady read load: on one instance, a reader sends a cached read at a fixed
//! rate until the deadline, cycling through the cached routes (the admin's
//! `/users/me`, a page of the admin list, one user by id, a demo user's
//! `/users/me`). A slow answer delays the next tick rather than bursting after it.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use tokio::time::{Instant, MissedTickBehavior};

use crate::http::Http;
use crate::setup::Fixture;

/// A small xorshift generator: which user and page to read (no need for more).
#[derive(Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value; zero is replaced).
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// A number below `bound` (`bound` > 0).
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % bound.max(1) as u64).unwrap_or(0)
    }
}

/// One reader on instance `index`, one request every `period`, until `deadline`.
pub(crate) async fn reader(
    http: Http,
    index: usize,
    fixture: Arc<Fixture>,
    period: Duration,
    deadline: Instant,
    seed: u64,
) {
    let mut rng = Rng::new(seed);
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut turn = 0usize;
    while Instant::now() < deadline {
        ticker.tick().await;
        turn += 1;
        let admin = Some(fixture.admin.as_str());
        match turn % 4 {
            0 => {
                http.call(index, Method::GET, "/users/me", admin, None)
                    .await;
            }
            1 => {
                let path = format!("/users/?page={}&size=20", 1 + rng.below(3));
                http.call(index, Method::GET, &path, admin, None).await;
            }
            2 => {
                let id = fixture.ids[rng.below(fixture.ids.len())];
                let path = format!("/users/?user_id={id}");
                http.call(index, Method::GET, &path, admin, None).await;
            }
            _ => {
                let user = &fixture.users[rng.below(fixture.users.len())];
                http.call(index, Method::GET, "/users/me", Some(&user.token), None)
                    .await;
            }
        }
    }
}
