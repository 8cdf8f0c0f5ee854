//! The web layer's error: what went wrong is logged; the browser gets a plain page.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

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

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = match &self {
            WebError::Internal { action, detail } => {
                tracing::error!(%action, %detail, "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            WebError::NotFound => StatusCode::NOT_FOUND,
        };
        let page = ErrorPage {
            status: status.as_u16(),
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => status.into_response(),
        }
    }
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
