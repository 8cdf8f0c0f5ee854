//! One HTTP request to a channel, and why it failed, precisely enough to fix: the name
//! that does not resolve, the refused connection, the TLS error, the timeout, or the
//! status and the start of the body the server answered.

use std::time::Duration;

use crate::lang::Message;

/// How much of a refusing server's body is kept, in characters.
pub const BODY_EXCERPT: usize = 200;

/// A request ready to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub url: url::Url,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookProblem {
    Dns {
        host: String,
        detail: String,
    },
    ConnectionRefused {
        server: String,
    },
    Tls {
        server: String,
        detail: String,
    },
    Timeout {
        server: String,
    },
    /// Another network failure (no route, a connection reset).
    Network {
        server: String,
        detail: String,
    },
    /// The server answered with a status other than 2xx.
    Status {
        status: u16,
        body: String,
    },
    /// The channel's stored secrets do not open with this master key.
    Unreadable,
}

impl HookProblem {
    pub fn to_message(&self) -> Message {
        match self {
            Self::Dns { host, detail } => Message::new("channels.problem.dns")
                .with("host", host)
                .detail(detail.clone()),
            Self::ConnectionRefused { server } => {
                Message::new("channels.problem.connection_refused").with("server", server)
            }
            Self::Tls { server, detail } => Message::new("channels.problem.tls")
                .with("server", server)
                .detail(detail.clone()),
            Self::Timeout { server } => {
                Message::new("channels.problem.timeout").with("server", server)
            }
            Self::Network { server, detail } => Message::new("channels.problem.network")
                .with("server", server)
                .detail(detail.clone()),
            Self::Status { status, body } => Message::new("channels.problem.status")
                .with("status", status)
                .detail(body.clone()),
            Self::Unreadable => Message::new("channels.problem.unreadable"),
        }
    }

    /// Whether trying again later may succeed: the network or the server may come back;
    /// a 4xx answer (a wrong URL or token) fails the same way each time.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            Self::Unreadable | Self::Tls { .. } => false,
            _ => true,
        }
    }
}

impl std::fmt::Display for HookProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_message().render(crate::lang::Lang::EN))
    }
}

/// The client every channel is sent with: rustls, no redirects followed (a webhook that
/// moved is a setting to fix), `timeout` for the whole request.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("s3-backup/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// Sends `outgoing` once; the status when the server accepted it.
pub async fn send(client: &reqwest::Client, outgoing: &Outgoing) -> Result<u16, HookProblem> {
    let mut request = client
        .post(outgoing.url.clone())
        .body(outgoing.body.clone());
    for (name, value) in &outgoing.headers {
        request = request.header(*name, value);
    }
    let mut response = request
        .send()
        .await
        .map_err(|error| classify(&outgoing.url, &error))?;
    let status = response.status().as_u16();
    if response.status().is_success() {
        return Ok(status);
    }
    let mut body = Vec::new();
    // Only the start is shown: read no more than a few kilobytes of what may be a page.
    while body.len() < 4096 {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&body);
    Err(HookProblem::Status {
        status,
        body: text.trim().chars().take(BODY_EXCERPT).collect(),
    })
}

fn server(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

fn classify(url: &url::Url, error: &reqwest::Error) -> HookProblem {
    let server = server(url);
    if error.is_timeout() {
        return HookProblem::Timeout { server };
    }
    let mut chain = Vec::new();
    let mut refused = false;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        chain.push(current.to_string());
        source = current.source();
    }
    let innermost = chain.last().cloned().unwrap_or_default();
    let all = chain.join(": ").to_lowercase();
    if refused || all.contains("connection refused") {
        HookProblem::ConnectionRefused { server }
    } else if all.contains("dns error")
        || all.contains("failed to lookup address")
        || all.contains("name or service not known")
    {
        HookProblem::Dns {
            host: url.host_str().unwrap_or_default().to_owned(),
            detail: innermost,
        }
    } else if all.contains("certificate") || all.contains("tls") || all.contains("handshake") {
        HookProblem::Tls {
            server,
            detail: innermost,
        }
    } else if all.contains("timed out") {
        HookProblem::Timeout { server }
    } else {
        HookProblem::Network {
            server,
            detail: innermost,
        }
    }
}
