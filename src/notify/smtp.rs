//! One SMTP delivery, step by step (resolve, connect, TLS, authenticate, sender,
//! recipients, data), so that a failure says which step broke and what the server said.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use lettre::Address;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::ClientId;

use super::account::{MailOptions, SmtpAccount};
use super::problem::{MailProblem, Step};
use crate::settings::SmtpSecurity;

/// A message ready to go: its envelope and its bytes.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub from: Address,
    pub to: Vec<Address>,
    pub bytes: Vec<u8>,
}

impl Outgoing {
    pub fn from_message(message: &lettre::Message) -> Result<Self, MailProblem> {
        let envelope = message.envelope();
        let from = envelope
            .from()
            .cloned()
            .ok_or_else(|| MailProblem::InvalidSender {
                sender: String::new(),
            })?;
        if envelope.to().is_empty() {
            return Err(MailProblem::NoRecipients);
        }
        Ok(Self {
            from,
            to: envelope.to().to_vec(),
            bytes: message.formatted(),
        })
    }
}

/// Sends `mail` through `account`.
pub async fn deliver(
    account: &SmtpAccount,
    options: &MailOptions,
    mail: &Outgoing,
) -> Result<(), MailProblem> {
    let server = account.server();
    let addresses = within(options, &server, Step::Resolve, resolve(account)).await?;
    let tls = tls_parameters(account, options)?;
    let implicit = (account.security == SmtpSecurity::Tls).then(|| tls.clone());
    let hello = ClientId::default();
    let connecting = connect(account, options, &addresses, &hello, implicit);
    let mut connection = within(options, &server, Step::Connect, connecting).await?;

    let result = converse(account, options, &mut connection, tls, &hello, mail).await;
    match &result {
        // The message is accepted; a failed goodbye changes nothing.
        Ok(()) => {
            let _ = connection.quit().await;
        }
        // The stream is unusable after a failed TLS upgrade or a time-out: writing a
        // goodbye on it would fail (lettre even panics after a failed upgrade).
        Err(MailProblem::Tls { .. } | MailProblem::Timeout { .. }) => {}
        Err(_) => connection.abort().await,
    }
    result
}

async fn converse(
    account: &SmtpAccount,
    options: &MailOptions,
    connection: &mut AsyncSmtpConnection,
    tls: TlsParameters,
    hello: &ClientId,
    mail: &Outgoing,
) -> Result<(), MailProblem> {
    let server = account.server();
    if account.security == SmtpSecurity::StartTls {
        if !connection.can_starttls() {
            return Err(MailProblem::StartTlsUnsupported { server });
        }
        within(options, &server, Step::StartTls, async {
            connection
                .starttls(tls, hello)
                .await
                .map_err(|error| MailProblem::Tls {
                    server: server.clone(),
                    detail: error_text(&error),
                })
        })
        .await?;
    }
    if !account.username.is_empty() {
        let credentials = Credentials::new(
            account.username.clone(),
            account.password.clone().unwrap_or_default(),
        );
        within(options, &server, Step::Authenticate, async {
            connection
                .auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
                .await
                .map_err(|error| {
                    if error.is_client() {
                        MailProblem::AuthUnsupported {
                            server: server.clone(),
                        }
                    } else {
                        MailProblem::AuthFailed {
                            detail: error_text(&error),
                        }
                    }
                })
        })
        .await?;
    }
    within(options, &server, Step::Send, async {
        connection
            .command(Mail::new(Some(mail.from.clone()), Vec::new()))
            .await
            .map_err(|error| MailProblem::SenderRefused {
                sender: mail.from.to_string(),
                detail: error_text(&error),
            })?;
        for recipient in &mail.to {
            connection
                .command(Rcpt::new(recipient.clone(), Vec::new()))
                .await
                .map_err(|error| MailProblem::RecipientRefused {
                    recipient: recipient.to_string(),
                    detail: error_text(&error),
                })?;
        }
        let refused = |error: lettre::transport::smtp::Error| MailProblem::MessageRefused {
            detail: error_text(&error),
        };
        connection.command(Data).await.map_err(refused)?;
        connection.message(&mail.bytes).await.map_err(refused)?;
        Ok(())
    })
    .await
}

/// Runs one step under the time limit.
async fn within<T>(
    options: &MailOptions,
    server: &str,
    step: Step,
    future: impl Future<Output = Result<T, MailProblem>>,
) -> Result<T, MailProblem> {
    tokio::time::timeout(options.timeout, future)
        .await
        .unwrap_or_else(|_| {
            Err(MailProblem::Timeout {
                server: server.to_owned(),
                step,
            })
        })
}

async fn resolve(account: &SmtpAccount) -> Result<Vec<SocketAddr>, MailProblem> {
    let dns = |detail: String| MailProblem::Dns {
        host: account.host.clone(),
        detail,
    };
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((account.host.as_str(), account.port))
        .await
        .map_err(|error| dns(error.to_string()))?
        .collect();
    if addresses.is_empty() {
        return Err(dns("no address".to_owned()));
    }
    Ok(addresses)
}

fn tls_parameters(
    account: &SmtpAccount,
    options: &MailOptions,
) -> Result<TlsParameters, MailProblem> {
    let tls_problem = |detail: String| MailProblem::Tls {
        server: account.server(),
        detail,
    };
    let mut builder = TlsParameters::builder(account.host.clone());
    for pem in &options.extra_root_certificates {
        let certificate = Certificate::from_pem(pem).map_err(|e| tls_problem(error_text(&e)))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder
        .build_rustls()
        .map_err(|error| tls_problem(error_text(&error)))
}

async fn connect(
    account: &SmtpAccount,
    options: &MailOptions,
    addresses: &[SocketAddr],
    hello: &ClientId,
    implicit_tls: Option<TlsParameters>,
) -> Result<AsyncSmtpConnection, MailProblem> {
    AsyncSmtpConnection::connect_tokio1(addresses, Some(options.timeout), hello, implicit_tls, None)
        .await
        .map_err(|error| connect_problem(account, &error))
}

/// Tells a refused connection from an unreachable host, a time-out and a TLS handshake
/// that failed.
fn connect_problem(account: &SmtpAccount, error: &lettre::transport::smtp::Error) -> MailProblem {
    let server = account.server();
    if error.is_response() || error.is_permanent() || error.is_transient() {
        return MailProblem::Protocol {
            detail: error_text(error),
        };
    }
    let io_kind = io_source(error).map(io::Error::kind);
    match io_kind {
        Some(io::ErrorKind::ConnectionRefused) => MailProblem::ConnectionRefused { server },
        Some(io::ErrorKind::TimedOut) => MailProblem::Timeout {
            server,
            step: Step::Connect,
        },
        Some(
            io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::AddrNotAvailable,
        ) => MailProblem::Unreachable {
            server,
            detail: error_text(error),
        },
        _ if error.is_tls() || account.security == SmtpSecurity::Tls => MailProblem::Tls {
            server,
            detail: error_text(error),
        },
        _ => MailProblem::Unreachable {
            server,
            detail: error_text(error),
        },
    }
}

fn io_source<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let mut source = error.source();
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<io::Error>() {
            return Some(io);
        }
        source = inner.source();
    }
    None
}

/// The error and its causes on one line, e.g. "permanent error (535): bad credentials".
fn error_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let more = inner.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = inner.source();
    }
    text.trim().to_owned()
}
