//! Why a mail could not be sent, precisely enough for the admin to fix it: each problem
//! has a message in the catalogs (`locales/notify.yml`) and the detail the server gave.

use std::fmt;

use crate::lang::{Lang, Message};

/// A step of an SMTP delivery, named in timeout messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Resolve,
    Connect,
    StartTls,
    Authenticate,
    Send,
}

impl Step {
    /// The step's name in the catalogs.
    pub fn key(self) -> &'static str {
        match self {
            Self::Resolve => "notify.step.resolve",
            Self::Connect => "notify.step.connect",
            Self::StartTls => "notify.step.starttls",
            Self::Authenticate => "notify.step.authenticate",
            Self::Send => "notify.step.send",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailProblem {
    /// No SMTP host or sender is set.
    NotConfigured,
    /// No address to send to.
    NoRecipients,
    /// The stored password does not decrypt with this master key.
    PasswordUnreadable,
    /// The sender stored is not an address a mail can be sent from.
    InvalidSender {
        sender: String,
    },
    /// The host name does not resolve.
    Dns {
        host: String,
        detail: String,
    },
    ConnectionRefused {
        server: String,
    },
    /// No route to the host, or another network failure while connecting.
    Unreachable {
        server: String,
        detail: String,
    },
    Timeout {
        server: String,
        step: Step,
    },
    /// The TLS handshake failed: wrong security mode for the port, or a certificate that
    /// is not trusted or not for this host.
    Tls {
        server: String,
        detail: String,
    },
    /// "STARTTLS" was chosen but the server does not offer it.
    StartTlsUnsupported {
        server: String,
    },
    /// A user name is set but the server offers no authentication we can use.
    AuthUnsupported {
        server: String,
    },
    AuthFailed {
        detail: String,
    },
    SenderRefused {
        sender: String,
        detail: String,
    },
    RecipientRefused {
        recipient: String,
        detail: String,
    },
    MessageRefused {
        detail: String,
    },
    /// The server answered something unexpected.
    Protocol {
        detail: String,
    },
}

impl MailProblem {
    /// The key of the message in the translation catalogs.
    pub fn key(&self) -> &'static str {
        match self {
            Self::NotConfigured => "notify.problem.not_configured",
            Self::NoRecipients => "notify.problem.no_recipients",
            Self::PasswordUnreadable => "notify.problem.password_unreadable",
            Self::InvalidSender { .. } => "notify.problem.invalid_sender",
            Self::Dns { .. } => "notify.problem.dns",
            Self::ConnectionRefused { .. } => "notify.problem.connection_refused",
            Self::Unreachable { .. } => "notify.problem.unreachable",
            Self::Timeout { .. } => "notify.problem.timeout",
            Self::Tls { .. } => "notify.problem.tls",
            Self::StartTlsUnsupported { .. } => "notify.problem.starttls_unsupported",
            Self::AuthUnsupported { .. } => "notify.problem.auth_unsupported",
            Self::AuthFailed { .. } => "notify.problem.auth_failed",
            Self::SenderRefused { .. } => "notify.problem.sender_refused",
            Self::RecipientRefused { .. } => "notify.problem.recipient_refused",
            Self::MessageRefused { .. } => "notify.problem.message_refused",
            Self::Protocol { .. } => "notify.problem.protocol",
        }
    }

    /// What fills the message's `%{detail}`: the server, address or server reply at fault.
    pub fn detail(&self) -> String {
        match self {
            Self::NotConfigured | Self::NoRecipients | Self::PasswordUnreadable => String::new(),
            Self::InvalidSender { sender } => sender.clone(),
            Self::Dns { host, detail } => format!("{host}: {detail}"),
            Self::ConnectionRefused { server }
            | Self::StartTlsUnsupported { server }
            | Self::AuthUnsupported { server } => server.clone(),
            Self::Unreachable { server, detail } | Self::Tls { server, detail } => {
                format!("{server}: {detail}")
            }
            Self::Timeout { server, step } => format!("{server}, {}", Lang::EN.t(step.key())),
            Self::AuthFailed { detail }
            | Self::MessageRefused { detail }
            | Self::Protocol { detail } => detail.clone(),
            Self::SenderRefused { sender, detail } => format!("{sender}: {detail}"),
            Self::RecipientRefused { recipient, detail } => format!("{recipient}: {detail}"),
        }
    }

    /// The sentence to show or store: the server and addresses as parameters, the server's
    /// own words (a reply, a resolver or TLS error) quoted as the detail.
    pub fn to_message(&self) -> Message {
        let message = Message::new(self.key());
        match self {
            Self::NotConfigured | Self::NoRecipients | Self::PasswordUnreadable => message,
            Self::InvalidSender { sender } => message.with("sender", sender),
            Self::Dns { host, detail } => message.with("host", host).detail(detail.clone()),
            Self::ConnectionRefused { server }
            | Self::StartTlsUnsupported { server }
            | Self::AuthUnsupported { server } => message.with("server", server),
            Self::Unreachable { server, detail } | Self::Tls { server, detail } => {
                message.with("server", server).detail(detail.clone())
            }
            Self::Timeout { server, step } => message
                .with("server", server)
                .with_labels("step", [step.key().to_owned()]),
            Self::AuthFailed { detail }
            | Self::MessageRefused { detail }
            | Self::Protocol { detail } => message.detail(detail.clone()),
            Self::SenderRefused { sender, detail } => {
                message.with("sender", sender).detail(detail.clone())
            }
            Self::RecipientRefused { recipient, detail } => {
                message.with("recipient", recipient).detail(detail.clone())
            }
        }
    }

    /// The message in `locale` ("en" or "fr").
    pub fn message(&self, locale: &str) -> String {
        self.to_message().render(Lang::from_code_or_default(locale))
    }

    /// Whether trying again later may succeed (the server or network may come back);
    /// a wrong setting fails the same way every time.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Dns { .. }
                | Self::ConnectionRefused { .. }
                | Self::Unreachable { .. }
                | Self::Timeout { .. }
                | Self::Protocol { .. }
        ) || self.reply_is_transient()
    }

    fn reply_is_transient(&self) -> bool {
        match self {
            Self::AuthFailed { detail }
            | Self::SenderRefused { detail, .. }
            | Self::RecipientRefused { detail, .. }
            | Self::MessageRefused { detail } => detail.starts_with("transient"),
            _ => false,
        }
    }
}

impl fmt::Display for MailProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message("en"))
    }
}

impl std::error::Error for MailProblem {}
