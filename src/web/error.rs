//! The web layer's error, and the error pages: what went wrong is logged; the reader gets a
//! page in their language, with the navigation and a way back.

use askama::Template;
use askama_web::WebTemplate;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use crate::app::AppState;
use crate::lang::Lang;
use crate::web::page::Page;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{action}: {detail}")]
    Internal {
        action: &'static str,
        detail: String,
    },
    #[error("not found")]
    NotFound,
}

impl WebError {
    pub fn internal(action: &'static str, error: impl std::fmt::Display) -> Self {
        Self::Internal {
            action,
            detail: error.to_string(),
        }
    }
}

/// The error's status alone: `pages` gives it its page.
impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match &self {
            WebError::Internal { action, detail } => {
                tracing::error!(%action, %detail, "request failed");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
            WebError::NotFound => StatusCode::NOT_FOUND.into_response(),
        }
    }
}

/// Any address no page answers.
pub async fn not_found() -> WebError {
    WebError::NotFound
}

#[derive(Template, WebTemplate)]
#[template(path = "error_page.html")]
struct ErrorPage {
    page: Page,
    status: u16,
    title: String,
    hint: String,
}

/// The last resort when even the page around the error cannot be made (the database is
/// gone, say): both languages, no navigation.
#[derive(Template)]
#[template(path = "error.html")]
struct BareErrorPage {
    status: u16,
}

/// The catalog keys of the title and explanation shown for `status`.
fn texts(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::NOT_FOUND => ("error.not_found", "error.not_found_hint"),
        StatusCode::FORBIDDEN => ("error.forbidden", "error.csrf"),
        StatusCode::METHOD_NOT_ALLOWED => ("error.method", "error.method_hint"),
        StatusCode::REQUEST_TIMEOUT => ("error.timeout", "error.timeout_hint"),
        StatusCode::PAYLOAD_TOO_LARGE => ("error.too_large_title", "error.too_large"),
        status if status.is_server_error() => ("error.internal", "error.internal_hint"),
        _ => ("error.bad_request", "error.bad_request_hint"),
    }
}

/// Whether `response` is an error without a page of its own: a `WebError`, or a refusal
/// from the router or an extractor (a malformed address or form, an unknown method),
/// which come as plain text or nothing. Pages that show their own error (a form with its
/// messages, a throttled login) and machine answers (JSON, the metrics' 401) are kept.
fn needs_page(response: &Response) -> bool {
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    plain
        && (status.is_server_error()
            || (status.is_client_error()
                && !matches!(
                    status,
                    StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
                )))
}

/// Middleware: error answers without a page of their own get the error page.
pub async fn pages(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let lang = request
        .extensions()
        .get::<Lang>()
        .copied()
        .unwrap_or(Lang::EN);
    let session = request.extensions().get::<Session>().cloned();
    let response = next.run(request).await;
    if !needs_page(&response) {
        return response;
    }
    let status = response.status();
    let (mut parts, _) = response.into_parts();
    let html = render(&state, lang, session, status).await;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Response::from_parts(parts, Body::from(html))
}

async fn render(
    state: &AppState,
    lang: Lang,
    session: Option<Session>,
    status: StatusCode,
) -> String {
    let (title, hint) = texts(status);
    let page = match session {
        // No form on an error page needs a visitor's token.
        Some(session) => Page::load(state, lang, &session, None, None).await.ok(),
        None => None,
    };
    let rendered = match page {
        Some(page) => ErrorPage {
            status: status.as_u16(),
            title: page.t(title),
            hint: page.t(hint),
            page,
        }
        .render(),
        None => BareErrorPage {
            status: status.as_u16(),
        }
        .render(),
    };
    rendered.unwrap_or_else(|error| {
        tracing::error!(%error, "cannot render an error page");
        status.to_string()
    })
}

/// An id from a URL: a number, or the page does not exist.
pub fn id(text: &str) -> Result<i64, WebError> {
    text.parse().map_err(|_| WebError::NotFound)
}

impl From<sqlx::Error> for WebError {
    fn from(error: sqlx::Error) -> Self {
        Self::internal("database query", error)
    }
}

impl From<crate::accounts::AccountError> for WebError {
    fn from(error: crate::accounts::AccountError) -> Self {
        Self::internal("account", error)
    }
}

impl From<crate::crypto::CryptoError> for WebError {
    fn from(error: crate::crypto::CryptoError) -> Self {
        Self::internal("secret storage", error)
    }
}

impl From<crate::db::settings::SettingsError> for WebError {
    fn from(error: crate::db::settings::SettingsError) -> Self {
        Self::internal("settings", error)
    }
}

impl From<crate::db::sources::SourcesError> for WebError {
    fn from(error: crate::db::sources::SourcesError) -> Self {
        Self::internal("sources", error)
    }
}

impl From<crate::jobs::JobError> for WebError {
    fn from(error: crate::jobs::JobError) -> Self {
        Self::internal("backup job", error)
    }
}
