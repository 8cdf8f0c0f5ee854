//! CSRF protection: every POST must carry a token in its `csrf_token` field. A logged-in
//! user's token is kept in their session; a visitor who is not logged in (login, setup)
//! has no session, so their token is also kept in a cookie, signed by the server so that
//! a cookie planted by someone else is not taken: the form's token must match it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use tower_sessions::Session;

use crate::crypto::{MasterKey, derived};
use crate::web::session;

const COOKIE_NAME: &str = "s3backup_csrf";

/// Forms are small; anything larger than this is refused before parsing.
/// How long a visitor's form token (login, setup) is taken: a form left open longer is
/// answered with a fresh one to send again.
const TOKEN_LIFETIME_SECS: u64 = 12 * 60 * 60;
/// Random bytes of a visitor's token.
const NONCE: usize = 24;

/// Seconds since the Unix epoch (0 for a clock before it: every token is then too new).
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

const MAX_FORM_BYTES: usize = 256 * 1024;

/// Compares secrets in time independent of where they differ.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `error` or one of its causes is an `E`.
fn caused_by<E: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if error.is::<E>() {
            return true;
        }
        cause = error.source();
    }
    false
}

/// Signs the tokens of visitors without a session, with a key derived from the master key:
/// a login form left open across a restart still works, and another installation's tokens
/// are not taken.
#[derive(Clone)]
pub struct Signer {
    key: Arc<[u8; 32]>,
    /// Behind HTTPS the cookie is `Secure`.
    secure: bool,
}

impl Signer {
    pub fn new(master: &MasterKey, secure: bool) -> Self {
        Self {
            key: Arc::new(master.derive(derived::FORM_TOKEN_SIGNING)),
            secure,
        }
    }

    fn mac(&self) -> Hmac<Sha256> {
        let mut mac = crate::crypto::hmac(&self.key);
        mac.update(b"s3-backup form token\0");
        mac
    }

    /// A new token: random bytes, when it was made, and their signature.
    fn mint(&self) -> String {
        self.mint_at(unix_now())
    }

    fn mint_at(&self, made: u64) -> String {
        let mut body = [0u8; NONCE + 8];
        rand::thread_rng().fill_bytes(&mut body[..NONCE]);
        body[NONCE..].copy_from_slice(&made.to_be_bytes());
        let mut mac = self.mac();
        mac.update(&body);
        let signature = mac.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(body),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    /// Whether this server signed `token`, and not longer ago than a token lives.
    fn signed(&self, token: &str) -> bool {
        self.signed_at(token, unix_now())
    }

    fn signed_at(&self, token: &str, now: u64) -> bool {
        let Some((body, signature)) = token.split_once('.') else {
            return false;
        };
        let (Ok(body), Ok(signature)) = (
            URL_SAFE_NO_PAD.decode(body),
            URL_SAFE_NO_PAD.decode(signature),
        ) else {
            return false;
        };
        let Some(made) = body
            .get(NONCE..)
            .and_then(|made| <[u8; 8]>::try_from(made).ok())
            .map(u64::from_be_bytes)
        else {
            return false;
        };
        let mut mac = self.mac();
        mac.update(&body);
        // A minute of clock skew forward is forgiven; a token older than its life is not.
        mac.verify_slice(&signature).is_ok()
            && made <= now.saturating_add(60)
            && now.saturating_sub(made) <= TOKEN_LIFETIME_SECS
    }

    fn cookie(&self, token: &str) -> Option<HeaderValue> {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{COOKIE_NAME}={token}; Path=/; Max-Age={TOKEN_LIFETIME_SECS}; HttpOnly; SameSite=Strict{secure}"
        ))
        .ok()
    }
}

/// The form token of a visitor who is not logged in; the cookie that holds it is sent
/// only when a page showed it.
#[derive(Clone)]
pub struct VisitorToken {
    value: String,
    shown: Arc<AtomicBool>,
}

