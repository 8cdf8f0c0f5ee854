//! The key pair the app generates for age encryption: made and shown once, with its recovery
//! key file to download, then put to use only when the admin confirms they saved it. From
//! then on the secret key is kept sealed and never shown again.

use age::secrecy::ExposeSecret;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use serde::Deserialize;
use tower_sessions::Session;

use crate::app::AppState;
use crate::crypto::{MasterKey, Slot, purpose};
use crate::db::settings as store;
use crate::settings::{Identity, Settings};
use crate::web::error::WebError;
use crate::web::page::Page;
use crate::web::session;

/// How the recovery key file is given: a download, with its name.
const RECOVERY_FILE: &str = "attachment; filename=\"s3-backup-recovery-key.txt\"";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/encryption/generate", post(generate))
        .route("/settings/encryption/recovery-key", post(recovery_key))
        .route("/settings/encryption/confirm", post(confirm))
}

#[derive(Template, WebTemplate)]
#[template(path = "age_key.html")]
struct KeyPage {
    page: Page,
    /// The new public key.
    public_key: String,
    /// The recovery key file's text: the one time it is shown.
    file: String,
    /// The confirmation was sent without its box checked.
    unconfirmed: bool,
}

impl KeyPage {
    fn new(page: Page, identity: &Identity, unconfirmed: bool) -> Self {
        Self {
            page: page.in_section("settings"),
            public_key: identity.recipients().to_string(),
            file: identity.to_file().expose_secret().to_owned(),
            unconfirmed,
        }
    }
}

/// The key pair generated and not yet confirmed, opened.
fn pending(settings: &Settings, key: &MasterKey) -> Result<Option<Identity>, WebError> {
    let Some(sealed) = &settings.sealed_pending_age_identity else {
        return Ok(None);
    };
    let text = key
        .open(&Slot::single(purpose::PENDING_AGE_IDENTITY), sealed)
        .map_err(|e| WebError::internal("opening the new key pair", e))?;
    Identity::parse(&text)
        .map(Some)
        .map_err(|e| WebError::internal("reading the new key pair", e))
}

/// Makes a key pair, keeps it sealed as pending (replacing one not confirmed) and shows it.
async fn generate(State(state): State<AppState>, page: Page) -> Result<Response, WebError> {
    let identity = Identity::generate();
    let sealed = state.key.seal(
        &Slot::single(purpose::PENDING_AGE_IDENTITY),
        identity.to_file().expose_secret(),
    )?;
    let username = page.user.clone().unwrap_or_default();
    store::update(&state.pool, &username, |old| {
        Ok::<_, std::convert::Infallible>((
            Settings {
                sealed_pending_age_identity: Some(sealed),
                ..old.clone()
            },
            (),
        ))
    })
    .await?
    .unwrap_or_else(|never| match never {});
    tracing::info!(user = %username, public_key = %identity.recipients(), "age key pair generated");
    Ok(KeyPage::new(page, &identity, false).into_response())
}

/// The pending key pair as a file to save; once confirmed, there is none to give.
async fn recovery_key(State(state): State<AppState>, page: Page) -> Result<Response, WebError> {
    let settings = store::load(&state.pool).await?;
    let Some(identity) = pending(&settings, &state.key)? else {
        return Err(WebError::NotFound);
    };
    tracing::info!(user = ?page.user, "recovery key downloaded");
    let mut response = identity
        .to_file()
        .expose_secret()
        .to_owned()
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(RECOVERY_FILE),
    );
    Ok(response)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ConfirmForm {
    /// The box "I have saved the recovery key".
    saved: Option<String>,
}

/// Puts the pending key pair to use: new backups are encrypted for it (beside the other
/// recipients, in place of the app's previous key), and the app keeps its older key pairs to
/// read older backups.
async fn confirm(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, WebError> {
    let settings = store::load(&state.pool).await?;
    let Some(identity) = pending(&settings, &state.key)? else {
        // Confirmed already (a second tab, a resent form): nothing left to confirm.
        session::set_notice(&session, page.t("age_key.none_pending")).await?;
        return Ok(Redirect::to("/settings").into_response());
    };
    if form.saved.is_none() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            KeyPage::new(page, &identity, true),
        )
            .into_response());
    }
    let username = page.user.clone().unwrap_or_default();
    let key = &state.key;
    let saved = store::update(&state.pool, &username, |old| {
        // Read again under the write lock: another key may have been generated since.
        let Some(new) = pending(old, key)? else {
            return Ok((old.clone(), false));
        };
        let older = crate::jobs::app_identity(old, key)
            .map_err(|e| WebError::internal("opening the app's key pairs", e))?;
        let recipients = match (&old.age_recipients, &older) {
            (Some(listed), Some(older)) => listed.without(&older.recipients()),
            (listed, None) => listed.clone(),
            (None, Some(_)) => None,
        }
        .map_or_else(
            || new.recipients(),
            |others| others.after(&new.recipients()),
        );
        let identity = match &older {
            Some(older) => new.with_older(older),
            None => new,
        };
        let sealed = key.seal(
            &Slot::single(purpose::AGE_IDENTITY),
            identity.to_file().expose_secret(),
        )?;
        Ok::<_, WebError>((
            Settings {
                encrypt_backups: true,
                age_recipients: Some(recipients),
                sealed_age_identity: Some(sealed),
                sealed_pending_age_identity: None,
                ..old.clone()
            },
            true,
        ))
    })
    .await??;
    if saved.value {
        tracing::info!(user = %username, public_key = %identity.recipients(), "age key pair put to use");
        session::set_notice(&session, page.t("age_key.confirmed")).await?;
    } else {
        session::set_notice(&session, page.t("age_key.none_pending")).await?;
    }
    Ok(Redirect::to("/settings").into_response())
}
