//! What a key builder can read of the HTTP request being served: the
//! [`KeyContext`] methods that return `http` types.

use std::any::Any;

use http::{HeaderMap, Method, Uri};

use super::request::{RequestInfo, RequestState};
use crate::key::KeyContext;

impl<'a> KeyContext<'a> {
    /// The HTTP request being served, if the call serves one.
    fn http_request(&self) -> Option<&'a RequestInfo> {
        let request: &'a dyn Any = self.request()?;
        request
            .downcast_ref::<RequestState>()
            .map(|state| &state.info)
    }

    /// The request headers the layer kept, else records that the builder wanted
    /// them (see [`KeyContext::header`]).
    fn kept_headers(&self) -> Option<&'a HeaderMap> {
        let headers = self.http_request()?.headers.as_ref();
        if headers.is_none() {
            self.mark_incomplete();
        }
        headers
    }

    /// The request's method, when the call serves an HTTP request.
    pub fn method(&self) -> Option<&'a Method> {
        self.http_request().map(|r| &r.method)
    }

    /// The request's original URI (before `Router::nest` stripped a prefix); it has a
    /// scheme and an authority for absolute-form (`GET http://host/path`) and HTTP/2
    /// requests.
    pub fn uri(&self) -> Option<&'a Uri> {
        self.http_request().map(|r| &r.uri)
    }

    /// The request header `name`, if present and valid text.
    ///
    /// The layer keeps a copy of the request headers only once a key builder asked
    /// for them: the first request whose builder reads a header runs uncached (its
    /// key could not be built correctly), and from then on every request's headers
    /// are kept. Builders that only read the path, query, arguments and user cost
    /// no header copy.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.kept_headers()?.get(name).and_then(|v| v.to_str().ok())
    }

    /// All request headers (see [`KeyContext::header`] for when they are kept).
    pub fn headers(&self) -> Option<&'a HeaderMap> {
        self.kept_headers()
    }
}
