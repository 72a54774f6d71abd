//! Header values a hit sends, made once: `max-age=N`, `private, max-age=N` and the
//! `Age` for N up to an hour are static (cloning them copies a pointer, no
//! allocation, no shared counter); larger values are built per answer.

use std::sync::OnceLock;
use std::time::Duration;

use http::HeaderValue;

/// Values 0..=TABLE seconds are precomputed.
const TABLE: u64 = 3600;

fn table(prefix: &str, cell: &'static OnceLock<Box<[HeaderValue]>>) -> &'static [HeaderValue] {
    cell.get_or_init(|| {
        let mut text = String::new();
        let mut ends = Vec::with_capacity(TABLE as usize + 1);
        for n in 0..=TABLE {
            text.push_str(prefix);
            text.push_str(&n.to_string());
            ends.push(text.len());
        }
        // One allocation for the whole table, kept for the life of the process.
        let text: &'static str = Box::leak(text.into_boxed_str());
        let mut start = 0;
        ends.into_iter()
            .map(|end| {
                let value = HeaderValue::from_static(&text[start..end]);
                start = end;
                value
            })
            .collect()
    })
}

fn lookup(prefix: &str, cell: &'static OnceLock<Box<[HeaderValue]>>, seconds: u64) -> HeaderValue {
    match table(prefix, cell).get(seconds as usize) {
        Some(value) => value.clone(),
        None => HeaderValue::from_str(&format!("{prefix}{seconds}"))
            .unwrap_or_else(|_| HeaderValue::from_static("0")),
    }
}

/// `[private, ]max-age=<whole seconds left>`.
pub(crate) fn cache_control(private: bool, remaining: Duration) -> HeaderValue {
    static PUBLIC: OnceLock<Box<[HeaderValue]>> = OnceLock::new();
    static PRIVATE: OnceLock<Box<[HeaderValue]>> = OnceLock::new();
    if private {
        lookup("private, max-age=", &PRIVATE, remaining.as_secs())
    } else {
        lookup("max-age=", &PUBLIC, remaining.as_secs())
    }
}

/// `[private, ]max-age=<whole seconds left>`, followed by the function's RFC 5861
/// extensions when it has them: `, stale-while-revalidate=N`, `, stale-if-error=N`
/// (whole seconds), so that downstream caches may do as this one does.
pub(crate) fn cache_control_with(
    private: bool,
    remaining: Duration,
    revalidate: Duration,
    if_error: Duration,
) -> HeaderValue {
    let (revalidate, if_error) = (revalidate.as_secs(), if_error.as_secs());
    if revalidate == 0 && if_error == 0 {
        return cache_control(private, remaining);
    }
    let mut text = String::with_capacity(80);
    if private {
        text.push_str("private, ");
    }
    text.push_str("max-age=");
    text.push_str(&remaining.as_secs().to_string());
    if revalidate > 0 {
        text.push_str(", stale-while-revalidate=");
        text.push_str(&revalidate.to_string());
    }
    if if_error > 0 {
        text.push_str(", stale-if-error=");
        text.push_str(&if_error.to_string());
    }
    HeaderValue::from_str(&text).unwrap_or_else(|_| cache_control(private, remaining))
}

/// `Age`: whole seconds since the entry was stored.
pub(crate) fn age(age: Duration) -> HeaderValue {
    static AGE: OnceLock<Box<[HeaderValue]>> = OnceLock::new();
    lookup("", &AGE, age.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_inside_and_outside_the_table() {
        assert_eq!(
            cache_control(false, Duration::from_millis(299_999)),
            "max-age=299"
        );
        assert_eq!(cache_control(true, Duration::ZERO), "private, max-age=0");
        assert_eq!(
            cache_control(false, Duration::from_secs(86_400)),
            "max-age=86400"
        );
        assert_eq!(
            cache_control(true, Duration::from_secs(3600)),
            "private, max-age=3600"
        );
        assert_eq!(age(Duration::from_secs(7)), "7");
        let s = Duration::from_secs;
        assert_eq!(cache_control_with(false, s(5), s(0), s(0)), "max-age=5");
        assert_eq!(
            cache_control_with(false, s(0), s(30), s(0)),
            "max-age=0, stale-while-revalidate=30"
        );
        assert_eq!(
            cache_control_with(true, s(12), s(0), s(600)),
            "private, max-age=12, stale-if-error=600"
        );
        assert_eq!(
            cache_control_with(false, Duration::from_millis(1999), s(30), s(600)),
            "max-age=1, stale-while-revalidate=30, stale-if-error=600"
        );
        assert_eq!(age(Duration::from_secs(100_000)), "100000");
    }
}
