//! The start-up demonstration (`DEMO=true`, the default): once the service listens,
//! it sends itself `GET /users/me` twice as the admin and prints what the cache said
//! (MISS, then HIT) with the timings, then a few curl commands to try by hand.

use std::fmt;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use cachette::{Cache, Mode};

/// Everything the demonstration needs.
#[derive(Debug, Clone)]
pub struct Demo {
    /// Where the service answers, e.g. `http://127.0.0.1:8000`.
    pub base_url: String,
    /// The admin account's id.
    pub admin_id: i64,
    /// The admin account's email.
    pub admin_email: String,
    /// The admin password to show in the curl commands: `None` when it was set
    /// through `ADMIN_PASSWORD` (it is not printed then).
    pub shown_password: Option<String>,
    /// A bearer token for the admin.
    pub token: String,
    /// The service's cache.
    pub cache: Cache,
}

/// What one request answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// The HTTP status.
    pub status: u16,
    /// The `X-FastAPI-Cache` header (`CACHE_HEADER`), if any.
    pub cache: Option<String>,
    /// How long the request took, as the client saw it.
    pub elapsed: Duration,
}

/// Why the demonstration could not run.
#[derive(Debug)]
pub enum DemoError {
    /// A request to the service failed.
    Http(reqwest::Error),
    /// Writing the report failed.
    Io(io::Error),
}

impl fmt::Display for DemoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DemoError::Http(e) => write!(f, "request to the service failed: {e}"),
            DemoError::Io(e) => write!(f, "cannot write the report: {e}"),
        }
    }
}

impl std::error::Error for DemoError {}

impl From<reqwest::Error> for DemoError {
    fn from(e: reqwest::Error) -> Self {
        DemoError::Http(e)
    }
}

impl From<io::Error> for DemoError {
    fn from(e: io::Error) -> Self {
        DemoError::Io(e)
    }
}

/// The URL a client on this machine reaches a server listening on `addr` at: a
/// wildcard address (`0.0.0.0`, `::`) is reached through loopback.
pub fn local_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

impl Demo {
    /// Sends the two requests and writes the report to `out`; returns the two
    /// samples.
    ///
    /// The admin's entries are dropped first: with Redis, an entry from a previous
    /// run may still be there, and the first request is meant to be a miss.
    ///
    /// # Errors
    ///
    /// When a request fails or `out` cannot be written.
    pub async fn run(&self, out: &mut impl Write) -> Result<[Sample; 2], DemoError> {
        self.cache
            .scope(cachette::invalidate_user_cache(self.admin_id))
            .await;
        let client = reqwest::Client::builder().no_proxy().build()?;
        let first = self.get_me(&client).await?;
        let second = self.get_me(&client).await?;
        self.report(&first, &second, out)?;
        Ok([first, second])
    }

    async fn get_me(&self, client: &reqwest::Client) -> Result<Sample, DemoError> {
        let started = Instant::now();
        let response = client
            .get(format!("{}/users/me", self.base_url))
            .bearer_auth(&self.token)
            .send()
            .await?;
        let status = response.status().as_u16();
        let cache = response
            .headers()
            .get(self.cache.config().cache_header())
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        response.bytes().await?;
        Ok(Sample {
            status,
            cache,
            elapsed: started.elapsed(),
        })
    }

    fn report(&self, first: &Sample, second: &Sample, out: &mut impl Write) -> io::Result<()> {
        let header = self.cache.config().cache_header();
        let mode = match self.cache.mode() {
            Mode::Disabled => "disabled",
            Mode::Memory => "in memory",
            Mode::Redis if self.cache.config().redis().cluster() => "Redis Cluster",
            Mode::Redis => "Redis",
            other => other.as_str(),
        };
        writeln!(out)?;
        writeln!(
            out,
            "Caching at work: GET /users/me as {}, twice (cache: {mode})",
            self.admin_email
        )?;
        for (ordinal, sample) in [("1st", first), ("2nd", second)] {
            writeln!(
                out,
                "  {ordinal}: {}, {header}: {}, {:.2} ms",
                sample.status,
                sample.cache.as_deref().unwrap_or("(none)"),
                sample.elapsed.as_secs_f64() * 1000.0
            )?;
        }
        if self.cache.mode() == Mode::Disabled {
            writeln!(
                out,
                "  No {header} header: caching is off (CACHE_ENABLED=false)."
            )?;
        }
        let url = &self.base_url;
        let password = self.shown_password.as_deref().unwrap_or("<ADMIN_PASSWORD>");
        let auth = r#"-H "Authorization: Bearer $TOKEN""#;
        let json = "-H 'content-type: application/json'";
        writeln!(out)?;
        writeln!(out, "Try it (DEMO=false skips all this):")?;
        writeln!(out, "  TOKEN=$(curl -s {url}/login {json} \\")?;
        writeln!(
            out,
            r#"    -d '{{"email": "{}", "password": "{password}"}}' | sed -E 's/.*"token":"([^"]+)".*/\1/')"#,
            self.admin_email
        )?;
        writeln!(out, "  # A write drops the caller's entries ...")?;
        writeln!(
            out,
            r#"  curl -s -X PUT {url}/users/{} {auth} {json} -d '{{"first_name": "Admin"}}'"#,
            self.admin_id
        )?;
        writeln!(
            out,
            "  # ... so the next read is a MISS, and the one after a HIT:"
        )?;
        for _ in 0..2 {
            writeln!(out, "  curl -si {url}/users/me {auth} | grep -i {header}")?;
        }
        writeln!(out)?;
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_addresses_are_reached_through_loopback() {
        let url = |a: &str| local_url(a.parse().unwrap_or_else(|_| panic!("{a}")));
        assert_eq!(url("0.0.0.0:8000"), "http://127.0.0.1:8000");
        assert_eq!(url("[::]:8000"), "http://[::1]:8000");
        assert_eq!(url("192.0.2.1:80"), "http://192.0.2.1:80");
    }
}
