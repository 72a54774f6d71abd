//! `GET /metrics`: the cache's metrics (and any other `metrics` facade metrics) in
//! the Prometheus text format, on by default, off with `METRICS_ENABLED=false`.
//!
//! cachette emits through the `metrics` facade (its metrics, labels and units:
//! `cachette::stats`, in the crate docs); this service installs the Prometheus
//! recorder at start-up, before the cache is created, so every metric is seen.

use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The buckets of `cachette_lookup_duration_seconds`, in seconds.
const LOOKUP_BUCKETS: [f64; 13] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// How often histograms are folded into what `/metrics` shows.
const UPKEEP: Duration = Duration::from_secs(5);

/// Installs the Prometheus recorder for the whole process and returns the handle
/// that renders it. Call it once, before `cachette::init`.
///
/// # Errors
///
/// When another recorder is already installed in this process.
pub fn install() -> Result<PrometheusHandle, String> {
    let handle = PrometheusBuilder::new()
        // Buckets rather than the default summaries, so that `histogram_quantile`
        // can combine instances: 50 µs (a memory hit) to 1 s (a slow Redis).
        .set_buckets_for_metric(
            Matcher::Full("cachette_lookup_duration_seconds".to_owned()),
            &LOOKUP_BUCKETS,
        )
        .map_err(|e| format!("cannot configure the metrics recorder: {e}"))?
        .install_recorder()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(UPKEEP);
        loop {
            ticks.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// `router` with `GET /metrics` rendered by `handle` (never cached).
pub fn route<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    handle: PrometheusHandle,
) -> Router<S> {
    router.route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    handle.render(),
                )
                    .into_response()
            }
        }),
    )
}
