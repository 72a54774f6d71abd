//! Reading a `.env` file into a map, without touching the process environment.
//!
//! Error messages give the line number but never the line itself: it may hold a password.

use std::collections::HashMap;
use std::io;
use std::path::Path;

use super::error::ConfigError;

/// The variables in the `.env` file at `path`; a later line wins over an earlier one for the
/// same name, as in python-dotenv. A UTF-8 byte order mark is skipped.
pub(crate) fn read_env_file(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let bytes = std::fs::read(path).map_err(|error| ConfigError::file(path, io_reason(&error)))?;
    let text = std::str::from_utf8(&bytes).map_err(|error| {
        let line = line_count(&bytes[..error.valid_up_to()]);
        ConfigError::file(path, format!("line {line}: not valid UTF-8"))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    parse_env_text(text).map_err(|problem| ConfigError::file(path, problem))
}

/// Parses `.env` text with dotenvy; the error says which line is wrong.
pub(crate) fn parse_env_text(text: &str) -> Result<HashMap<String, String>, String> {
    // dotenvy rejects a last line that ends in a space but not in a newline.
    let mut text = text.to_owned();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if let Some(line) = backslash_quote_in_single_quotes(&text) {
        return Err(format!(
            "line {line}: a single-quoted value holds a backslash before a quote (\\'), which .env readers take two ways; write the value in double quotes with the backslash escaped (\"x\\\\\")"
        ));
    }
    let mut vars = HashMap::new();
    for (parsed, item) in dotenvy::from_read_iter(text.as_bytes()).enumerate() {
        match item {
            Ok((key, value)) => {
                vars.insert(key, value);
            }
            Err(error) => return Err(describe(&text, parsed, &error)),
        }
    }
    Ok(vars)
}

/// The line of a single-quoted value holding `\'`, if any. dotenvy (0.15) joins
/// lines with one rule (a backslash escapes the next character, even in single
/// quotes: `'x\'` is still open) and reads values with another (single quotes are
/// literal: `'x\'` is `x\`), so such a value silently swallows the lines after it
/// (found by fuzzing: `A='x\'` then `B=1 # it's` set A to three lines and B to
/// nothing). This follows dotenvy's line-joining states and reports the first
/// place the two rules part.
fn backslash_quote_in_single_quotes(text: &str) -> Option<usize> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Complete,
        WhiteSpace,
        Escape,
        Weak,
        WeakEscape,
        Strong,
        StrongEscape,
        Comment,
    }
    let mut state = State::Complete;
    let mut line = 1;
    for physical in text.split_inclusive('\n') {
        // dotenvy skips a line starting with `#` between entries.
        if state == State::Complete && physical.trim_start().starts_with('#') {
            line += 1;
            continue;
        }
        for c in physical.chars() {
            state = match (state, c) {
                (State::Comment, _) => State::Comment,
                (State::WhiteSpace, '#') => State::Comment,
                (State::WhiteSpace | State::Complete, '\\') => State::Escape,
                (State::WhiteSpace | State::Complete, '"') => State::Weak,
                (State::WhiteSpace | State::Complete, '\'') => State::Strong,
                (State::Complete, c) if c.is_whitespace() && c != '\n' && c != '\r' => {
                    State::WhiteSpace
                }
                (State::WhiteSpace | State::Complete | State::Escape, _) => State::Complete,
                (State::Weak, '\\') => State::WeakEscape,
                (State::Weak, '"') => State::Complete,
                (State::Weak | State::WeakEscape, _) => State::Weak,
                (State::Strong, '\\') => State::StrongEscape,
                (State::Strong, '\'') => State::Complete,
                (State::Strong, _) => State::Strong,
                (State::StrongEscape, '\'') => return Some(line),
                (State::StrongEscape, _) => State::Strong,
            };
        }
        if state == State::Comment {
            state = State::Complete;
        }
        line += 1;
    }
    None
}

/// What is wrong, without quoting the file: dotenvy's error holds the line's text.
fn describe(text: &str, parsed: usize, error: &dotenvy::Error) -> String {
    let dotenvy::Error::LineParse(content, _) = error else {
        return format!("{error}");
    };
    let problem = if content.ends_with('\n') {
        "a quoted value is not closed"
    } else {
        "not a valid KEY=value line (check the name, the '=', quotes and backslash escapes)"
    };
    match failing_line(text, parsed) {
        Some(line) => format!("line {line}: {problem}"),
        None => problem.to_owned(),
    }
}

/// The line on which the entry that follows `parsed` good entries starts.
///
/// dotenvy does not report line numbers, and an entry may span lines (quoted values), so
/// this parses growing prefixes of the file: the first prefix whose parse fails after
/// exactly `parsed` good entries ends on the failing entry's first line. (A prefix that
/// cuts an earlier multi-line entry fails after fewer entries.)
fn failing_line(text: &str, parsed: usize) -> Option<usize> {
    let mut end = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        end += line.len();
        let first_error =
            dotenvy::from_read_iter(&text.as_bytes()[..end]).position(|item| item.is_err());
        if first_error == Some(parsed) {
            return Some(index + 1);
        }
    }
    None
}

/// The 1-based line number at the end of `bytes`.
fn line_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count() + 1
}

fn io_reason(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => "no such file".to_owned(),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        let mut pairs: Vec<_> = parse_env_text(text).unwrap().into_iter().collect();
        pairs.sort();
        pairs
    }

    fn pair(key: &str, value: &str) -> (String, String) {
        (key.to_owned(), value.to_owned())
    }

    #[test]
    fn parses_the_usual_forms() {
        // The last line ends in a space and no newline, which dotenvy alone rejects.
        let text = "# comment\n\nA=1\nexport B = \"two words\"\nC='x#y' # trailing\nD=\nE=last ";
        assert_eq!(
            pairs(text),
            [
                pair("A", "1"),
                pair("B", "two words"),
                pair("C", "x#y"),
                pair("D", ""),
                pair("E", "last")
            ]
        );
    }

    #[test]
    fn later_lines_win() {
        assert_eq!(pairs("A=1\nA=2\n"), [pair("A", "2")]);
    }

    #[test]
    fn multi_line_values_and_crlf() {
        assert_eq!(
            pairs("A=\"x\ny\"\r\nB=2\r\n"),
            [pair("A", "x\ny"), pair("B", "2")]
        );
    }

    #[test]
    fn errors_name_the_line_but_not_its_content() {
        let cases = [
            (
                "A=1\nB=2\nnot a line hunter2\n",
                "line 3: not a valid KEY=value line",
            ),
            (
                "A=1\n# c\n\n1BAD=hunter2\n",
                "line 4: not a valid KEY=value line",
            ),
            (
                "A=\"x\ny\"\nB=hunter2 x\n",
                "line 3: not a valid KEY=value line",
            ),
            (
                "A=1\nB=\"hunter2\nC=3\n",
                "line 2: a quoted value is not closed",
            ),
            ("A='hunter2", "line 1: a quoted value is not closed"),
            ("A=1\nB=hunter2\\q\n", "line 2: not a valid KEY=value line"),
            ("NOEQUALS\n", "line 1: not a valid KEY=value line"),
        ];
        for (text, expected) in cases {
            let error = parse_env_text(text).unwrap_err();
            assert!(error.starts_with(expected), "{text:?}: {error}");
            assert!(!error.contains("hunter2"), "{text:?}: {error}");
        }
    }

    #[test]
    fn line_counts() {
        assert_eq!(line_count(b""), 1);
        assert_eq!(line_count(b"a\nb\n"), 3);
    }
}
