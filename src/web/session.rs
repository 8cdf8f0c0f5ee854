//! What the session holds: the logged-in user, until when, and the CSRF token of its forms.
//! Only a login stores a session: visitors who are not logged in have none (their forms'
//! token is in `csrf`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use tower_sessions::Session;

use crate::accounts::User;
use crate::web::error::WebError;

const USER_KEY: &str = "user";
const CSRF_KEY: &str = "csrf";
/// When the login ends, however active (milliseconds since the epoch).
const UNTIL_KEY: &str = "until";

/// The logged-in user; `None` once the login's lifetime is over (the session then ends).
pub async fn user(session: &Session) -> Result<Option<User>, WebError> {
    let Some(user) = session
        .get::<User>(USER_KEY)
        .await
        .map_err(|e| WebError::internal("reading the session", e))?
    else {
        return Ok(None);
    };
    let until = session
        .get::<i64>(UNTIL_KEY)
        .await
        .map_err(|e| WebError::internal("reading the session", e))?;
    if until.is_some_and(|until| chrono::Utc::now().timestamp_millis() < until) {
        return Ok(Some(user));
    }
    log_out(session).await?;
    Ok(None)
}

/// Logs `user` in for `lifetime` under a new session id, so an id planted before login
/// is worthless.
pub async fn log_in(
    session: &Session,
    user: &User,
    lifetime: std::time::Duration,
) -> Result<(), WebError> {
    session
        .cycle_id()
        .await
        .map_err(|e| WebError::internal("renewing the session id", e))?;
    session
        .insert(USER_KEY, user)
        .await
        .map_err(|e| WebError::internal("storing the session", e))?;
    let lifetime = chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::MAX);
    let until = chrono::Utc::now()
        .checked_add_signed(lifetime)
        .map_or(i64::MAX, |until| until.timestamp_millis());
    session
        .insert(UNTIL_KEY, until)
        .await
        .map_err(|e| WebError::internal("storing the session", e))?;
    // A fresh token for the logged-in session.
    session
        .remove_value(CSRF_KEY)
        .await
        .map_err(|e| WebError::internal("storing the session", e))?;
    Ok(())
}

pub async fn log_out(session: &Session) -> Result<(), WebError> {
    session
        .flush()
        .await
        .map_err(|e| WebError::internal("ending the session", e))
}

/// The session's CSRF token, created on first use.
pub async fn csrf_token(session: &Session) -> Result<String, WebError> {
    if let Some(token) = session
        .get::<String>(CSRF_KEY)
        .await
        .map_err(|e| WebError::internal("reading the session", e))?
    {
        return Ok(token);
    }
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    session
        .insert(CSRF_KEY, &token)
        .await
        .map_err(|e| WebError::internal("storing the session", e))?;
    Ok(token)
}

/// The stored token without creating one.
pub async fn existing_csrf_token(session: &Session) -> Option<String> {
    session.get::<String>(CSRF_KEY).await.ok().flatten()
}

const NOTICE_KEY: &str = "notice";

/// A message shown once on the next page, after a redirect.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Notice {
    pub text: String,
    pub is_error: bool,
}

/// Leaves a confirmation for the next page shown.
pub async fn set_notice(session: &Session, text: String) -> Result<(), WebError> {
    store_notice(
        session,
        Notice {
            text,
            is_error: false,
        },
    )
    .await
}

/// Leaves an error message for the next page shown.
pub async fn set_error(session: &Session, text: String) -> Result<(), WebError> {
    store_notice(
        session,
        Notice {
            text,
            is_error: true,
        },
    )
    .await
}

async fn store_notice(session: &Session, notice: Notice) -> Result<(), WebError> {
    session
        .insert(NOTICE_KEY, notice)
        .await
        .map_err(|e| WebError::internal("storing the session", e))
}

/// The notice left for this page, if any. Only a page that has one changes the session:
/// reading a page otherwise writes nothing.
pub async fn take_notice(session: &Session) -> Result<Option<Notice>, WebError> {
    let reading = |e| WebError::internal("reading the session", e);
    if session
        .get_value(NOTICE_KEY)
        .await
        .map_err(reading)?
        .is_none()
    {
        return Ok(None);
    }
    session.remove::<Notice>(NOTICE_KEY).await.map_err(reading)
}

const SEEN_KEY: &str = "seen_at";

/// How often an active login's session is written back, to push its end of inactivity
/// further: not on every page (a database write each), within minutes of its use.
const KEEP_ALIVE_EVERY: i64 = 5 * 60;

/// Marks a logged-in session as used now, at most every `KEEP_ALIVE_EVERY` seconds; the
/// session layer writes it back (and renews its cookie) when this changed it.
pub async fn keep_alive(session: &Session) -> Result<(), WebError> {
    let now = chrono::Utc::now().timestamp();
    let seen: Option<i64> = session
        .get(SEEN_KEY)
        .await
        .map_err(|e| WebError::internal("reading the session", e))?;
    if seen.is_none_or(|seen| now - seen >= KEEP_ALIVE_EVERY || seen > now) {
        session
            .insert(SEEN_KEY, now)
            .await
            .map_err(|e| WebError::internal("storing the session", e))?;
    }
    Ok(())
}
