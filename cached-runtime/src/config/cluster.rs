//! `REDIS_URL` as a list of seed nodes, for `REDIS_CLUSTER`.
//!
//! With `REDIS_CLUSTER=true`, `REDIS_URL` lists the nodes to ask for the cluster's
//! layout first, separated by commas; each is parsed as a single `REDIS_URL` is.
//! Every node of a cluster shares TLS and credentials, and a cluster has only
//! database 0, so a list whose nodes disagree on scheme, user name or password, or
//! that selects another database, is refused rather than half used.
//!
//! Without `REDIS_CLUSTER`, the value is one URL exactly as before (a password may
//! hold an unencoded comma), unless it reads as several: two or more of its
//! comma-separated parts start a URL (`://`). That is an error saying to set
//! `REDIS_CLUSTER`, even when the whole happens to parse as one URL (the user info
//! ends at the last `@`, so `redis://:pw@h1,redis://:pw@h2` would otherwise be
//! `h2` with a password of `pw@h1,redis://:pw`).
//!
//! Problems are short texts that never hold a password: a node is quoted masked,
//! and a node that looks like the tail of a user info split at a comma is not
//! quoted at all.

use super::redis_url::{RedisUrl, parse_redis_url};
use super::secret::mask_url;

/// Why `REDIS_URL` is not accepted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum UrlProblem {
    /// One URL that does not parse (`REDIS_CLUSTER` off): the parser's reason.
    Single(String),
    /// Several URLs while `REDIS_CLUSTER` is off: how many.
    NotCluster(usize),
    /// A list of seed nodes (`REDIS_CLUSTER` on) that is not accepted: what is
    /// wrong, naming the node.
    Seeds(String),
}

/// Parses a trimmed, non-empty `REDIS_URL`: one URL, or with `cluster` the seed
/// nodes it lists (at least one). In cluster mode every node is checked to share
/// the first one's scheme, user name and password and to select database 0.
pub(crate) fn parse_redis_urls(text: &str, cluster: bool) -> Result<Vec<RedisUrl>, UrlProblem> {
    if !cluster {
        if reads_as_several(text) {
            let count = text.split(',').filter(|e| !e.trim().is_empty()).count();
            return Err(UrlProblem::NotCluster(count));
        }
        return parse_redis_url(text)
            .map(|url| vec![url])
            .map_err(UrlProblem::Single);
    }
    let elements: Vec<&str> = text.split(',').map(str::trim).collect();
    let count = elements.len();
    if let Some(index) = elements.iter().position(|e| split_user_info(e)) {
        return Err(UrlProblem::Seeds(format!(
            "node {} of {count} has a user name or password but no redis:// before it; \
             the nodes are separated by commas, so write a comma in a user name or password \
             as %2C",
            index + 1
        )));
    }
    let mut urls: Vec<RedisUrl> = Vec::with_capacity(count);
    for (index, element) in elements.iter().enumerate() {
        let node = |what: &str| {
            format!(
                "node {} of {count} (`{}`){what}",
                index + 1,
                mask_url(element)
            )
        };
        if element.is_empty() {
            return Err(UrlProblem::Seeds(format!(
                "node {} of {count} is empty",
                index + 1
            )));
        }
        let url = parse_redis_url(element)
            .map_err(|reason| UrlProblem::Seeds(node(&format!(": {reason}"))))?;
        if url.db != 0 {
            return Err(UrlProblem::Seeds(node(&format!(
                " selects database {}: Redis Cluster has only database 0",
                url.db
            ))));
        }
        if let Some(first) = urls.first() {
            let differs = if url.tls != first.tls {
                Some("the scheme (redis:// or rediss://)")
            } else if url.username != first.username {
                Some("the user name")
            } else if url.password != first.password {
                Some("the password")
            } else {
                None
            };
            if let Some(part) = differs {
                return Err(UrlProblem::Seeds(node(&format!(
                    " differs from node 1 in {part}: the nodes of a cluster share TLS and \
                     credentials"
                ))));
            }
        }
        urls.push(url);
    }
    Ok(urls)
}

/// `REDIS_URL` as an error about a list of nodes may show it: each node with its
/// password masked, or the whole value masked at once when a user info seems to
/// hold a comma (masking each piece would show the password's pieces).
pub(crate) fn mask_seeds(text: &str) -> String {
    if text.split(',').any(|e| split_user_info(e.trim())) {
        return mask_url(text);
    }
    text.split(',').map(mask_url).collect::<Vec<_>>().join(",")
}

/// Whether `element` has an `@` with no `://` before it: the tail of a user name
/// or password that held a comma. Quoting it would show part of the password.
fn split_user_info(element: &str) -> bool {
    element
        .find('@')
        .is_some_and(|at| !element[..at].contains("://"))
}

/// Whether a value lists several URLs: at least two elements
/// between commas start a URL (`://`), and none is the tail of a user info split
/// at a comma. Only punctuation decides, so the answer is the same whatever the
/// letters and digits of a password are (the error then does not hint at them).
fn reads_as_several(text: &str) -> bool {
    let elements: Vec<&str> = text.split(',').map(str::trim).collect();
    elements.iter().filter(|e| e.contains("://")).count() >= 2
        && !elements.iter().any(|e| split_user_info(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_url_without_cluster_is_parsed_as_before() {
        for text in [
            "redis://h",
            "redis://:pa,ss@h",
            "redis://u:1,2@h:7000/3",
            "redis://h1:7000,h2:7001",
        ] {
            assert_eq!(
                parse_redis_urls(text, false),
                parse_redis_url(text)
                    .map(|url| vec![url])
                    .map_err(UrlProblem::Single),
                "{text}"
            );
        }
    }

    #[test]
    fn several_urls_without_cluster() {
        for (text, count) in [
            ("redis://h1,redis://h2", 2),
            (" redis://h1:7000 , rediss://h2:7001 ", 2),
            ("redis://h1,redis://h2,,redis://h3", 3),
            ("redis://h/1,redis://h2", 2),
            // One URL by the last '@', but plainly a list.
            ("redis://:pw@h1,redis://:pw@h2", 2),
        ] {
            assert_eq!(
                parse_redis_urls(text, false),
                Err(UrlProblem::NotCluster(count)),
                "{text}"
            );
        }
        // Not one URL, and not a list of URLs: the parser's reason, as before.
        for text in [
            "redis://h1:7000,",
            "redis://h1:7000,h2:7001",
            "redis://u:1,2@h/99",
            "redis://:a@b,redis://:c@d,e@f/99",
        ] {
            assert!(
                matches!(parse_redis_urls(text, false), Err(UrlProblem::Single(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn a_split_user_info_is_not_quoted() {
        let Err(UrlProblem::Seeds(problem)) =
            parse_redis_urls("redis://:hun,ter2@h1,redis://:hun,ter2@h2", true)
        else {
            panic!("accepted");
        };
        assert!(
            problem.starts_with("node 2 of 4 has a user name"),
            "{problem}"
        );
        assert!(problem.contains("%2C"), "{problem}");
        assert!(
            !problem.contains("hun") && !problem.contains("ter2"),
            "{problem}"
        );
    }
}
