//! One error type for the whole tool.
//!
//! Every error carries the exit code family it belongs to, a message that says what went wrong
//! (and where: a file and line, or a CSV row and column), and an optional hint that says what to
//! do next. Messages never carry record values, only IDs, paths and field names, so that
//! protected health information cannot leak through stderr or logs.

use std::fmt;
use std::path::Path;

/// Exit codes, documented in the README.
pub mod exit {
    pub const OK: u8 = 0;
    /// A search or lookup found nothing.
    pub const NOT_FOUND: u8 = 1;
    /// The user's input or a record file was wrong; nothing was changed.
    pub const USER: u8 = 2;
    /// The records tree is busy (lock held) or a write conflicted; nothing was changed.
    pub const CONFLICT: u8 = 3;
    /// Something failed that is not the user's fault (I/O, git, a bug).
    pub const INTERNAL: u8 = 4;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bad flags, bad values, bad record files: exit 2.
    User,
    /// Nothing matched: exit 1.
    NotFound,
    /// A booking or write conflicted with another: exit 3.
    Conflict,
    /// I/O or other failures: exit 4.
    Internal,
}

#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    pub hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn user(message: impl Into<String>) -> Self {
        Error {
            kind: Kind::User,
            message: message.into(),
            hint: None,
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Error {
            kind: Kind::NotFound,
            message: message.into(),
            hint: None,
        }
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Error {
            kind: Kind::Conflict,
            message: message.into(),
            hint: None,
        }
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Error {
            kind: Kind::Internal,
            message: message.into(),
            hint: None,
        }
    }
    /// Adds the "what to do next" line.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// Prefixes the message with where the problem is, e.g. `records/patients/7K/P7K3QX9M.toml:12`.
    pub fn at(mut self, place: impl fmt::Display) -> Self {
        self.message = format!("{place}: {}", self.message);
        self
    }
    pub fn io(path: &Path, action: &str, err: std::io::Error) -> Self {
        let kind = if err.kind() == std::io::ErrorKind::NotFound {
            Kind::NotFound
        } else {
            Kind::Internal
        };
        Error {
            kind,
            message: format!("{}: cannot {action}: {}", path.display(), io_reason(&err)),
            hint: None,
        }
    }
    pub fn exit_code(&self) -> u8 {
        match self.kind {
            Kind::User => exit::USER,
            Kind::NotFound => exit::NOT_FOUND,
            Kind::Conflict => exit::CONFLICT,
            Kind::Internal => exit::INTERNAL,
        }
    }
}

/// The OS reason without Rust's "(os error N)" suffix, which means nothing to a clerk.
fn io_reason(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Attaches a path to I/O errors: `fs::read(p).at_path(p, "read")?`.
pub trait IoContext<T> {
    fn at_path(self, path: &Path, action: &str) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at_path(self, path: &Path, action: &str) -> Result<T> {
        self.map_err(|e| Error::io(path, action, e))
    }
}

/// Removes anything quoted from a parser's message, because serde and toml quote the offending
/// value, and a value in a patient file is protected health information.
pub fn scrub_quoted(message: &str) -> String {
    // What the parser *expected* comes from our own schema, not the file, so it may stay.
    let first_line = message.lines().next().unwrap_or("");
    let (found, expected) = match first_line.find("expected") {
        Some(i) => first_line.split_at(i),
        None => (first_line, ""),
    };
    let mut out = scrub(found);
    out.push_str(expected);
    out.trim().to_string()
}

fn scrub(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quote: Option<char> = None;
    for c in message.chars() {
        match quote {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None if c == '"' || c == '`' => {
                out.push(c);
                quote = Some(c);
            }
            None => out.push(c),
        }
    }
    if quote.is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_quoted_values() {
        let m = "invalid type: string \"Jane Doe\", expected a date";
        assert_eq!(
            scrub_quoted(m),
            "invalid type: string \"…\", expected a date"
        );
        assert_eq!(
            scrub_quoted("unknown variant `Female`, expected one of `F`"),
            "unknown variant `…`, expected one of `F`"
        );
        assert_eq!(scrub_quoted("unterminated \"Doe"), "unterminated \"…");
    }

    #[test]
    fn scrub_keeps_first_line_only() {
        assert_eq!(scrub_quoted("bad value\n  | name = Doe\n"), "bad value");
    }
}
