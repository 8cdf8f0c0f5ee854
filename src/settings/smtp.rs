//! The e-mail account notifications are sent through: SMTP server, port, security and
//! the sender shown in the From header.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use lettre::message::Mailbox;

use super::input::{required, whole_number};
use super::{EmailAddress, Invalid};

/// The SMTP server: a host name or an IP address, without scheme or port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SmtpHost(String);

impl SmtpHost {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let host = required(input)?;
        if host.contains("://") {
            return Err(Invalid::new("invalid.smtp_host.scheme"));
        }
        if host.chars().any(char::is_whitespace) {
            return Err(Invalid::new("invalid.smtp_host.whitespace"));
        }
        let bracketed = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        if let Ok(ip) = bracketed.unwrap_or(host).parse::<Ipv6Addr>() {
            return Ok(Self(ip.to_string()));
        }
        if host.contains(':') {
            return Err(Invalid::new("invalid.smtp_host.port"));
        }
        let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        let labels: Vec<&str> = name.split('.').collect();
        let numeric = labels
            .iter()
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()));
        let valid = if numeric {
            name.parse::<Ipv4Addr>().is_ok()
        } else {
            name.len() <= 253 && labels.iter().all(|label| is_host_label(label))
        };
        if !valid {
            return Err(Invalid::with_detail("invalid.smtp_host.format", host));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 1 to 63 letters, digits and hyphens, not starting or ending with a hyphen.
fn is_host_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

impl fmt::Display for SmtpHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A TCP port, 1 to 65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SmtpPort(u16);

impl SmtpPort {
    pub fn new(port: u16) -> Option<Self> {
        (port != 0).then_some(Self(port))
    }

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let text = required(input)?;
        whole_number(text)
            .and_then(|port| u16::try_from(port).ok())
            .and_then(Self::new)
            .ok_or_else(|| Invalid::new("invalid.smtp_port"))
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for SmtpPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SmtpSecurity {
    /// Plain text, for a relay on the same machine or network.
    None,
    /// Plain connection upgraded with STARTTLS, usually on port 587.
    StartTls,
    /// TLS from the first byte ("SMTPS"), usually on port 465.
    Tls,
}

impl SmtpSecurity {
    pub const ALL: [SmtpSecurity; 3] = [Self::None, Self::StartTls, Self::Tls];

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let text = required(input)?;
        Self::ALL
            .into_iter()
            .find(|security| security.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| Invalid::new("invalid.smtp_security"))
    }

    /// The form value: `none`, `starttls` or `tls`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::StartTls => "starttls",
            Self::Tls => "tls",
        }
    }

    /// The port servers usually listen on for this kind of connection.
    pub fn default_port(self) -> SmtpPort {
        SmtpPort(match self {
            Self::None => 25,
            Self::StartTls => 587,
            Self::Tls => 465,
        })
    }
}

impl fmt::Display for SmtpSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The From of notification e-mails: `backups@example.com` or
/// `Backups <backups@example.com>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender(Mailbox);

impl Sender {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let text = required(input)?;
        let format = || Invalid::new("invalid.sender.format");
        let (name, address) = match text.split_once('<') {
            None => (None, text),
            Some((name, rest)) => {
                let address = rest.strip_suffix('>').ok_or_else(format)?;
                let name = name.trim();
                let name = name
                    .strip_prefix('"')
                    .and_then(|n| n.strip_suffix('"'))
                    .unwrap_or(name)
                    .trim();
                (Some(name).filter(|n| !n.is_empty()), address)
            }
        };
        let bad_name = |n: &str| n.chars().any(|c| c.is_control() || "<>\"".contains(c));
        if name.is_some_and(bad_name) || address.contains(['<', '>', ',', ';']) {
            return Err(format());
        }
        let address = EmailAddress::parse(address)?;
        Ok(Self(Mailbox::new(
            name.map(str::to_owned),
            address.address().clone(),
        )))
    }

    pub fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    pub fn as_mailbox(&self) -> &Mailbox {
        &self.0
    }
}

