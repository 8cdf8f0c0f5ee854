//! CSRF protection: every POST must carry the session's token in its `csrf_token` field.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use crate::web::session;

/// Forms are small; anything larger than this is refused before parsing.
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

pub async fn verify(request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let expected = match request.extensions().get::<Session>() {
        Some(s) => session::existing_csrf_token(s).await,
        None => None,
    };
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
