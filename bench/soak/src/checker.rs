//! The checker: writes a user's first name through one instance and, once the
//! write returned 200, reads it back from both instances through every cached
//! route that shows it. Any other name is a stale read. The reads before each
//! write check the previous write the same way (and warm the caches, so that a
//! stale entry would have something to be).
//!
//! Each checker owns its users: no one else writes them, so after a completed
//! write there is exactly one right answer.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::http::Http;
use crate::setup::DemoUser;
use crate::stats::{Recorder, Stale, unix_ms};

/// A user a checker writes, and what it last wrote.
#[derive(Debug)]
struct Subject {
    user: DemoUser,
    /// The first name the last completed write set, and when it returned; `None`
    /// before the first, and after a write whose outcome is unknown (a timeout).
    written: Option<(String, Instant)>,
}

/// What a checker works with.
#[derive(Debug)]
pub(crate) struct Checker {
    /// The shared client.
    pub(crate) http: Http,
    /// The shared counters.
    pub(crate) recorder: Arc<Recorder>,
    /// The admin's token (the writes and the admin reads).
    pub(crate) admin: String,
    /// This checker's number (in the names it writes).
    pub(crate) number: u32,
    /// Its users.
    pub(crate) users: Vec<DemoUser>,
    /// The pause between rounds.
    pub(crate) pause: Duration,
}

impl Checker {
    /// Rounds until `deadline`: check, write through A or B in turn, check.
    pub(crate) async fn run(self, deadline: Instant) {
        let mut subjects: Vec<Subject> = self
            .users
            .iter()
            .cloned()
            .map(|user| Subject {
                user,
                written: None,
            })
            .collect();
        if subjects.is_empty() {
            return;
        }
        let mut round = 0usize;
        while Instant::now() < deadline {
            let writer = (round + self.number as usize) % 2;
            let subject = &mut subjects[round % self.users.len()];
            self.read_back(subject).await;
            let name = format!("soak{}r{round}", self.number);
            let path = format!("/users/{}", subject.user.id);
            let body = json!({ "first_name": name });
            let answer = self
                .http
                .call(writer, Method::PUT, &path, Some(&self.admin), Some(&body))
                .await;
            let written = answer.as_ref().and_then(|a| a.json.get("first_name"));
            subject.written = if written.and_then(Value::as_str) == Some(name.as_str()) {
                self.recorder.write();
                Some((name, Instant::now()))
            } else {
                None
            };
            self.read_back(subject).await;
            round += 1;
            tokio::time::sleep(self.pause).await;
        }
    }

    /// Reads the subject from both instances through `GET /users/?user_id=N` (the
    /// admin), `GET /users/me` (the user) and the admin list's first page, and
    /// compares with the last completed write.
    async fn read_back(&self, subject: &Subject) {
        let id = subject.user.id;
        let by_id = format!("/users/?user_id={id}");
        let list = "/users/?page=1&size=100";
        for index in 0..2 {
            let reads: [(&str, &str); 3] = [
                (&by_id, &self.admin),
                ("/users/me", &subject.user.token),
                (list, &self.admin),
            ];
            for (path, token) in reads {
                let Some(answer) = self
                    .http
                    .call(index, Method::GET, path, Some(token), None)
                    .await
                else {
                    continue;
                };
                let Some((expected, at)) = &subject.written else {
                    continue;
                };
                let got = first_name(&answer.json, id).unwrap_or("<absent>");
                let stale = (got != expected).then(|| Stale {
                    at_ms: unix_ms(),
                    instance: self.http.name(index),
                    route: format!("GET {path}"),
                    expected: expected.clone(),
                    got: got.to_owned(),
                    cache: answer.cache.clone().unwrap_or_else(|| "-".to_owned()),
                    after_write_ms: u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX),
                });
                self.recorder.checked(stale, answer.cache.as_deref());
            }
        }
    }
}

/// User `id`'s first name in a user or in a page of users.
fn first_name(json: &Value, id: i64) -> Option<&str> {
    let user = match json.get("items").and_then(Value::as_array) {
        Some(items) => items
            .iter()
            .find(|item| item.get("id").and_then(Value::as_i64) == Some(id))?,
        None => json,
    };
    user.get("first_name").and_then(Value::as_str)
}
