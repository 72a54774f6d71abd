//! The `users-api` binary as the README runs it: embedded defaults, a database it
//! creates, caching on without `CACHE_ENABLED`, the MISS-then-HIT demonstration, and
//! a clean stop on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

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

/// Reads the child's standard output until a line contains `last` (or it ends);
/// returns everything read. Bounded: a binary that hangs fails the test.
fn read_until(child: &mut Child, last: &'static str) -> String {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            text.push_str(&line);
            text.push('\n');
            if line.contains(last) {
                break;
            }
        }
        let _ = tx.send(text);
        // Keep draining, so the child never writes into a closed pipe.
        lines.for_each(drop);
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the binary printed its report within 60 s")
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