/// `Name <address>` (the name quoted when needed), or the address alone.
impl fmt::Display for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn hosts_are_names_or_ip_addresses() {
        assert_eq!(
            SmtpHost::parse(" SMTP.Example.com ").unwrap().as_str(),
            "smtp.example.com"
        );
        assert_eq!(SmtpHost::parse("mail.").unwrap().as_str(), "mail");
        assert_eq!(
            SmtpHost::parse("localhost").unwrap().to_string(),
            "localhost"
        );
        assert_eq!(
            SmtpHost::parse("192.0.2.25").unwrap().as_str(),
            "192.0.2.25"
        );
        assert_eq!(
            SmtpHost::parse("[2001:db8::25]").unwrap().as_str(),
            "2001:db8::25"
        );
        assert_eq!(
            SmtpHost::parse("2001:db8::25").unwrap().as_str(),
            "2001:db8::25"
        );
    }

    #[test]
    fn hosts_with_scheme_port_or_odd_characters_are_refused() {
        let key = |input: &str| SmtpHost::parse(input).unwrap_err().key;
        assert_eq!(key(""), "invalid.required");
        assert_eq!(key("smtp://smtp.example.com"), "invalid.smtp_host.scheme");
        assert_eq!(key("smtp.example.com:587"), "invalid.smtp_host.port");
        assert_eq!(key("smtp example.com"), "invalid.smtp_host.whitespace");
        for input in [
            "smtp_example.com",
            "-smtp.example.com",
            "smtp..example.com",
            "192.0.2.999",
            "a/b",
        ] {
            let invalid = SmtpHost::parse(input).unwrap_err();
            assert_eq!(invalid.key, "invalid.smtp_host.format", "{input}");
            assert_eq!(invalid.detail.as_deref(), Some(input));
        }
    }

    #[test]
    fn ports_go_from_1_to_65535() {
        assert_eq!(SmtpPort::parse(" 587 ").unwrap().get(), 587);
        assert_eq!(SmtpPort::parse("65535").unwrap().to_string(), "65535");
        for input in ["0", "65536", "-25", "smtp", "5 87"] {
            assert_eq!(
                SmtpPort::parse(input).unwrap_err().key,
                "invalid.smtp_port",
                "{input}"
            );
        }
        assert_eq!(SmtpPort::new(0), None);
    }

    #[test]
    fn security_has_a_usual_port() {
        assert_eq!(
            SmtpSecurity::parse("starttls").unwrap(),
            SmtpSecurity::StartTls
        );
        assert_eq!(SmtpSecurity::parse(" TLS ").unwrap(), SmtpSecurity::Tls);
        assert_eq!(
            SmtpSecurity::parse("ssl").unwrap_err().key,
            "invalid.smtp_security"
        );
        let ports: Vec<u16> = SmtpSecurity::ALL
            .iter()
            .map(|s| s.default_port().get())
            .collect();
        assert_eq!(ports, [25, 587, 465]);
        for security in SmtpSecurity::ALL {
            assert_eq!(
                SmtpSecurity::parse(&security.to_string()).unwrap(),
                security
            );
        }
    }

    #[test]
    fn a_sender_is_an_address_with_an_optional_name() {
        let plain = Sender::parse(" backups@example.com ").unwrap();
        assert_eq!(plain.name(), None);
        assert_eq!(plain.to_string(), "backups@example.com");
        let named = Sender::parse("Sauvegardes ERP <backups@example.com>").unwrap();
        assert_eq!(named.name(), Some("Sauvegardes ERP"));
        assert_eq!(named.as_mailbox().email.to_string(), "backups@example.com");
        assert_eq!(named.to_string(), "Sauvegardes ERP <backups@example.com>");
        let quoted = Sender::parse("\"Backups, Inc.\" <backups@example.com>").unwrap();
        assert_eq!(quoted.name(), Some("Backups, Inc."));
        assert_eq!(Sender::parse(&quoted.to_string()).unwrap(), quoted);
        assert_eq!(Sender::parse("<backups@example.com>").unwrap().name(), None);
    }

    #[test]
    fn malformed_senders_are_refused() {
        let key = |input: &str| Sender::parse(input).unwrap_err().key;
        assert_eq!(key(""), "invalid.required");
        assert_eq!(key("Backups <backups@example.com"), "invalid.sender.format");
        assert_eq!(
            key("Backups <backups@example.com> extra"),
            "invalid.sender.format"
        );
        assert_eq!(
            key("Back<ups <backups@example.com>"),
            "invalid.sender.format"
        );
        assert_eq!(
            key("Backups <backups.example.com>"),
            "invalid.email.missing_at"
        );
        assert_eq!(key("a@example.com, b@example.com"), "invalid.sender.format");
    }

    proptest! {
        #[test]
        fn a_sender_shown_back_parses_to_itself(name in "[A-Za-z][A-Za-z ,.'-]{0,20}", user in "[a-z]{1,8}") {
            let sender = Sender::parse(&format!("{name} <{user}@example.com>")).unwrap();
            prop_assert_eq!(Sender::parse(&sender.to_string()).unwrap(), sender);
        }
    }
}
