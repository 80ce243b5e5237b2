//! Quoting user input in error messages, bounded: an operator's typo is
//! shown in full, a megabyte pasted by mistake (or by a hostile caller) is
//! not echoed back.

use std::borrow::Cow;

/// Most characters of one value an error message quotes; longer values are
/// cut and end with `…`.
pub const MAX_QUOTED_CHARS: usize = 200;

/// `text`, cut to [`MAX_QUOTED_CHARS`] characters plus `…` if longer.
pub fn clip(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(MAX_QUOTED_CHARS) {
        None => Cow::Borrowed(text),
        Some((end, _)) => Cow::Owned(format!("{}…", &text[..end])),
    }
}

/// `'text'`, clipped like [`clip`]: how parsers quote a refused value.
pub fn quoted(text: &str) -> String {
    format!("'{}'", clip(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_quoted_whole() {
        assert_eq!(quoted("u32be@x"), "'u32be@x'");
        assert_eq!(clip(&"é".repeat(MAX_QUOTED_CHARS)).chars().count(), 200);
    }

    #[test]
    fn long_values_are_cut_on_a_character_boundary() {
        let long = "é".repeat(10_000);
        let q = quoted(&long);
        assert_eq!(q.chars().count(), MAX_QUOTED_CHARS + 3);
        assert!(q.ends_with("…'"), "{q}");
    }
}
