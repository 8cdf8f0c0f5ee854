//! The notifications page: the channels beside e-mail (webhook, Slack, Discord, ntfy,
//! ping), added with the events each is told, removed, and tried with "Send test". Their
//! URLs and tokens are never shown back; a webhook's signing secret is shown once.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, RawForm, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tower_sessions::Session;

use crate::app::AppState;
use crate::db::channels::{self as store, ChannelsError, NewChannel};
use crate::notify::channels::{ChannelEvent, ChannelKind, ChannelName, EventSet, HookUrl};
use crate::web::error::WebError;
use crate::web::form::FormState;
use crate::web::page::Page;
use crate::web::session;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(list).post(create))
        .route("/notifications/{id}/remove", post(remove))
        .route("/notifications/{id}/test", post(test))
}

/// A channel as a row of the list: its URL masked, never its secrets.
struct Listed {
    id: i64,
    name: String,
    kind: String,
    shown: String,
    events: Vec<String>,
}

/// The channel just added, on the one answer that shows its signing secret.
struct Created {
    name: String,
    secret: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    page: Page,
    channels: Vec<Listed>,
    form: FormState,
    kinds: [ChannelKind; 5],
    events: [ChannelEvent; 5],
    chosen: Vec<String>,
    created: Option<Created>,
    changes: Vec<crate::db::changes::Change>,
}

impl NotificationsPage {
    fn is_chosen(&self, event: &ChannelEvent) -> bool {
        self.chosen.iter().any(|chosen| chosen == event.as_str())
    }
}

impl From<ChannelsError> for WebError {
    fn from(error: ChannelsError) -> Self {
        Self::internal("notification channels", error)
    }
}

async fn render(
    state: &AppState,
    page: Page,
    form: FormState,
    chosen: Vec<String>,
    created: Option<Created>,
) -> Result<NotificationsPage, WebError> {
    let lang = page.lang;
    let channels = store::list(&state.pool)
        .await?
        .into_iter()
        .map(|channel| Listed {
            id: channel.id,
            events: EventSet::from_stored(&channel.events)
                .iter()
                .map(|event| lang.t(&format!("channels.event.{event}")))
                .collect(),
            name: channel.name,
            kind: channel.kind,
            shown: channel.url_shown,
        })
        .collect();
    Ok(NotificationsPage {
        page: page.in_section("notifications"),
        channels,
        form,
        kinds: ChannelKind::ALL,
        events: ChannelEvent::CHOICES,
        chosen,
        created,
        changes: crate::db::changes::latest(&state.pool, store::CHANGES_PAGE, 10).await?,
    })
}

fn empty_form() -> FormState {
    let mut form = FormState::labelled("channels");
    form.set("kind", ChannelKind::Webhook.as_str());
    form
}

fn default_events() -> Vec<String> {
    vec![ChannelEvent::BackupFailed.as_str().to_owned()]
}

async fn list(State(state): State<AppState>, page: Page) -> Result<NotificationsPage, WebError> {
    render(&state, page, empty_form(), default_events(), None).await
}

async fn create(
    State(state): State<AppState>,
    page: Page,
    RawForm(body): RawForm,
) -> Result<Response, WebError> {
    let lang = page.lang;
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let value = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim().to_owned())
            .unwrap_or_default()
    };
    let chosen: Vec<String> = fields
        .iter()
        .filter(|(key, _)| key == "events")
        .map(|(_, value)| value.clone())
        .collect();
    let mut form = FormState::labelled("channels");
    // The URL and token are secrets: the form keeps the name and kind, never them.
    form.set("name", value("name"));
    form.set("kind", value("kind"));
    let name = form.check(lang, "name", ChannelName::parse(&value("name")));
    let kind = form.check(lang, "kind", ChannelKind::parse(&value("kind")));
    let url = form.check(lang, "url", HookUrl::parse(&value("url")));
    let events = form.check(
        lang,
        "events",
        EventSet::parse(chosen.iter().map(String::as_str)),
    );
    let token = Some(value("token")).filter(|token| !token.is_empty());
    let (Some(name), Some(kind), Some(url), Some(events)) = (name, kind, url, events) else {
        let page = render(&state, page, form, chosen, None).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let secret = kind.is_signed().then(crate::notify::channels::new_secret);
    let token = token.filter(|_| kind == ChannelKind::Ntfy);
    let id = store::create(
        &state.pool,
        &state.key,
        &NewChannel {
            name: name.as_str(),
            kind: kind.as_str(),
            url: url.as_str(),
            url_shown: &url.masked(),
            token: token.as_deref(),
            secret: secret.as_deref(),
            events: &events.to_stored(),
        },
        page.user.as_deref().unwrap_or_default(),
    )
    .await?;
    tracing::info!(channel = id, kind = %kind, "notification channel added");
    // Shown on this answer only: no later page shows it.
    let created = secret.map(|secret| Created {
        name: name.as_str().to_owned(),
        secret,
    });
    let mut page = page;
    if created.is_none() {
        page.notice = Some(session::Notice {
            text: page.t("channels.added"),
            is_error: false,
        });
    }
    let page = render(&state, page, empty_form(), default_events(), created).await?;
    Ok(page.into_response())
}

async fn remove(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = crate::web::error::id(&id)?;
    if !store::remove(&state.pool, id, page.user.as_deref().unwrap_or_default()).await? {
        return Err(WebError::NotFound);
    }
    tracing::info!(channel = id, "notification channel removed");
    session::set_notice(&session, page.t("channels.removed")).await?;
    Ok(Redirect::to("/notifications").into_response())
}

async fn test(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = crate::web::error::id(&id)?;
    let channel = store::get(&state.pool, id)
        .await?
        .ok_or(WebError::NotFound)?;
    match state
        .notifier
        .channels()
        .send_test(&channel, page.lang)
        .await
    {
        Ok(status) => {
            let text = crate::lang::Message::new("channels.test_sent")
                .with("name", &channel.name)
                .with("status", status)
                .render(page.lang);
            session::set_notice(&session, text).await?;
        }
        Err(problem) => {
            let text = crate::lang::Message::new("channels.test_failed")
                .with("name", &channel.name)
                .render(page.lang);
            let text = format!("{text} {}", problem.to_message().render(page.lang));
            session::set_error(&session, text).await?;
        }
    }
    Ok(Redirect::to("/notifications").into_response())
}
