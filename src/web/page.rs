//! What every page's layout needs: language, user, CSRF token, and the current path.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tower_sessions::Session;

use crate::app::AppState;
use crate::web::csrf::VisitorToken;
use crate::web::error::WebError;
use crate::web::i18n::Lang;
use crate::web::session;
use crate::web::snapshot::{Current, Snapshot};

pub struct Page {
    pub lang: Lang,
    pub user: Option<String>,
    pub csrf: String,
    /// Which navigation entry is the current page.
    pub section: &'static str,
    /// A message shown once after a redirect (e.g. "Saved.").
    pub notice: Option<session::Notice>,
    /// The alert shown on every page while backups are overdue.
    pub banner: Option<String>,
    /// The alert shown on every page while the latest verification failed: its text and
    /// its run.
    pub verify_banner: Option<(String, i64)>,
}

impl Page {
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }

    /// The text of `prefix.value`, e.g. `status.success`.
    pub fn tp(&self, prefix: &str, value: impl std::fmt::Display) -> String {
        self.lang.t(&format!("{prefix}.{value}"))
    }

    pub fn td(&self, key: &str, detail: &str) -> String {
        self.lang.td(key, detail)
    }

    pub fn in_section(mut self, section: &'static str) -> Self {
        self.section = section;
        self
    }
}

impl Page {
    /// The page of a request in `lang` within `session`; `visitor` is the form token of
    /// a reader who is not logged in.
    /// `snapshot` is the request's state of the backups when it was read already.
    pub async fn load(
        state: &AppState,
        lang: Lang,
        session: &Session,
        visitor: Option<&VisitorToken>,
        snapshot: Option<Arc<Snapshot>>,
    ) -> Result<Page, WebError> {
        let user = session::user(session).await?.map(|u| u.username);
        // No session is stored for a visitor: their token lives in a cookie.
        let csrf = match (&user, visitor) {
            (Some(_), _) => session::csrf_token(session).await?,
            (None, Some(visitor)) => visitor.show(),
            (None, None) => String::new(),
        };
        let notice = session::take_notice(session).await?;
        if user.is_some() {
            session::keep_alive(session).await?;
        }
        let (banner, verify_banner) = match user {
            Some(_) => {
                let snapshot = match snapshot {
                    Some(snapshot) => snapshot,
                    None => state.snapshots.current(&state.pool).await?,
                };
                (
                    snapshot.overdue_banner(chrono::Utc::now(), lang.code()),
                    verify_banner(&snapshot, lang),
                )
            }
            None => (None, None),
        };
        Ok(Page {
            lang,
            user,
            csrf,
            section: "",
            notice,
            banner,
            verify_banner,
        })
    }
}

impl FromRequestParts<AppState> for Page {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::from_request_parts(parts, state)
            .await
            .unwrap_or(Lang::EN);
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, msg)| WebError::internal("loading the session", msg))?;
        let visitor = parts.extensions.get::<VisitorToken>().cloned();
        let snapshot = parts.extensions.get::<Current>().map(|c| c.0.clone());
        Page::load(state, lang, &session, visitor.as_ref(), snapshot).await
    }
}

/// The failed-verification alert in `lang`, while the latest verification failed.
fn verify_banner(snapshot: &Snapshot, lang: Lang) -> Option<(String, i64)> {
    snapshot.failed_verification().map(|run| {
        let folder = run
            .folder
            .as_deref()
            .and_then(|key| key.rsplit('/').next())
            .unwrap_or("?")
            .to_owned();
        (lang.td("verify.banner", &folder), run.id)
    })
}
