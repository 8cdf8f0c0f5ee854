//! The SMTP account: server host, port, connection security and sender mailbox.

use std::fmt;

use lettre::message::Mailbox;

use super::Invalid;
use super::input::{required, whole_number};

/// A host name or IP address, without scheme or port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpHost(String);

impl SmtpHost {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let host = required(input)?;
        if host.contains("://") {
            return Err(Invalid::new("invalid.smtp_host_scheme"));
        }
        if host.contains(':') && host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(Invalid::new("invalid.smtp_host_port"));
        }
        let valid_label = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if host.parse::<std::net::IpAddr>().is_err()
            && (host.len() > 253 || !host.split('.').all(valid_label))
        {
            return Err(Invalid::new("invalid.smtp_host"));
        }
        Ok(Self(host.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmtpPort(u16);

impl SmtpPort {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        whole_number(required(input)?)
            .and_then(|n| u16::try_from(n).ok())
            .filter(|&n| n > 0)
            .map(Self)
            .ok_or_else(|| Invalid::new("invalid.smtp_port"))
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    None,
    StartTls,
    Tls,
}

impl SmtpSecurity {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        match input.trim() {
            "none" => Ok(Self::None),
            "starttls" => Ok(Self::StartTls),
            "tls" => Ok(Self::Tls),
            _ => Err(Invalid::new("invalid.smtp_security")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::StartTls => "starttls",
            Self::Tls => "tls",
        }
    }

    /// The port servers usually listen on for this security.
    pub fn default_port(self) -> u16 {
        match self {
            Self::None => 25,
            Self::StartTls => 587,
            Self::Tls => 465,
        }
    }
}

/// The From mailbox: `address` or `Name <address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender(Mailbox);

impl Sender {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let text = required(input)?;
        let mailbox: Mailbox = text.parse().map_err(|_| Invalid::new("invalid.sender"))?;
        if !mailbox.email.domain().contains('.') && mailbox.email.domain() != "localhost" {
            return Err(Invalid::new("invalid.sender"));
        }
        Ok(Self(mailbox))
    }

    pub fn as_mailbox(&self) -> &Mailbox {
        &self.0
    }
}

impl fmt::Display for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hosts_are_names_or_addresses() {
        assert_eq!(
            SmtpHost::parse(" SMTP.Example.com ").map(|h| h.0),
            Ok("smtp.example.com".into())
        );
        assert!(SmtpHost::parse("127.0.0.1").is_ok());
        assert!(SmtpHost::parse("::1").is_ok());
        assert_eq!(
            SmtpHost::parse("smtp://x").unwrap_err().key,
            "invalid.smtp_host_scheme"
        );
        assert_eq!(
            SmtpHost::parse("x.com:587").unwrap_err().key,
            "invalid.smtp_host_port"
        );
        assert_eq!(SmtpHost::parse("a b").unwrap_err().key, "invalid.smtp_host");
        assert_eq!(SmtpHost::parse("").unwrap_err().key, "invalid.required");
    }

    #[test]
    fn ports_and_security() {
        assert_eq!(SmtpPort::parse("587").map(SmtpPort::get), Ok(587));
        assert!(SmtpPort::parse("0").is_err());
        assert!(SmtpPort::parse("65536").is_err());
        assert_eq!(
            SmtpSecurity::parse("tls").map(SmtpSecurity::default_port),
            Ok(465)
        );
        assert!(SmtpSecurity::parse("ssl").is_err());
    }

    #[test]
    fn senders_are_mailboxes() {
        let s = Sender::parse("Backups <backups@example.com>").expect("mailbox");
        assert_eq!(s.as_mailbox().email.to_string(), "backups@example.com");
        assert!(Sender::parse("backups@example.com").is_ok());
        assert!(Sender::parse("not a mailbox").is_err());
        assert!(Sender::parse("a@b").is_err());
    }

    proptest! {
        #[test]
        fn every_valid_port_parses(n in 1u16..=u16::MAX) {
            prop_assert_eq!(SmtpPort::parse(&n.to_string()).map(SmtpPort::get), Ok(n));
        }
    }
}
