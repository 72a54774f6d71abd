//! Reading a response body into memory, up to a limit, without losing it.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;

/// A body read as far as the limit allowed.
pub(crate) enum Buffered {
    /// All of it.
    Complete(Bytes),
    /// Larger than the limit, or it failed, or it has trailers: here it is again,
    /// intact, for the client (it is not stored).
    Partial(Body),
}

/// Reads `body` into memory if it is at most `limit` bytes.
pub(crate) async fn buffer(mut body: Body, limit: usize) -> Buffered {
    let mut collected = BytesMut::new();
    loop {
        match body.frame().await {
            None => return Buffered::Complete(collected.freeze()),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) if collected.len() + data.len() <= limit => {
                    collected.extend_from_slice(&data)
                }
                Ok(data) => {
                    collected.extend_from_slice(&data);
                    return Buffered::Partial(Body::new(Prefixed::new(
                        collected.freeze(),
                        None,
                        Some(body),
                    )));
                }
                Err(trailers) => {
                    let trailers = trailers.into_trailers().ok();
                    return Buffered::Partial(Body::new(Prefixed {
                        prefix: Some(collected.freeze()),
                        trailers,
                        error: None,
                        rest: Some(body),
                    }));
                }
            },
            Some(Err(error)) => {
                return Buffered::Partial(Body::new(Prefixed::new(
                    collected.freeze(),
                    Some(error),
                    None,
                )));
            }
        }
    }
}

/// What was read, then the rest of the original body (or its error).
struct Prefixed {
    prefix: Option<Bytes>,
    trailers: Option<http::HeaderMap>,
    error: Option<axum::Error>,
    rest: Option<Body>,
}

impl Prefixed {
    fn new(prefix: Bytes, error: Option<axum::Error>, rest: Option<Body>) -> Self {
        Prefixed {
            prefix: Some(prefix).filter(|p| !p.is_empty()),
            trailers: None,
            error,
            rest,
        }
    }
}

impl http_body::Body for Prefixed {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Some(prefix) = self.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        if let Some(trailers) = self.trailers.take() {
            return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
        }
        if let Some(error) = self.error.take() {
            return Poll::Ready(Some(Err(error)));
        }
        match self.rest.as_mut() {
            Some(rest) => Pin::new(rest).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn size_hint(&self) -> SizeHint {
        let prefix = self.prefix.as_ref().map_or(0, |p| p.len() as u64);
        match &self.rest {
            Some(rest) => {
                let rest = rest.size_hint();
                let mut hint = SizeHint::new();
                hint.set_lower(rest.lower() + prefix);
                if let Some(upper) = rest.upper() {
                    hint.set_upper(upper + prefix);
                }
                hint
            }
            None => SizeHint::with_exact(prefix),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(body: Body) -> Bytes {
        body.collect().await.unwrap().to_bytes()
    }

    #[tokio::test]
    async fn small_bodies_are_read_whole() {
        match buffer(Body::from("hello"), 10).await {
            Buffered::Complete(b) => assert_eq!(b, "hello"),
            Buffered::Partial(_) => panic!("fits"),
        }
    }

    #[tokio::test]
    async fn large_bodies_are_given_back_intact() {
        let chunks: Vec<Result<Bytes, std::io::Error>> = (0..10)
            .map(|i| Ok(Bytes::from(format!("chunk{i};"))))
            .collect();
        let body = Body::from_stream(tokio_stream_iter(chunks));
        match buffer(body, 20).await {
            Buffered::Complete(_) => panic!("too large"),
            Buffered::Partial(body) => {
                let all = collect(body).await;
                let expected: String = (0..10).map(|i| format!("chunk{i};")).collect();
                assert_eq!(all, expected);
            }
        }
    }

    #[tokio::test]
    async fn a_failing_body_still_fails_for_the_client() {
        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from_static(b"part")),
            Err(std::io::Error::other("boom")),
        ];
        match buffer(Body::from_stream(tokio_stream_iter(chunks)), 1000).await {
            Buffered::Complete(_) => panic!("failed bodies are not complete"),
            Buffered::Partial(body) => assert!(body.collect().await.is_err()),
        }
    }

    fn tokio_stream_iter<T>(items: Vec<T>) -> futures_util::stream::Iter<std::vec::IntoIter<T>> {
        futures_util::stream::iter(items)
    }
}
