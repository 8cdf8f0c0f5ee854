//! Helpers shared by the parsers, such as the "required" rule.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_input_is_required() {
        assert_eq!(required(" \t\n").unwrap_err().key, "invalid.required");
        assert_eq!(required("  x ").unwrap(), "x");
    }
}
