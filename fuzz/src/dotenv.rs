//! `.env` parsing (`config/dotenv.rs`, over dotenvy).
//!
//! Input: the first byte picks a mode.
//! - even: the rest is `.env` text (lossy UTF-8);
//! - odd: the rest drives a generator of `KEY=VALUE` lines (names, any values
//!   quoted as a user would quote them, `export`, spaces around `=`, comments,
//!   blank lines, CRLF endings), whose pairs must read back.
//!
//! Properties: parsing never panics; an error names a line and never quotes the
//! file (its text is one of the fixed problems); generated lines read back as
//! the pairs written, a later line winning over an earlier one.

use std::collections::HashMap;

use cachette_runtime::__fuzz::parse_env_text;

use super::input::Input;

/// The problems an error may state (after `line N: `).
const PROBLEMS: [&str; 3] = [
    "a quoted value is not closed",
    "not a valid KEY=value line (check the name, the '=', quotes and backslash escapes)",
    "a single-quoted value holds a backslash before a quote (\\'), which .env readers take two ways; write the value in double quotes with the backslash escaped (\"x\\\\\")",
];

fn check_error(error: &str) {
    let problem = match error.strip_prefix("line ") {
        Some(rest) => match rest.split_once(": ") {
            Some((number, problem)) if number.parse::<usize>().is_ok_and(|n| n > 0) => problem,
            _ => panic!("error {error:?} has no line number"),
        },
        None => error,
    };
    assert!(PROBLEMS.contains(&problem), "unexpected error {error:?}");
}

/// A variable name: `[A-Za-z_][A-Za-z0-9_.]*`.
fn name(input: &mut Input<'_>) -> String {
    const FIRST: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_";
    const REST: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789.";
    let mut out = String::new();
    out.push(char::from(FIRST[usize::from(input.byte()) % FIRST.len()]));
    for _ in 0..input.byte() % 6 {
        out.push(char::from(REST[usize::from(input.byte()) % REST.len()]));
    }
    out
}

/// `value` quoted: single quotes when it holds none (taken literally), double
/// quotes with `\`, `"` and `$` escaped otherwise. With `avoid_known_bug`, a value
/// holding a backslash is double-quoted too; without, a single-quoted value
/// ending in a backslash must be refused with a line number (dotenvy 0.15.7 would
/// read the lines after it into it: see `tests/fuzz_replay.rs`,
/// `dotenv_single_quoted_backslash`).
fn quoted(value: &str, avoid_known_bug: bool) -> String {
    let single = !value.contains('\'') && (!avoid_known_bug || !value.contains('\\'));
    if single {
        return format!("'{value}'");
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        if matches!(c, '\\' | '"' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn generated(input: &mut Input<'_>, avoid_known_bug: bool) {
    let mut text = String::new();
    let mut expected = HashMap::new();
    let mut refused = false;
    while !input.is_empty() {
        let style = input.byte();
        if style & 1 == 1 {
            text.push_str("# a comment = 'x\n");
        }
        if style & 2 == 2 {
            text.push('\n');
        }
        let key = name(input);
        let value = input.string();
        if style & 4 == 4 {
            text.push_str("export ");
        }
        text.push_str(&key);
        text.push_str(if style & 8 == 8 { " = " } else { "=" });
        let written = quoted(&value, avoid_known_bug);
        // A single-quoted value ending in a backslash reads `\'`: refused, by name.
        refused |= written.starts_with('\'') && value.ends_with('\\');
        text.push_str(&written);
        if style & 16 == 16 {
            text.push_str(" # trailing");
        }
        text.push_str(if style & 32 == 32 { "\r\n" } else { "\n" });
        expected.insert(key, value);
    }
    match parse_env_text(&text) {
        Ok(read) if !refused => assert_eq!(read, expected, "{text:?}"),
        Ok(read) => panic!("{text:?} was read as {read:?}, not refused"),
        Err(error) if refused => {
            assert!(error.contains("backslash before a quote"), "{error}");
            check_error(&error);
        }
        Err(error) => panic!("{text:?} is refused: {error}"),
    }
}

/// Checks the properties in the module doc on `data`.
pub fn check(data: &[u8]) {
    check_with(data, true);
}

/// [`check`], with single-quoted values holding backslashes generated too (a
/// known bug of dotenvy: see [`quoted`]).
pub fn check_single_quoted_backslashes(data: &[u8]) {
    check_with(data, false);
}

fn check_with(data: &[u8], avoid_known_bug: bool) {
    let mut input = Input::new(data);
    if input.byte() & 1 == 0 {
        let text = String::from_utf8_lossy(input.rest());
        if let Err(error) = parse_env_text(&text) {
            check_error(&error);
        }
    } else {
        generated(&mut input, avoid_known_bug);
    }
}
