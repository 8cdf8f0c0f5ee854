//! Who may call the API: a live token in `Authorization: Bearer …`, and nothing else —
//! no session cookie is read here. Reading needs any token; starting a run needs the
//! `operate` scope.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::tokens::Secret;
use crate::web::api::error::ApiError;

/// What an operation asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the API's description).
    Public,
    /// Any live token.
    Read,
    /// A live token with the `operate` scope.
    Operate,
}

/// The secret of an `Authorization: Bearer` header: `None` when there is no such header,
/// `Some(None)` when there is one that cannot hold one of our tokens.
fn presented(request: &Request) -> Option<Option<Secret>> {
    let value = request.headers().get(header::AUTHORIZATION)?;
    let secret = value.to_str().ok().and_then(|value| {
        let (scheme, token) = value.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| Secret::from_presented(token.trim()))
            .flatten()
    });
    Some(secret)
}

/// Middleware: refuses the request unless its token allows `access`.
pub async fn require(
    State((state, access)): State<(AppState, Access)>,
    mut request: Request,
    next: Next,
) -> Response {
    if access == Access::Public {
        return next.run(request).await;
    }
    let secret = match presented(&request) {
        None => return ApiError::Unauthorized { presented: false }.into_response(),
        Some(None) => return ApiError::Unauthorized { presented: true }.into_response(),
        Some(Some(secret)) => secret,
    };
    let token = match crate::db::tokens::authenticate(&state.pool, &secret, chrono::Utc::now())
        .await
    {
        Ok(Some(token)) => token,
        Ok(None) => {
            tracing::warn!(identifier = %secret.identifier(), "API request with an unknown or revoked token");
            return ApiError::Unauthorized { presented: true }.into_response();
        }
        Err(error) => return ApiError::from(error).into_response(),
    };
    if access == Access::Operate && !token.scope.may_operate() {
        tracing::warn!(token = token.id, path = %request.uri().path(), "API request beyond the token's scope");
        return ApiError::Forbidden.into_response();
    }
    request.extensions_mut().insert(Caller {
        token_id: token.id,
        name: token.name,
    });
    next.run(request).await
}

/// The token a request came with, for the log.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token_id: i64,
    pub name: String,
}
