//! An SMTP server inside the test process: the `mailin` protocol engine over tokio, with
//! STARTTLS (a certificate from a throw-away CA) and required authentication. It captures
//! every message it accepts; tests wait for messages on a signal, never on a sleep.
#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin::{Action, AuthMechanism, Handler, Response, SessionBuilder, response};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use s3_backup::db::email_account::StoredEmailAccount;
use s3_backup::notify::{MailOptions, SmtpAccount};
use s3_backup::settings::SmtpSecurity;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub const USER: &str = "mailer";
pub const PASSWORD: &str = "smtp-secret-9";
pub const SENDER: &str = "s3-backup@example.com";

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct Captured {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

impl Captured {
    fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("a parsable message")
    }

    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_owned()
    }

    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }

    pub fn html(&self) -> String {
        self.parsed()
            .body_html(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct State {
    messages: Mutex<Vec<Captured>>,
    refused_recipients: Mutex<Vec<String>>,
    arrived: Notify,
}

/// The running server.
pub struct TestSmtp {
    pub addr: SocketAddr,
    ca_pem: String,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl TestSmtp {
    /// Listening on 127.0.0.1 (port chosen by the system), ready when this returns.
    pub async fn start() -> TestSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let addr = listener.local_addr().expect("smtp address");
        let (ca_pem, acceptor) = tls_acceptor();
        let state = Arc::new(State::default());
        let mut builder = SessionBuilder::new("smtp.test");
        builder
            .enable_start_tls()
            .enable_auth(AuthMechanism::Plain)
            .enable_auth(AuthMechanism::Login);
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                let handler = Capture::new(shared.clone());
                let session = builder.build(peer.ip(), handler);
                tokio::spawn(serve(stream, session, acceptor.clone()));
            }
        });
        TestSmtp {
            addr,
            ca_pem,
            state,
            task,
        }
    }

    /// The certificate (PEM) of the authority that signed this server's certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The account as the app would store it (password sealed with `key`).
    pub fn stored_account(&self, key: &s3_backup::crypto::MasterKey) -> StoredEmailAccount {
        StoredEmailAccount {
            smtp_host: "127.0.0.1".into(),
            smtp_port: i64::from(self.addr.port()),
            smtp_security: "starttls".into(),
            smtp_username: USER.into(),
            smtp_password: Some(
                key.seal(
                    &s3_backup::crypto::Slot::single(s3_backup::notify::PASSWORD_PURPOSE),
                    PASSWORD,
                )
                .expect("seal"),
            ),
            sender: SENDER.into(),
            updated_at: None,
        }
    }

    pub fn account(&self) -> SmtpAccount {
        SmtpAccount {
            host: "127.0.0.1".into(),
            port: self.addr.port(),
            security: SmtpSecurity::StartTls,
            username: USER.into(),
            password: Some(PASSWORD.into()),
            sender: SENDER.parse().expect("sender"),
        }
    }

    /// Options that trust this server's certificate and retry quickly.
    pub fn options(&self) -> MailOptions {
        MailOptions {
            timeout: Duration::from_secs(10),
            retry_delays: vec![Duration::from_millis(20), Duration::from_millis(40)],
            extra_root_certificates: vec![self.ca_pem.clone().into_bytes()],
        }
    }

    /// Makes the server refuse this recipient (550).
    pub fn refuse_recipient(&self, address: &str) {
        lock(&self.state.refused_recipients).push(address.to_owned());
    }

    pub fn messages(&self) -> Vec<Captured> {
        lock(&self.state.messages).clone()
    }

    /// Waits until `count` messages have arrived (10 s at most) and returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Captured> {
        let waiting = async {
            loop {
                let arrived = self.state.arrived.notified();
                let messages = self.messages();
                if messages.len() >= count {
                    return messages;
                }
                arrived.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .unwrap_or_else(|_| {
                panic!("{count} message(s) expected, got {}", self.messages().len())
            })
    }

    /// Stops listening; the port then refuses connections.
    pub async fn stop(&mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for TestSmtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A CA and a certificate it signs for 127.0.0.1 and localhost.
fn tls_acceptor() -> (String, TlsAcceptor) {
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().expect("leaf key");
    let leaf_params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("leaf params");
    let leaf = leaf_params
        .signed_by(&leaf_key, &issuer)
        .expect("leaf cert");
    let config = ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("tls versions")
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from(leaf.der().to_vec())],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
    )
    .expect("tls config");
    (ca_cert.pem(), TlsAcceptor::from(Arc::new(config)))
}

enum Ended {
    Closed,
    UpgradeTls,
}

async fn serve(stream: TcpStream, mut session: mailin::Session<Capture>, acceptor: TlsAcceptor) {
    let mut plain = BufReader::new(stream);
    if write(&mut plain, &session.greeting()).await.is_err() {
        return;
    }
    if let Ended::UpgradeTls = converse(&mut session, &mut plain).await {
        let Ok(tls) = acceptor.accept(plain.into_inner()).await else {
            return;
        };
        session.tls_active();
        let mut tls = BufReader::new(tls);
        converse(&mut session, &mut tls).await;
    }
}

async fn converse<S>(session: &mut mailin::Session<Capture>, stream: &mut S) -> Ended
where
    S: AsyncBufRead + AsyncWrite + Unpin,
{
    let mut line = Vec::with_capacity(128);
    loop {
        line.clear();
        match stream.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return Ended::Closed,
            Ok(_) => {}
        }
        let reply = session.process(&line);
        match reply.action {
            Action::NoReply => {}
            Action::Reply => {
                if write(stream, &reply).await.is_err() {
                    return Ended::Closed;
                }
            }
            Action::Close => {
                let _ = write(stream, &reply).await;
                return Ended::Closed;
            }
            Action::UpgradeTls => {
                let _ = write(stream, &reply).await;
                return Ended::UpgradeTls;
            }
        }
    }
}

async fn write<S: AsyncWrite + Unpin>(stream: &mut S, reply: &Response) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    reply.write_to(&mut bytes)?;
    stream.write_all(&bytes).await?;
    stream.flush().await
}

/// Checks the credentials and keeps each message.
struct Capture {
    state: Arc<State>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Capture {
    fn new(state: Arc<State>) -> Self {
        Self {
            state,
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
        }
    }

    fn check(user: &str, password: &str) -> Response {
        if user == USER && password == PASSWORD {
            response::AUTH_OK
        } else {
            response::INVALID_CREDENTIALS
        }
    }
}

impl Handler for Capture {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        self.from = from.to_owned();
        self.to.clear();
        self.data.clear();
        response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        if lock(&self.state.refused_recipients).iter().any(|r| r == to) {
            return response::NO_MAILBOX;
        }
        self.to.push(to.to_owned());
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        lock(&self.state.messages).push(Captured {
            from: self.from.clone(),
            to: self.to.clone(),
            data: std::mem::take(&mut self.data),
        });
        self.state.arrived.notify_waiters();
        response::OK
    }

    fn auth_plain(&mut self, _authorization: &str, user: &str, password: &str) -> Response {
        Self::check(user, password)
    }

    fn auth_login(&mut self, user: &str, password: &str) -> Response {
        Self::check(user, password)
    }
}
