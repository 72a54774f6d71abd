//! The `users-api` binary as the README runs it: embedded defaults, a database it
//! creates, caching on without `CACHE_ENABLED`, the MISS-then-HIT demonstration, and
//! a clean stop on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::child::read_until;

/// A scratch directory (the binary's working directory: no `.env` there), removed
/// when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("users-api-bin-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts the binary in `dir` with only `vars` in its environment.
fn start(dir: &Scratch, vars: &[(&str, &str)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_users-api"))
        .current_dir(&dir.0)
        .env_clear()
        .envs(vars.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

fn terminate(child: &mut Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn the_readme_command_seeds_and_shows_a_miss_then_a_hit() {
    let dir = Scratch::new("default");
    let mut child = start(&dir, &[("PORT", "0")]);
    let output = read_until(&mut child, "2nd:");
    terminate(&mut child);
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status:?}: {stderr}");

    assert!(output.contains("cache: memory"), "{output}");
    assert!(output.contains("created 50 demo users"), "{output}");
    assert!(output.contains("with 500 API keys"), "{output}");
    let lines: Vec<&str> = output.lines().collect();
    let first = lines
        .iter()
        .position(|l| l.contains("1st:"))
        .expect(&output);
    assert!(lines[first].contains("X-FastAPI-Cache: MISS"), "{output}");
    assert!(
        lines[first + 1].contains("X-FastAPI-Cache: HIT"),
        "{output}"
    );
    assert!(
        dir.0.join("users-api.db").exists(),
        "the default database file was created"
    );
}

#[test]
fn cache_enabled_false_turns_caching_off() {
    let dir = Scratch::new("disabled");
    let mut child = start(
        &dir,
        &[
            ("PORT", "0"),
            ("SEED_DEMO", "false"),
            ("CACHE_ENABLED", "false"),
        ],
    );
    let output = read_until(&mut child, "2nd:");
    terminate(&mut child);
    assert!(child.wait().unwrap().success());
    assert!(output.contains("cache: disabled"), "{output}");
    assert!(
        output.contains("1st: 200, X-FastAPI-Cache: (none)"),
        "{output}"
    );
    assert!(!output.contains("created 50 demo users"), "{output}");
}

#[test]
fn an_invalid_setting_stops_the_start_with_its_name() {
    let dir = Scratch::new("invalid");
    for (name, value) in [("PORT", "eighty"), ("CACHE_DEFAULT_TTL", "abc")] {
        let output = Command::new(env!("CARGO_BIN_EXE_users-api"))
            .current_dir(&dir.0)
            .env_clear()
            .env(name, value)
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(name), "{stderr}");
        assert!(stderr.contains(value), "{stderr}");
    }
    assert!(!dir.0.join("users-api.db").exists(), "nothing was created");
}

/// `GET path` on `127.0.0.1:port` with a plain HTTP/1.0 request; the body.
fn http_get(port: u16, path: &str) -> String {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// The port in the "listening on http://127.0.0.1:PORT" line.
fn listening_port(output: &str) -> u16 {
    let start = output.find("http://127.0.0.1:").expect(output) + "http://127.0.0.1:".len();
    let digits: String = output[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().expect(output)
}

#[test]
fn metrics_show_the_demos_miss_and_hit() {
    let dir = Scratch::new("metrics");
    let mut child = start(&dir, &[("PORT", "0"), ("SEED_DEMO", "false")]);
    let output = read_until(&mut child, "2nd:");
    let metrics = http_get(listening_port(&output), "/metrics");
    terminate(&mut child);
    assert!(child.wait().unwrap().success());

    assert!(
        metrics.starts_with("HTTP/1.0 200") || metrics.starts_with("HTTP/1.1 200"),
        "{metrics}"
    );
    assert!(metrics.contains("text/plain; version=0.0.4"), "{metrics}");
    // The demo's two requests: one miss, one hit, of the function it called.
    let line = |result: &str| {
        metrics
            .lines()
            .find(|l| {
                l.starts_with("cachette_requests_total{")
                    && l.contains(&format!("result=\"{result}\""))
                    && !l.ends_with(" 0")
            })
            .map(str::to_owned)
    };
    let (miss, hit) = (line("miss"), line("hit"));
    assert!(
        miss.as_deref().is_some_and(|l| l.ends_with(" 1")),
        "{metrics}"
    );
    assert!(
        hit.as_deref().is_some_and(|l| l.ends_with(" 1")),
        "{metrics}"
    );
    assert!(miss.is_some_and(|l| l.contains("namespace=\"") && l.contains("function=\"")));
    assert!(metrics.contains("cachette_memory_bytes"), "{metrics}");
    assert!(metrics.contains("cachette_entries 1"), "{metrics}");
}

#[test]
fn metrics_enabled_false_serves_no_metrics() {
    let dir = Scratch::new("no-metrics");
    let mut child = start(
        &dir,
        &[
            ("PORT", "0"),
            ("SEED_DEMO", "false"),
            ("METRICS_ENABLED", "false"),
        ],
    );
    let output = read_until(&mut child, "2nd:");
    let metrics = http_get(listening_port(&output), "/metrics");
    terminate(&mut child);
    assert!(child.wait().unwrap().success());
    assert!(metrics.contains(" 404 "), "{metrics}");
}
