//! One HTTP call to an instance, timed and recorded: every request counts, every
//! answer outside 2xx and every transport error is an incident.

use std::sync::Arc;
use std::time::Instant;

use reqwest::Method;
use serde_json::Value;

use crate::settings::Instance;
use crate::stats::{Failure, Incident, Recorder, unix_ms};

/// A 2xx answer.
#[derive(Debug)]
pub(crate) struct Answer {
    /// Its `X-FastAPI-Cache` header, when it has one.
    pub(crate) cache: Option<String>,
    /// Its body, parsed as JSON (`Null` for an empty body).
    pub(crate) json: Value,
}

/// The client every task shares.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    recorder: Arc<Recorder>,
    instances: Arc<[Instance; 2]>,
}

impl Http {
    /// A client with `timeout` on every request (connect, send and body).
    ///
    /// # Errors
    ///
    /// When reqwest cannot build a client.
    pub(crate) fn new(
        instances: [Instance; 2],
        timeout: std::time::Duration,
        recorder: Arc<Recorder>,
    ) -> Result<Http, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(std::time::Duration::from_secs(1)))
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|error| format!("cannot build the HTTP client: {error}"))?;
        Ok(Http {
            client,
            recorder,
            instances: Arc::new(instances),
        })
    }

    /// The instance's name (`A`, `B`).
    pub(crate) fn name(&self, index: usize) -> &'static str {
        self.instances[index].name
    }

    /// `method path` on instance `index` (0 = A), with a bearer `token` and a JSON
    /// `body` when given. `None` when it failed (recorded as an incident).
    pub(crate) async fn call(
        &self,
        index: usize,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Option<Answer> {
        let instance = &self.instances[index];
        let route = format!("{method} {path}");
        let mut request = self
            .client
            .request(method, format!("{}{path}", instance.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let started = Instant::now();
        let result = async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let cache = response
                .headers()
                .get("x-fastapi-cache")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let text = response.text().await?;
            Ok::<_, reqwest::Error>((status, cache, text))
        }
        .await;
        self.recorder.request(index, &route, started.elapsed());
        let failure = match result {
            Ok((status, cache, text)) if (200..300).contains(&status) => {
                let json = if text.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_str(&text).unwrap_or(Value::String(text))
                };
                return Some(Answer { cache, json });
            }
            Ok((status, _, text)) => Failure::Status(status, text.chars().take(200).collect()),
            Err(error) if error.is_timeout() => Failure::Timeout,
            Err(error) => Failure::Transport(error_chain(&error)),
        };
        self.recorder.incident(Incident {
            at_ms: unix_ms(),
            instance: instance.name,
            route,
            failure,
        });
        None
    }
}

/// The error and its sources, `: `-separated (reqwest's top line alone says
/// little: "error sending request").
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
