//! The SMTP account mail goes through, opened from its stored row (password decrypted),
//! and the delivery options (timeouts, retries, extra trusted certificates).

use std::fmt;
use std::time::Duration;

use lettre::message::Mailbox;

use super::problem::MailProblem;
use crate::crypto::{MasterKey, Slot};
use crate::db::email_account::StoredEmailAccount;
use crate::settings::SmtpSecurity;

/// Purpose the SMTP password is sealed with (see `MasterKey::seal`).
pub const PASSWORD_PURPOSE: &str = crate::crypto::purpose::SMTP_PASSWORD;

/// An SMTP account ready to send with.
#[derive(Clone)]
pub struct SmtpAccount {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// Empty: the server is used without authentication.
    pub username: String,
    pub password: Option<String>,
    pub sender: Mailbox,
}

// The password never reaches a log line.
impl fmt::Debug for SmtpAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpAccount")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("sender", &self.sender.to_string())
            .finish()
    }
}

impl SmtpAccount {
    /// Opens a stored account (or one parsed from the form and not yet saved), decrypting
    /// its password.
    pub fn from_stored(stored: &StoredEmailAccount, key: &MasterKey) -> Result<Self, MailProblem> {
        if !stored.is_configured() {
            return Err(MailProblem::NotConfigured);
        }
        let password = stored
            .smtp_password
            .as_deref()
            .map(|sealed| key.open(&Slot::single(PASSWORD_PURPOSE), sealed))
            .transpose()
            .map_err(|_| MailProblem::PasswordUnreadable)?;
        let sender = stored
            .sender
            .parse::<Mailbox>()
            .map_err(|_| MailProblem::InvalidSender {
                sender: stored.sender.clone(),
            })?;
        Ok(Self {
            host: stored.smtp_host.clone(),
            port: u16::try_from(stored.smtp_port).unwrap_or(587),
            security: SmtpSecurity::parse(&stored.smtp_security).unwrap_or(SmtpSecurity::StartTls),
            username: stored.smtp_username.clone(),
            password,
            sender,
        })
    }

    /// `host:port`, as shown in messages.
    pub fn server(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// How mail is delivered: time limits, retries and trusted certificates.
#[derive(Debug, Clone)]
pub struct MailOptions {
    /// Longest wait for one network step (connect, a reply).
    pub timeout: Duration,
    /// Waits before each retry of a notification that could not be sent; one attempt
    /// more than there are delays.
    pub retry_delays: Vec<Duration>,
    /// Certificates (PEM) trusted besides the public roots, e.g. a company's own CA.
    pub extra_root_certificates: Vec<Vec<u8>>,
}

impl Default for MailOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            retry_delays: vec![
                Duration::from_secs(60),
                Duration::from_secs(5 * 60),
                Duration::from_secs(30 * 60),
            ],
            extra_root_certificates: Vec::new(),
        }
    }
}
