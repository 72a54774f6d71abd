//! The `users-api` binary run as a child process.

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc;
use std::time::Duration;

/// Reads the child's standard output until a line contains `last` (or it ends);
/// returns everything read. Bounded: a binary that hangs fails the test.
pub(crate) fn read_until(child: &mut Child, last: &'static str) -> String {
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
