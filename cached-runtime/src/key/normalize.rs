//! [`CacheKey`]: a finished key, with long segments hashed.

use std::borrow::Cow;
use std::fmt;

use sha2::{Digest, Sha256};

/// Segments longer than this are replaced by their hash.
pub(crate) const MAX_SEGMENT: usize = 128;
/// Keys with more segments keep `MAX_SEGMENTS - 1` and hash the rest into one.
pub(crate) const MAX_SEGMENTS: usize = 32;

/// A complete key: `{prefix}:{rest}`, where `rest` (the part namespaces match
/// against) is normalized by [`normalize_prefix`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    full: String,
    rest_at: usize,
}

impl CacheKey {
    /// The key for `rest` under `prefix`.
    #[cfg(test)]
    pub(crate) fn from_rest(prefix: &str, rest: &str) -> CacheKey {
        let mut full = String::with_capacity(prefix.len() + 1 + rest.len());
        full.push_str(prefix);
        full.push(':');
        full.push_str(rest);
        Self::from_string(full, prefix.len() + 1)
    }

    /// The key `full`, whose part after the prefix starts at byte `rest_at`;
    /// normalized in place (no copy when it is short, the common case).
    pub(crate) fn from_string(full: String, rest_at: usize) -> CacheKey {
        let normalized = match normalize_prefix(&full[rest_at..]) {
            Cow::Borrowed(_) => None,
            Cow::Owned(rest) => Some(rest),
        };
        match normalized {
            None => CacheKey { full, rest_at },
            Some(rest) => {
                let mut out = String::with_capacity(rest_at + rest.len());
                out.push_str(&full[..rest_at]);
                out.push_str(&rest);
                CacheKey { full: out, rest_at }
            }
        }
    }

    /// A key a key builder returned; `None` unless it starts with `{prefix}:`.
    pub(crate) fn from_full(prefix: &str, full: String) -> Option<CacheKey> {
        full.strip_prefix(prefix)?.strip_prefix(':')?;
        Some(Self::from_string(full, prefix.len() + 1))
    }

    /// The whole key, as stored.
    pub(crate) fn full(&self) -> &str {
        &self.full
    }

    /// The key after `{prefix}:`: `{namespace}:...`.
    pub(crate) fn rest(&self) -> &str {
        &self.full[self.rest_at..]
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.full, f)
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

/// Applies the long-key rules to a key (after the prefix) or to a namespace given to
/// `invalidate_namespace`: the transformation works segment by segment, so a namespace
/// that is a segment-aligned prefix of a key stays one after both are normalized.
pub(crate) fn normalize_prefix(rest: &str) -> Cow<'_, str> {
    if rest.len() <= MAX_SEGMENT && rest.len() < MAX_SEGMENTS {
        // No segment can be too long, nor can there be too many.
        return Cow::Borrowed(rest);
    }
    if rest.len() <= MAX_SEGMENT {
        // No segment can be too long: only their number matters (most keys take
        // this path).
        if count_colons(rest.as_bytes()) < MAX_SEGMENTS {
            return Cow::Borrowed(rest);
        }
    } else if !needs_work(rest.as_bytes()) {
        return Cow::Borrowed(rest);
    }
    let mut out = String::with_capacity(rest.len().min(MAX_SEGMENTS * 40));
    let mut split = rest.splitn(MAX_SEGMENTS, ':');
    for (i, segment) in split.by_ref().enumerate() {
        if i > 0 {
            out.push(':');
        }
        if segment.len() > MAX_SEGMENT || (i == MAX_SEGMENTS - 1 && segment.contains(':')) {
            push_hashed(&mut out, segment);
        } else {
            out.push_str(segment);
        }
    }
    Cow::Owned(out)
}

/// How many `:` bytes `bytes` holds, eight bytes at a time (every key is
/// counted, and keys are short: a SIMD search's set-up costs more than this).
fn count_colons(bytes: &[u8]) -> usize {
    const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const COLONS: u64 = 0x3a3a_3a3a_3a3a_3a3a;
    let mut chunks = bytes.chunks_exact(8);
    let mut count = 0usize;
    for chunk in chunks.by_ref() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        // A byte of `x` is zero exactly where the chunk holds `:`; the high bit
        // of each byte of `zero` is set exactly for those bytes (no carries
        // between bytes: each sum stays below 0x100).
        let x = u64::from_le_bytes(word) ^ COLONS;
        let zero = !(((x & LOW) + LOW) | x | LOW);
        count += zero.count_ones() as usize;
    }
    count
        + chunks
            .remainder()
            .iter()
            .filter(|&&byte| byte == b':')
            .count()
}

/// Whether a segment of `rest` is longer than [`MAX_SEGMENT`] or there are more than
/// [`MAX_SEGMENTS`] of them: one pass over the bytes (every key is checked).
fn needs_work(rest: &[u8]) -> bool {
    let mut segments = 1usize;
    let mut start = 0usize;
    for (at, &byte) in rest.iter().enumerate() {
        if byte == b':' {
            if at - start > MAX_SEGMENT {
                return true;
            }
            segments += 1;
            if segments > MAX_SEGMENTS {
                return true;
            }
            start = at + 1;
        }
    }
    rest.len() - start > MAX_SEGMENT
}

fn push_hashed(out: &mut String, segment: &str) {
    let digest = Sha256::digest(segment.as_bytes());
    // `$` is escaped by the argument encoder, so no argument renders like a hash
    // (`#` would: it starts byte strings).
    out.push('$');
    out.push_str(&hex::encode(&digest[..16]));
}

