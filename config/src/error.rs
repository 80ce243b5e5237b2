//! The single error type of the crate: a one-line message naming the
//! offending value, which the binary prints before exiting with status 2.

use std::fmt;

/// Why the command line or the configuration file was refused.
///
/// The message is always one line and names the value at fault (a flag and
/// its value, a file with the key, or a file with line and column), so an
/// operator can fix it without reading the source. The binary prints it and
/// exits with [`ConfigError::EXIT_CODE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    message: String,
}

impl ConfigError {
    /// Exit status for any configuration error (the usual "usage error" code).
    pub const EXIT_CODE: i32 = 2;

    /// Longest message: the places that quote a value clip it to
    /// [`model::MAX_QUOTED_CHARS`]; this bounds whatever slips past them.
    pub const MAX_CHARS: usize = 1000;

    /// Builds an error; line breaks are folded so the message stays on one
    /// line, any single word longer than [`model::MAX_QUOTED_CHARS`] is cut,
    /// and the whole is cut at [`ConfigError::MAX_CHARS`].
    pub(crate) fn new(message: impl Into<String>) -> Self {
        let message: String = message.into();
        let one_line = message
            .split(['\n', '\r'])
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let words: Vec<_> = one_line.split(' ').map(model::clip).collect();
        let message = words.join(" ");
        let message = match message.char_indices().nth(Self::MAX_CHARS) {
            Some((end, _)) => format!("{}…", &message[..end]),
            None => message,
        };
        ConfigError { message }
    }

    /// The one-line message, without any "error:" prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The process exit status the caller should use (always 2).
    pub fn exit_code(&self) -> i32 {
        Self::EXIT_CODE
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_input_becomes_one_line() {
        let e = ConfigError::new("first\n  second\r\n\nthird");
        assert_eq!(e.to_string(), "first second third");
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn long_values_are_cut() {
        let e = ConfigError::new(format!("--x {}: bad", "y".repeat(100_000)));
        assert!(e.to_string().ends_with("… bad"), "{e}");
        assert!(e.to_string().chars().count() < 220);
        let e = ConfigError::new("word ".repeat(100_000));
        assert_eq!(e.to_string().chars().count(), ConfigError::MAX_CHARS + 1);
    }
}
