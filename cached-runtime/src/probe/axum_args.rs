//! The rules of axum's extractors: `State`, `Path`, `Query`, the request line.

use axum::extract::{OriginalUri, Path, Query, RawQuery, State};
use http::{Method, Uri};

use super::{PatternIgnore, PatternRequest, PatternRule, SpecialArg, Wrapper};
use crate::key::KeyArgs;

/// `State` is not rendered: it is the same for every call of one route and
/// host, which a handler's key covers (its request line).
impl<S> SpecialArg for State<S> {
    fn add_to(&self, args: &mut KeyArgs, _: &'static str) {
        args.mark_extractor();
    }
}

impl<S> PatternRule for State<S> {
    type Mode = PatternIgnore;
    const MODE: PatternIgnore = PatternIgnore;
}

impl<T> PatternRule for Path<T> {
    type Mode = PatternRequest;
    const MODE: PatternRequest = PatternRequest;
}

impl<T> PatternRule for Query<T> {
    type Mode = PatternRequest;
    const MODE: PatternRequest = PatternRequest;
}

macro_rules! request_covered {
    ($($ty:ident),*) => {$(
        impl<T> Wrapper for $ty<T> {
            const COVERED_BY_REQUEST: bool = true;
            type Inner = T;
            fn inner(&self) -> &T {
                &self.0
            }
        }
        /// Covered by the request URI, which HTTP keys include; a value call
        /// that is not the handler of the request being served runs uncached.
        impl<T> SpecialArg for $ty<T> {
            fn add_to(&self, args: &mut KeyArgs, _: &'static str) {
                args.mark_needs_request();
            }
        }
    )*};
}
request_covered!(Path, Query);

/// Parts of the request line, keyed by their value (so a `Uri` built by hand is
/// keyed by itself, not by the request being served), marked covered: HTTP keys
/// hold the target and the query already, and GET and HEAD share entries.
impl SpecialArg for Uri {
    fn add_to(&self, args: &mut KeyArgs, name: &'static str) {
        args.mark_extractor();
        args.push_value_covered(name, &self.to_string(), true);
    }
}

impl SpecialArg for OriginalUri {
    fn add_to(&self, args: &mut KeyArgs, name: &'static str) {
        args.mark_extractor();
        args.push_value_covered(name, &self.0.to_string(), true);
    }
}

impl SpecialArg for Method {
    fn add_to(&self, args: &mut KeyArgs, name: &'static str) {
        args.mark_extractor();
        args.push_value_covered(name, self.as_str(), true);
    }
}

impl SpecialArg for RawQuery {
    fn add_to(&self, args: &mut KeyArgs, name: &'static str) {
        args.mark_extractor();
        args.push_value_covered(name, &self.0, true);
    }
}

impl<T> Wrapper for axum::extract::Extension<T> {
    const COVERED_BY_REQUEST: bool = false;
    type Inner = T;
    fn inner(&self) -> &T {
        &self.0
    }
}
