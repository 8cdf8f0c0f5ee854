//! First-run setup, login and logout, and the gate that sends visitors where they belong.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, Extension, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::Deserialize;
use tower_sessions::Session;

use crate::accounts;
use crate::app::AppState;
use crate::config::Config;
use crate::db::login_failures;
use crate::settings::{NewPassword, Username};
use crate::web::csrf::same;
use crate::web::error::WebError;
use crate::web::form::FormState;
use crate::web::page::Page;
use crate::web::session;
use crate::web::snapshot::Current;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/setup", get(setup_page).post(setup))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
}

/// Paths anyone may open, account or not.
fn is_public(path: &str) -> bool {
    path.starts_with("/static/") || matches!(path, "/healthz" | "/metrics" | "/favicon.ico")
}

/// Middleware: no account yet → everything leads to /setup; not logged in → /login.
pub async fn gate(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Result<Response, WebError> {
    if is_public(request.uri().path()) {
        return Ok(next.run(request).await);
    }
    let snapshot = state.snapshots.current(&state.pool).await?;
    let has_account = snapshot.has_account;
    request.extensions_mut().insert(Current(snapshot));
    let path = request.uri().path();
    if !has_account {
        return Ok(if path == "/setup" {
            next.run(request).await
        } else {
            Redirect::to("/setup").into_response()
        });
    }
    if path == "/setup" {
        return Err(WebError::NotFound);
    }
    if path == "/login" || session::user(&session).await?.is_some() {
        return Ok(next.run(request).await);
    }
    let target = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let login = format!(
        "/login?next={}",
        url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>()
    );
    Ok(Redirect::to(&login).into_response())
}

/// The one-time token first-run setup asks for when the server listens on a network
/// address: whoever reaches the port first must also be able to read the server's log.
#[derive(Clone, Default)]
pub struct SetupToken(Option<Arc<str>>);

impl SetupToken {
    /// Made, and written to the log, when no account exists and the server listens on
    /// anything but loopback; none otherwise.
    pub fn for_server(config: &Config, has_account: bool) -> Self {
        if has_account || config.listen.ip().is_loopback() {
            return Self(None);
        }
        let mut bytes = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let base = match &config.public_url {
            Some(url) => url.as_str().trim_end_matches('/').to_owned(),
            None if config.listen.ip().is_unspecified() => {
                format!("http://<this server's address>:{}", config.listen.port())
            }
            None => format!("http://{}", config.listen),
        };
        tracing::warn!(
            "no account exists yet: create the first one at {base}/setup?token={token} \
             (this server listens on a network address, so setup needs this link)"
        );
        Self(Some(token.into()))
    }

    fn accepts(&self, sent: Option<&str>) -> bool {
        match &self.0 {
            None => true,
            Some(token) => sent.is_some_and(|sent| same(sent.as_bytes(), token.as_bytes())),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "setup.html")]
struct SetupPage {
    page: Page,
    form: FormState,
    /// The one-time token, sent back with the form.
    token: String,
}

/// What setup shows without its one-time link.
#[derive(Template, WebTemplate)]
#[template(path = "setup_locked.html")]
struct SetupLocked {
    page: Page,
    /// A token was given, but not the right one.
    wrong: bool,
}

fn locked(page: Page, sent: Option<&str>) -> Response {
    tracing::warn!(
        token_given = sent.is_some(),
        "first-run setup refused without its one-time link"
    );
    let wrong = sent.is_some();
    (StatusCode::FORBIDDEN, SetupLocked { page, wrong }).into_response()
}

#[derive(Deserialize)]
struct SetupQuery {
    token: Option<String>,
}

async fn setup_page(
    page: Page,
    Extension(setup): Extension<SetupToken>,
    Query(query): Query<SetupQuery>,
) -> Response {
    if !setup.accepts(query.token.as_deref()) {
        return locked(page, query.token.as_deref());
    }
    SetupPage {
        page,
        form: FormState::new(),
        token: query.token.unwrap_or_default(),
    }
    .into_response()
}

#[derive(Deserialize)]
struct SetupForm {
    username: String,
    password: String,
    password_confirm: String,
    #[serde(default)]
    setup_token: Option<String>,
}

async fn setup(
    State(state): State<AppState>,
    Extension(setup): Extension<SetupToken>,
    session: Session,
    page: Page,
    Form(input): Form<SetupForm>,
) -> Result<Response, WebError> {
    if !setup.accepts(input.setup_token.as_deref()) {
        return Ok(locked(page, input.setup_token.as_deref()));
    }
    let token = input.setup_token.clone().unwrap_or_default();
    let lang = page.lang;
    let mut form = FormState::labelled("setup");
    form.set("username", input.username.trim());
    let username = form.check(lang, "username", Username::parse(&input.username));
    let password = form.check(
        lang,
        "password",
        NewPassword::parse(&input.password, input.username.trim()),
    );
    if password.is_some() && input.password != input.password_confirm {
        form.add_error("password_confirm", lang.t("setup.mismatch"));
    }
    let (Some(username), Some(password), false) = (username, password, form.has_errors()) else {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            SetupPage { page, form, token },
        )
            .into_response());
    };
    let user = match accounts::create_first(&state.pool, username.as_str(), password.expose()).await
    {
        Ok(user) => user,
        Err(accounts::AccountError::SetupDone) => return Ok(Redirect::to("/login").into_response()),
        Err(e) => return Err(e.into()),
    };
    tracing::info!(user = %user.username, "first account created");
    session::log_in(&session, &user, state.config.session_lifetime).await?;
    session::set_notice(&session, page.t("setup.done")).await?;
    Ok(Redirect::to("/").into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    page: Page,
    form: FormState,
    next: String,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only local paths are followed after login, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

async fn login_page(page: Page, Query(query): Query<NextQuery>) -> Response {
    if page.user.is_some() {
        return Redirect::to(&safe_next(query.next.as_deref())).into_response();
    }
    LoginPage {
        page,
        form: FormState::new(),
        next: safe_next(query.next.as_deref()),
    }
    .into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// Where a request comes from: its peer, or for a request the trusted reverse proxy relays,
/// the address that proxy added last to `X-Forwarded-For` (the one it received it from).
/// The header is ignored from anyone else, who could write anything in it.
fn client_address(headers: &HeaderMap, peer: IpAddr, trusted_proxy: Option<IpAddr>) -> IpAddr {
    if trusted_proxy != Some(peer) {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .and_then(|address| address.trim().parse().ok())
        .unwrap_or(peer)
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
    page: Page,
    Form(input): Form<LoginForm>,
) -> Result<Response, WebError> {
    let lang = page.lang;
    let username = input.username.trim().to_owned();
    let next = safe_next(input.next.as_deref());
    let mut form = FormState::labelled("login");
    form.set("username", &username);
    let name = username.to_lowercase();
    let client = client_address(&headers, peer.ip(), state.config.trusted_proxy);
    let address = format!("addr:{client}");
    // Guessing from one address is slowed down for that address, and for that name from it.
    let here = [format!("pair:{name}|{client}"), address.clone()];
    let user_subject = format!("user:{name}");
    let subjects = [here[0].clone(), here[1].clone(), user_subject.clone()];
    let now = chrono::Utc::now();

    // Guesses spread over many addresses slow the name down too, but only for addresses
    // that failed before: the admin typing the right password from a clean one gets in.
    let mut wait = login_failures::wait_needed(&state.pool, &here, now).await?;
    if wait.is_none() && login_failures::has_failed(&state.pool, &address, now).await? {
        wait = login_failures::wait_needed(&state.pool, std::slice::from_ref(&user_subject), now)
            .await?;
    }
    if let Some(wait) = wait {
        let seconds = wait.num_seconds().max(1).to_string();
        form.add_error("password", lang.td("login.throttled", &seconds));
        tracing::warn!(user = ?username, addr = %client, "login refused while throttled");
        return Ok((
            StatusCode::TOO_MANY_REQUESTS,
            LoginPage { page, form, next },
        )
            .into_response());
    }
    // Counted before checking, so parallel guesses cannot all slip under the limit.
    login_failures::record_failure(&state.pool, &subjects, now).await?;
    match accounts::check_login(&state.pool, &username, &input.password).await? {
        Some(user) => {
            for subject in &subjects {
                login_failures::clear(&state.pool, subject).await?;
            }
            session::log_in(&session, &user, state.config.session_lifetime).await?;
            tracing::info!(user = %user.username, addr = %client, "logged in");
            Ok(Redirect::to(&next).into_response())
        }
        None => {
            tracing::warn!(user = ?username, addr = %client, "failed login");
            form.add_error("password", lang.t("login.failed"));
            Ok((StatusCode::UNAUTHORIZED, LoginPage { page, form, next }).into_response())
        }
    }
}

async fn logout(session: Session) -> Result<Response, WebError> {
    session::log_out(&session).await?;
    Ok(Redirect::to("/login").into_response())
}

#[cfg(test)]
mod tests {
    use super::{HeaderMap, IpAddr, client_address, safe_next};

    #[test]
    fn only_the_trusted_proxy_says_where_a_request_comes_from() {
        let proxy: IpAddr = [10, 0, 0, 2].into();
        let other: IpAddr = [10, 0, 0, 3].into();
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", "198.51.100.1".parse().expect("value"));
        headers.append(
            "x-forwarded-for",
            "203.0.113.7, 192.0.2.4".parse().expect("value"),
        );
        let client: IpAddr = [192, 0, 2, 4].into();
        assert_eq!(client_address(&headers, proxy, Some(proxy)), client);
        assert_eq!(client_address(&headers, other, Some(proxy)), other);
        assert_eq!(client_address(&headers, proxy, None), proxy);
        assert_eq!(
            client_address(&HeaderMap::new(), proxy, Some(proxy)),
            proxy,
            "nothing forwarded"
        );
    }

    #[test]
    fn login_only_returns_to_local_pages() {
        assert_eq!(safe_next(Some("/sources")), "/sources");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/ /evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
