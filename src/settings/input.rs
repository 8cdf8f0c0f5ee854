//! Helpers shared by the parsers: the "required" and "optional" rules, and plain whole
//! numbers.

use super::Invalid;

/// The input without surrounding whitespace, or `invalid.required` when nothing is left.
pub(crate) fn required(input: &str) -> Result<&str, Invalid> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        Err(Invalid::new("invalid.required"))
    } else {
        Ok(trimmed)
    }
}

/// A value that may be left blank: `None` then, otherwise what `parse` makes of it.
pub fn optional<T>(
    input: &str,
    parse: impl FnOnce(&str) -> Result<T, Invalid>,
) -> Result<Option<T>, Invalid> {
    if input.trim().is_empty() {
        Ok(None)
    } else {
        parse(input).map(Some)
    }
}

/// A whole number written with ASCII digits only: no sign, no spaces, no separators.
pub(crate) fn whole_number(input: &str) -> Option<u64> {
    if input.is_empty() || !input.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    input.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_input_is_required() {
        assert_eq!(required(" \t\n").unwrap_err().key, "invalid.required");
        assert_eq!(required("  x ").unwrap(), "x");
    }

    #[test]
    fn whole_numbers_are_digits_only() {
        assert_eq!(whole_number("042"), Some(42));
        assert_eq!(whole_number("+1"), None);
        assert_eq!(whole_number("-1"), None);
        assert_eq!(whole_number("1.5"), None);
        assert_eq!(whole_number(""), None);
        assert_eq!(whole_number("99999999999999999999999"), None);
    }
}