impl VisitorToken {
    /// The token, for a form on the page being made.
    pub fn show(&self) -> String {
        self.shown.store(true, Ordering::Relaxed);
        self.value.clone()
    }
}

/// The token a POST must carry: the session's for a logged-in user, else the signed one
/// of the visitor's cookie.
async fn expected(session: Option<&Session>, cookie: Option<&str>) -> Option<String> {
    if let Some(session) = session
        && session::user(session).await.ok().flatten().is_some()
    {
        return session::existing_csrf_token(session).await;
    }
    cookie.map(str::to_owned)
}

/// Middleware: gives the request a visitor's token, and refuses a POST without its token.
pub async fn verify(State(signer): State<Signer>, mut request: Request, next: Next) -> Response {
    let cookie = super::i18n::cookie_value(request.headers(), COOKIE_NAME)
        .filter(|token| signer.signed(token))
        .map(str::to_owned);
    let minted = cookie.is_none();
    let visitor = VisitorToken {
        value: cookie.clone().unwrap_or_else(|| signer.mint()),
        shown: Arc::new(AtomicBool::new(false)),
    };
    request.extensions_mut().insert(visitor.clone());
    let mut response = if request.method() == Method::POST {
        let session = request.extensions().get::<Session>().cloned();
        let expected = expected(session.as_ref(), cookie.as_deref()).await;
        checked(expected, request, next).await
    } else {
        next.run(request).await
    };
    if minted
        && visitor.shown.load(Ordering::Relaxed)
        && let Some(value) = signer.cookie(&visitor.value)
    {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// Runs the request if its form carries `expected`.
async fn checked(expected: Option<String>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, MAX_FORM_BYTES).await {
        Ok(bytes) => bytes,
        Err(error) if caused_by::<http_body_util::LengthLimitError>(&error) => {
            return StatusCode::PAYLOAD_TOO_LARGE.into_response();
        }
        // The body stopped coming (see `connections`), or the client went away.
        Err(error) => {
            tracing::debug!(%error, "request body not received");
            return StatusCode::REQUEST_TIMEOUT.into_response();
        }
    };
    let sent = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v.into_owned());
    match (expected, sent) {
        (Some(expected), Some(sent)) if same(expected.as_bytes(), sent.as_bytes()) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        _ => {
            tracing::warn!(path = %parts.uri.path(), "POST refused: missing or wrong CSRF token");
            StatusCode::FORBIDDEN.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(master: &MasterKey) -> Signer {
        Signer::new(master, false)
    }

    #[test]
    fn a_visitors_token_lives_twelve_hours_and_only_for_its_installation() {
        let dir = tempfile::tempdir().expect("temp dir");
        let master = MasterKey::load_or_create(&dir.path().join("master.key")).expect("key");
        let other = MasterKey::load_or_create(&dir.path().join("other.key")).expect("key");
        let made = 1_800_000_000;
        let token = signer(&master).mint_at(made);

        assert!(signer(&master).signed_at(&token, made));
        assert!(signer(&master).signed_at(&token, made + TOKEN_LIFETIME_SECS));
        assert!(!signer(&master).signed_at(&token, made + TOKEN_LIFETIME_SECS + 1));
        assert!(
            !signer(&master).signed_at(&token, made - 3600),
            "made in the future"
        );
        assert!(!signer(&other).signed_at(&token, made));
        let (body, signature) = token.split_once('.').expect("two parts");
        let mut forged = URL_SAFE_NO_PAD.decode(body).expect("base64");
        forged[NONCE..].copy_from_slice(&(made + 10 * TOKEN_LIFETIME_SECS).to_be_bytes());
        let forged = format!("{}.{signature}", URL_SAFE_NO_PAD.encode(forged));
        assert!(!signer(&master).signed_at(&forged, made + 10 * TOKEN_LIFETIME_SECS));
        assert!(!signer(&master).signed_at("not.a-token", made));
    }
}
