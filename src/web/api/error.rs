//! The API's one error and its one JSON shape, `{"error": {"code", "message"}}`, for every
//! refusal: the API's own, the router's (unknown path, wrong method) and the extractors'.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::lang::{Lang, Message};

#[derive(Debug)]
pub enum ApiError {
    /// A parameter that cannot be taken, and why.
    BadRequest(Message),
    /// No token, or not a live one (`presented`: one was sent).
    Unauthorized {
        presented: bool,
    },
    /// The token's scope does not allow this.
    Forbidden,
    NotFound(Message),
    /// Another operation is in progress.
    Busy,
    /// The settings do not allow the operation yet.
    NotConfigured(Message),
    /// Logged with its detail; the client only learns that it failed.
    Internal {
        action: &'static str,
        detail: String,
    },
}

impl ApiError {
    pub fn internal(action: &'static str, error: impl std::fmt::Display) -> Self {
        Self::Internal {
            action,
            detail: error.to_string(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Busy => StatusCode::CONFLICT,
            Self::NotConfigured(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn problem(self) -> Problem {
        let (code, message) = match self {
            Self::BadRequest(message) => ("bad_request", message),
            Self::Unauthorized { presented: false } => {
                ("unauthorized", Message::new("api.error.missing_token"))
            }
            Self::Unauthorized { presented: true } => {
                ("unauthorized", Message::new("api.error.invalid_token"))
            }
            Self::Forbidden => ("forbidden", Message::new("api.error.forbidden")),
            Self::NotFound(message) => ("not_found", message),
            Self::Busy => ("conflict", Message::new("api.error.busy")),
            Self::NotConfigured(message) => ("not_configured", message),
            Self::Internal { .. } => ("internal", Message::new("api.error.internal")),
        };
        Problem { code, message }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::Internal { action, detail } = &self {
            tracing::error!(%action, %detail, "API request failed");
        }
        let challenge = match &self {
            Self::Unauthorized { presented: true } => Some("Bearer error=\"invalid_token\""),
            Self::Unauthorized { presented: false } => Some("Bearer"),
            _ => None,
        };
        let mut response = status.into_response();
        if let Some(challenge) = challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        // Written in the reader's language by `json_errors`.
        response.extensions_mut().insert(self.problem());
        response
    }
}

/// An error's code and message, before its language is known.
#[derive(Debug, Clone)]
struct Problem {
    code: &'static str,
    message: Message,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: String,
}

/// The problem of an error answer that came without one (the router's, an extractor's).
fn by_status(status: StatusCode) -> Problem {
    let (code, key) = match status {
        StatusCode::NOT_FOUND => ("not_found", "api.error.not_found"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "api.error.method"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "api.error.too_large"),
        StatusCode::UNAUTHORIZED => ("unauthorized", "api.error.missing_token"),
        status if status.is_server_error() => ("internal", "api.error.internal"),
        _ => ("bad_request", "api.error.bad_request"),
    };
    Problem {
        code,
        message: Message::new(key),
    }
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// The language of the API's messages: the client's Accept-Language, English otherwise.
fn language(request: &Request) -> Lang {
    request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::negotiate)
        .unwrap_or(Lang::EN)
}

/// Middleware: every error answer of the API gets the JSON shape, in the client's language.
pub async fn json_errors(mut request: Request, next: Next) -> Response {
    let lang = language(&request);
    request.extensions_mut().insert(lang);
    let response = next.run(request).await;
    let status = response.status();
    let problem = response.extensions().get::<Problem>().cloned();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let problem = match problem {
        Some(problem) => problem,
        None if is_json(&response) => return response,
        None => by_status(status),
    };
    let body = ErrorBody {
        error: Detail {
            code: problem.code,
            message: problem.message.render(lang),
        },
    };
    let json = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(json))
}

/// Any address under `/api` no operation answers.
pub async fn not_found() -> ApiError {
    ApiError::NotFound(Message::new("api.error.not_found"))
}

impl From<crate::db::runs::RunsError> for ApiError {
    fn from(error: crate::db::runs::RunsError) -> Self {
        Self::internal("run history", error)
    }
}

impl From<crate::db::tokens::TokenError> for ApiError {
    fn from(error: crate::db::tokens::TokenError) -> Self {
        Self::internal("api tokens", error)
    }
}

impl From<crate::db::settings::SettingsError> for ApiError {
    fn from(error: crate::db::settings::SettingsError) -> Self {
        Self::internal("settings", error)
    }
}

impl From<crate::db::sources::SourcesError> for ApiError {
    fn from(error: crate::db::sources::SourcesError) -> Self {
        Self::internal("sources", error)
    }
}

impl From<crate::schedule::ScheduleError> for ApiError {
    fn from(error: crate::schedule::ScheduleError) -> Self {
        Self::internal("schedule", error)
    }
}