/// What `invalidate_namespace(namespace)` invalidates: the namespace normalized like
/// keys are, or, for a namespace of `MAX_SEGMENTS` segments or more, its first
/// `MAX_SEGMENTS - 1` segments. Keys of more than `MAX_SEGMENTS` segments keep that
/// many and hash the rest into one, so a longer prefix of theirs cannot be matched:
/// invalidating the broader namespace reaches every key under the one asked for (and
/// its siblings), never fewer.
pub(crate) fn invalidation_target(namespace: &str) -> Cow<'_, str> {
    match namespace.match_indices(':').nth(MAX_SEGMENTS - 2) {
        Some((at, _)) => Cow::Owned(normalize_prefix(&namespace[..at]).into_owned()),
        None => normalize_prefix(namespace),
    }
}

/// The segment-aligned prefixes of `rest` that invalidation can target, shortest
/// first: for `user:42:get` these are `user`, `user:42` and `user:42:get`.
pub(crate) fn prefixes(rest: &str) -> impl Iterator<Item = &str> {
    rest.match_indices(':')
        .map(move |(i, _)| &rest[..i])
        .chain(std::iter::once(rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition `needs_work` computes in one pass.
    fn needs_work_by_split(rest: &str) -> bool {
        rest.split(':').count() > MAX_SEGMENTS || rest.split(':').any(|s| s.len() > MAX_SEGMENT)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn count_colons_counts_every_colon(bytes in proptest::collection::vec(
            prop_oneof![Just(b':'), Just(0x3b_u8), Just(0xba_u8), Just(0u8), any::<u8>()],
            0..80,
        )) {
            prop_assert_eq!(
                count_colons(&bytes),
                bytes.iter().filter(|&&b| b == b':').count()
            );
        }
    }

    #[test]
    fn needs_work_at_the_limits() {
        let long = "a".repeat(MAX_SEGMENT);
        for rest in [
            long.clone(),
            format!("{long}a"),
            format!("x:{long}"),
            format!("x:{long}a"),
            format!("{long}a:x"),
            ":".repeat(MAX_SEGMENTS - 1),
            ":".repeat(MAX_SEGMENTS),
            String::new(),
        ] {
            assert_eq!(
                needs_work(rest.as_bytes()),
                needs_work_by_split(&rest),
                "{rest}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn needs_work_is_the_split_definition(
            segments in prop::collection::vec(0usize..=(MAX_SEGMENT + 2), 1..(MAX_SEGMENTS + 3)),
        ) {
            let rest = segments.iter().map(|&n| "s".repeat(n)).collect::<Vec<_>>().join(":");
            prop_assert_eq!(needs_work(rest.as_bytes()), needs_work_by_split(&rest));
        }
    }

    #[test]
    fn prefixes_are_segment_aligned() {
        let p: Vec<_> = prefixes("user:42:get").collect();
        assert_eq!(p, ["user", "user:42", "user:42:get"]);
        let p: Vec<_> = prefixes("user").collect();
        assert_eq!(p, ["user"]);
        let p: Vec<_> = prefixes(":f").collect();
        assert_eq!(p, ["", ":f"]);
    }

    #[test]
    fn short_keys_are_left_alone() {
        let k = CacheKey::from_rest("fastapi-cache", "user:42:get");
        assert_eq!(k.full(), "fastapi-cache:user:42:get");
        assert_eq!(k.rest(), "user:42:get");
    }

    #[test]
    fn long_segments_are_hashed_not_truncated() {
        let a = format!("user:{}:f", "a".repeat(500));
        let b = format!("user:{}b:f", "a".repeat(499));
        let ka = CacheKey::from_rest("p", &a);
        let kb = CacheKey::from_rest("p", &b);
        assert_ne!(ka, kb);
        assert!(ka.full().len() < 80, "{}", ka.full());
        assert!(ka.rest().starts_with("user:$"));
        assert!(ka.rest().ends_with(":f"));
    }

    #[test]
    fn normalization_keeps_prefix_relations() {
        let long = "n".repeat(300);
        let key = format!("{long}:42:f");
        let k = CacheKey::from_rest("p", &key);
        let ns = normalize_prefix(&long);
        assert!(prefixes(k.rest()).any(|p| p == ns));
        let ns42 = normalize_prefix(&format!("{long}:42")).into_owned();
        assert!(prefixes(k.rest()).any(|p| p == ns42));
    }

    #[test]
    fn many_segments_keep_the_first_ones() {
        let many: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        let rest = many.join(":");
        let k = CacheKey::from_rest("p", &rest);
        assert_eq!(prefixes(k.rest()).count(), MAX_SEGMENTS);
        assert!(k.rest().starts_with("0:1:2:3"));
        let other = CacheKey::from_rest("p", &format!("{rest}:100"));
        assert_ne!(k, other);
    }

    #[test]
    fn long_namespaces_invalidate_a_prefix_every_longer_key_has() {
        let segments: Vec<String> = (0..40).map(|i| i.to_string()).collect();
        for n in 30..40 {
            let namespace = segments[..n].join(":");
            let target = invalidation_target(&namespace).into_owned();
            for extra in ["", ":fn", ":a:b:c"] {
                let key = CacheKey::from_rest("p", &format!("{namespace}{extra}"));
                assert!(
                    prefixes(key.rest()).any(|p| p == target),
                    "{n} segments{extra}: {target} is not a prefix of {}",
                    key.rest()
                );
            }
        }
        // Up to 31 segments, the namespace itself.
        assert_eq!(invalidation_target("user:1"), "user:1");
    }

    #[test]
    fn from_full_requires_the_prefix() {
        assert!(CacheKey::from_full("fastapi-cache", "fastapi-cache:user:1".into()).is_some());
        assert!(CacheKey::from_full("fastapi-cache", "fastapi-cacheX:user:1".into()).is_none());
        assert!(CacheKey::from_full("fastapi-cache", "user:1".into()).is_none());
    }
}
