//! The tokens page: API tokens made (their secret shown once, on the answer to the form),
//! listed by name and identifier with when they were last used, and revoked.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tower_sessions::Session;

use crate::app::AppState;
use crate::db::tokens::{self as store, CHANGES_PAGE, Token, TokenError};
use crate::tokens::{PREFIX, Scope, Secret, TokenName};
use crate::web::error::WebError;
use crate::web::form::FormState;
use crate::web::page::Page;
use crate::web::session;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tokens", get(list).post(create))
        .route("/tokens/{id}/revoke", post(revoke))
}

/// A token as a row of the list: never its secret.
struct Listed {
    id: i64,
    name: String,
    scope: Scope,
    /// `s3b_AbCdEfGh…`
    shown: String,
    created: String,
    created_by: String,
    /// Empty when never used.
    last_used: String,
    /// Empty while live.
    revoked: String,
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

impl Listed {
    fn new(token: &Token) -> Self {
        Self {
            id: token.id,
            name: token.name.clone(),
            scope: token.scope,
            shown: format!("{PREFIX}{}…", token.identifier),
            created: when(token.created_at),
            created_by: token.created_by.clone(),
            last_used: token.last_used_at.map(when).unwrap_or_default(),
            revoked: token.revoked_at.map(when).unwrap_or_default(),
        }
    }
}

/// The token just made, on the one answer that shows its secret.
struct Created {
    name: String,
    secret: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "tokens.html")]
struct TokensPage {
    page: Page,
    tokens: Vec<Listed>,
    form: FormState,
    scopes: [Scope; 2],
    created: Option<Created>,
    changes: Vec<crate::db::changes::Change>,
}

impl From<TokenError> for WebError {
    fn from(error: TokenError) -> Self {
        Self::internal("api tokens", error)
    }
}

async fn tokens_page(
    state: &AppState,
    page: Page,
    form: FormState,
    created: Option<Created>,
) -> Result<TokensPage, WebError> {
    Ok(TokensPage {
        page: page.in_section("tokens"),
        tokens: store::list(&state.pool)
            .await?
            .iter()
            .map(Listed::new)
            .collect(),
        form,
        scopes: Scope::ALL,
        created,
        changes: crate::db::changes::latest(&state.pool, CHANGES_PAGE, 10).await?,
    })
}

fn empty_form() -> FormState {
    let mut form = FormState::labelled("tokens");
    form.set("scope", Scope::Read.as_str());
    form
}

async fn list(State(state): State<AppState>, page: Page) -> Result<TokensPage, WebError> {
    tokens_page(&state, page, empty_form(), None).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TokenForm {
    name: String,
    scope: String,
}

async fn create(
    State(state): State<AppState>,
    page: Page,
    Form(input): Form<TokenForm>,
) -> Result<Response, WebError> {
    let lang = page.lang;
    let mut form = FormState::labelled("tokens");
    form.set("name", input.name.trim());
    form.set("scope", input.scope.trim());
    let name = form.check(lang, "name", TokenName::parse(&input.name));
    let scope = form.check(lang, "scope", Scope::parse(&input.scope));
    if let (Some(name), Some(scope)) = (name, scope) {
        let secret = Secret::generate();
        let username = page.user.clone().unwrap_or_default();
        match store::create(&state.pool, &name, scope, &secret, &username).await {
            Ok(id) => {
                tracing::info!(token = id, name = %name.as_str(), scope = %scope, user = %username, "API token created");
                // Shown on this answer only: the secret is not kept, so no later page has it.
                let created = Created {
                    name: name.as_str().to_owned(),
                    secret: secret.expose().to_owned(),
                };
                let page = tokens_page(&state, page, empty_form(), Some(created)).await?;
                return Ok(page.into_response());
            }
            Err(TokenError::DuplicateName) => {
                form.add_error("name", lang.t("tokens.duplicate"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let page = tokens_page(&state, page, form, None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn revoke(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = crate::web::error::id(&id)?;
    let username = page.user.clone().unwrap_or_default();
    if !store::revoke(&state.pool, id, &username).await? {
        return Err(WebError::NotFound);
    }
    tracing::info!(token = id, user = %username, "API token revoked");
    session::set_notice(&session, page.t("tokens.revoked")).await?;
    Ok(Redirect::to("/tokens").into_response())
}
