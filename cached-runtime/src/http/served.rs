//! The request the HTTP layer serves, as the core sees it (`crate::served`): what
//! a `#[cached]` call made while it is served is keyed by.

use std::sync::atomic::Ordering;

use super::key::{identity_segment, push_request_part};
use super::request::RequestState;
use crate::served::Served;

impl Served for RequestState {
    fn claim(&self) -> bool {
        !self.claimed.swap(true, Ordering::AcqRel)
    }

    fn push_request_line(&self, key: &mut String) {
        push_request_part(key, &self.info);
    }

    fn identity(&self) -> Option<String> {
        identity_segment(&self.info)
    }

    fn user_id(&self) -> Option<&str> {
        self.info.identity_user()
    }

    fn path(&self) -> &str {
        self.info.uri.path()
    }

    fn query(&self) -> Option<&str> {
        self.info.uri.query()
    }

    fn query_param(&self, name: &str) -> Option<String> {
        self.info.query_param(name)
    }

    fn keep_more(&self) {
        self.settings.keep_request_headers();
    }
}
