//! The browser interface: one module per page, assembled here with the layers every
//! request goes through (sessions, language, CSRF, login gate, security headers); the JSON
//! API beside them, which goes through none of the session's layers.

pub mod age_key;
pub mod api;
pub mod assets;
pub mod auth;
pub mod backups;
pub mod bucket;
pub mod charts;
pub mod checklist;
pub mod connections;
pub mod csrf;
pub mod email_account;
pub mod error;
pub mod fixes;
pub mod form;
pub mod health;
pub mod history;
pub mod i18n;
pub mod live;
pub mod notifications;
pub mod overview;
pub mod page;
pub mod pending;
pub mod restore;
pub mod run_again;
pub mod security;
pub mod session;
pub mod settings;
pub mod snapshot;
pub mod sources;
pub mod tokens;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::session_store::ExpiredDeletion;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::SqliteStore;

use crate::app::AppState;

pub async fn router(state: AppState, setup: auth::SetupToken) -> Result<Router, sqlx::Error> {
    let store = SqliteStore::new(state.pool.clone());
    store.migrate().await?;
    tokio::spawn(
        store
            .clone()
            .continuously_delete_expired(tokio::time::Duration::from_secs(3600)),
    );
    let sessions = SessionManagerLayer::new(store)
        .with_name("s3backup_session")
        .with_secure(state.config.behind_https)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(12)));

    let pages = Router::new()
        .merge(overview::router())
        .merge(auth::router())
        .merge(settings::router())
        .merge(email_account::router())
        .merge(sources::router())
        .merge(backups::router())
        .merge(restore::router())
        .merge(tokens::router())
        .merge(notifications::router())
        .merge(health::router())
        .merge(assets::router())
        .fallback(error::not_found)
        .layer(from_fn_with_state(state.clone(), auth::gate))
        .layer(from_fn_with_state(
            csrf::Signer::new(&state.key, state.config.behind_https),
            csrf::verify,
        ))
        .layer(from_fn_with_state(state.clone(), error::pages))
        .layer(from_fn(i18n::negotiate))
        .layer(sessions);
    // Tokens only: a session cookie is never read there, so CSRF has nothing to protect.
    Ok(Router::new()
        .nest(api::MOUNT, api::router(&state))
        .merge(pages)
        .layer(from_fn_with_state(state.clone(), security::headers))
        .layer(TraceLayer::new_for_http())
        .layer(axum::Extension(setup))
        .with_state(state))
}
