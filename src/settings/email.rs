//! E-mail addresses: one address, and the list of addresses notifications go to.

use std::fmt;
use std::str::FromStr;

use lettre::Address;

use super::Invalid;
use super::input::required;

/// One e-mail address such as `admin@example.com`, without a display name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(Address);

impl EmailAddress {
    /// Every refusal carries the address as typed in `detail`, so a message about a list
    /// can say which member is wrong.
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let text = required(input)?;
        let refuse = |key| Err(Invalid::with_detail(key, text));
        match text.matches('@').count() {
            0 => return refuse("invalid.email.missing_at"),
            1 => {}
            _ => return refuse("invalid.email.several_at"),
        }
        let unexpected = |c: char| c.is_whitespace() || c.is_control() || "<>,;".contains(c);
        let (local, domain) = text.split_once('@').unwrap_or_default();
        if local.is_empty() || domain.is_empty() || text.contains(unexpected) {
            return refuse("invalid.email.address");
        }
        match Address::from_str(text) {
            Ok(address) => Ok(Self(address)),
            Err(_) => refuse("invalid.email.address"),
        }
    }

    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }

    /// The address for building a message with lettre.
    pub fn address(&self) -> &Address {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The addresses notifications go to: typed separated by commas, semicolons, spaces or
/// line breaks; kept in the order typed, each once. It may be empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EmailList(Vec<EmailAddress>);

impl EmailList {
    /// Empty input gives an empty list. The first invalid member is reported, named in
    /// `detail`.
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let mut addresses: Vec<EmailAddress> = Vec::new();
        let separator = |c: char| c == ',' || c == ';' || c.is_whitespace();
        for member in input.split(separator).filter(|m| !m.is_empty()) {
            let address = EmailAddress::parse(member)?;
            let seen = addresses
                .iter()
                .any(|a| a.as_str().eq_ignore_ascii_case(address.as_str()));
            if !seen {
                addresses.push(address);
            }
        }
        Ok(Self(addresses))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn as_slice(&self) -> &[EmailAddress] {
        &self.0
    }

    pub fn iter(&self) -> std::slice::Iter<'_, EmailAddress> {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a EmailList {
    type Item = &'a EmailAddress;
    type IntoIter = std::slice::Iter<'a, EmailAddress>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// The addresses joined with ", ", as shown back in the form.
impl fmt::Display for EmailList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, address) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(address.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn refusal(input: &str) -> (&'static str, Option<String>) {
        let invalid = EmailAddress::parse(input).unwrap_err();
        (invalid.key, invalid.detail)
    }

    #[test]
    fn an_address_is_trimmed_and_kept_as_typed() {
        let address = EmailAddress::parse("  admin@example.com ").unwrap();
        assert_eq!(address.as_str(), "admin@example.com");
        assert_eq!(address.to_string(), "admin@example.com");
        assert_eq!(address.address().domain(), "example.com");
        assert!(EmailAddress::parse("root@localhost").is_ok());
        assert!(EmailAddress::parse("first.last+backups@sub.example.fr").is_ok());
    }

    #[test]
    fn malformed_addresses_are_refused_and_named() {
        assert_eq!(
            EmailAddress::parse(" ").unwrap_err().key,
            "invalid.required"
        );
        let missing = (
            "invalid.email.missing_at",
            Some("admin.example.com".to_owned()),
        );
        assert_eq!(refusal("admin.example.com"), missing);
        assert_eq!(refusal("a@b@example.com").0, "invalid.email.several_at");
        for input in [
            "@example.com",
            "admin@",
            "ad min@example.com",
            "Admin <admin@example.com>",
            "admin@exa_mple..com",
        ] {
            assert_eq!(refusal(input).0, "invalid.email.address", "{input}");
        }
    }

    #[test]
    fn a_list_accepts_any_common_separator_and_drops_duplicates() {
        let list = EmailList::parse(
            "a@example.com, b@example.com;c@example.com\nd@example.com  A@EXAMPLE.COM,,",
        )
        .unwrap();
        let addresses: Vec<&str> = list.iter().map(EmailAddress::as_str).collect();
        assert_eq!(
            addresses,
            [
                "a@example.com",
                "b@example.com",
                "c@example.com",
                "d@example.com"
            ]
        );
        assert_eq!(list.len(), 4);
        assert_eq!(
            list.to_string(),
            "a@example.com, b@example.com, c@example.com, d@example.com"
        );
    }

    #[test]
    fn an_empty_list_is_allowed() {
        for input in ["", "  ", " , ;\n"] {
            let list = EmailList::parse(input).unwrap();
            assert!(list.is_empty());
            assert_eq!(list.to_string(), "");
        }
    }

    #[test]
    fn a_list_names_its_invalid_member() {
        let invalid = EmailList::parse("a@example.com, oops, b@example.com").unwrap_err();
        assert_eq!(invalid.key, "invalid.email.missing_at");
        assert_eq!(invalid.detail.as_deref(), Some("oops"));
        assert!(invalid.message("en").contains("oops"));
        assert!(invalid.message("fr").contains("oops"));
    }

    proptest! {
        #[test]
        fn a_list_shown_back_parses_to_the_same_list(input in "([a-z]{1,5}@[a-z]{1,5}\\.(fr|com)[,; \n]{1,3}){0,5}") {
            let list = EmailList::parse(&input).unwrap();
            prop_assert_eq!(EmailList::parse(&list.to_string()).unwrap(), list);
        }

        #[test]
        fn accepted_addresses_have_one_at_and_no_separator(input in "\\PC{0,30}") {
            if let Ok(address) = EmailAddress::parse(&input) {
                prop_assert_eq!(address.as_str().matches('@').count(), 1);
                prop_assert!(!address.as_str().contains([',', ';', ' ']));
            }
        }
    }
}
