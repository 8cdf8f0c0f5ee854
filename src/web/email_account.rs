//! The e-mail account page: the SMTP server notifications are sent through.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tower_sessions::Session;

use crate::app::AppState;
use crate::crypto::Slot;
use crate::db::changes::{self, Change};
use crate::db::checks::Check;
use crate::db::email_account::{self as store, StoredEmailAccount};
use crate::settings::{
    EmailList, RetypeSecret, SecretDestination, SecretKey, Sender, SmtpHost, SmtpPort,
    SmtpSecurity, StoredSecret, resolve_secret,
};
use crate::web::error::WebError;
use crate::web::form::FormState;
use crate::web::page::Page;
use crate::web::session;

pub use crate::notify::PASSWORD_PURPOSE;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/email-account", get(show).post(save))
        .route("/email-account/test", post(send_test))
}

#[derive(Template, WebTemplate)]
#[template(path = "email_account.html")]
pub struct EmailAccountPage {
    pub page: Page,
    pub form: FormState,
    pub has_password: bool,
    pub changes: Vec<Change>,
    pub securities: &'static [&'static str],
    /// The answer of "Send test e-mail": whether it was sent, and what happened.
    pub test_result: Option<(bool, String)>,
    /// `S3BACKUP_PUBLIC_URL` is not set: links in mail cannot point at the app.
    pub public_url_missing: bool,
}

impl EmailAccountPage {
    pub async fn build(
        state: &AppState,
        page: Page,
        form: FormState,
        has_password: bool,
    ) -> Result<Self, WebError> {
        Ok(Self {
            page: page.in_section("email"),
            form,
            has_password,
            changes: changes::latest(&state.pool, "email_account", 10).await?,
            securities: &["starttls", "tls", "none"],
            test_result: None,
            public_url_missing: state.config.public_url.is_none(),
        })
    }
}

pub fn form_from_stored(stored: &StoredEmailAccount) -> FormState {
    let mut form = FormState::labelled("email");
    form.set("smtp_host", &stored.smtp_host);
    form.set("smtp_port", stored.smtp_port.to_string());
    form.set("smtp_security", &stored.smtp_security);
    form.set("smtp_username", &stored.smtp_username);
    form.set("sender", &stored.sender);
    form
}

async fn show(State(state): State<AppState>, page: Page) -> Result<EmailAccountPage, WebError> {
    let stored = store::load(&state.pool).await?;
    let mut form = form_from_stored(&stored);
    // The test e-mail goes to the notification addresses unless the admin types others.
    let settings = crate::db::settings::load(&state.pool).await?;
    form.set("test_recipient", settings.notify_email.to_string());
    EmailAccountPage::build(&state, page, form, stored.has_password()).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EmailAccountForm {
    pub smtp_host: String,
    pub smtp_port: String,
    pub smtp_security: String,
    pub smtp_username: String,
    pub smtp_password: String,
    pub remove_password: Option<String>,
    pub sender: String,
    /// Where "Send test e-mail" sends to; blank: the notification addresses.
    pub test_recipient: String,
}

impl EmailAccountForm {
    pub fn echo(&self) -> FormState {
        let mut form = FormState::labelled("email");
        form.set("smtp_host", &self.smtp_host);
        form.set("smtp_port", &self.smtp_port);
        form.set("smtp_security", &self.smtp_security);
        form.set("smtp_username", &self.smtp_username);
        form.set_flag("remove_password", self.remove_password.is_some());
        form.set("sender", &self.sender);
        form.set("test_recipient", self.test_recipient.trim());
        form
    }

    /// Parses the form into the row to store; `None` with messages in `form` otherwise.
    pub fn parse(
        &self,
        previous: &StoredEmailAccount,
        key: &crate::crypto::MasterKey,
        lang: crate::web::i18n::Lang,
        form: &mut FormState,
    ) -> Result<Option<StoredEmailAccount>, crate::crypto::CryptoError> {
        let host = form.check(lang, "smtp_host", SmtpHost::parse(&self.smtp_host));
        let security = form.check(
            lang,
            "smtp_security",
            SmtpSecurity::parse(&self.smtp_security),
        );
        let port = if self.smtp_port.trim().is_empty() {
            security.map(|s| s.default_port().get())
        } else {
            form.check(lang, "smtp_port", SmtpPort::parse(&self.smtp_port))
                .map(|p| p.get())
        };
        let sender = form.check(lang, "sender", Sender::parse(&self.sender));
        let new_password = if self.smtp_password.is_empty() {
            None
        } else {
            form.check(lang, "smtp_password", SecretKey::parse(&self.smtp_password))
        };
        let (Some(host), Some(security), Some(port), Some(sender), false) =
            (host, security, port, sender, form.has_errors())
        else {
            return Ok(None);
        };
        // The stored password only ever goes to the server it was typed for, over the same
        // protection.
        let destination = |host: &str, port: i64, security: &str, user: &str| {
            SecretDestination::new()
                .part("host", host)
                .part("port", port)
                .part("security", security)
                .part("user", user)
        };
        let stored_for = destination(
            &previous.smtp_host,
            previous.smtp_port,
            &previous.smtp_security,
            &previous.smtp_username,
        );
        let now_for = destination(
            host.as_str(),
            i64::from(port),
            security.as_str(),
            self.smtp_username.trim(),
        );
        let change = match (new_password, self.remove_password.is_some()) {
            (Some(password), _) => {
                StoredSecret::Replace(key.seal(&Slot::single(PASSWORD_PURPOSE), password.expose())?)
            }
            (None, true) => StoredSecret::Remove,
            (None, false) => StoredSecret::Keep,
        };
        let smtp_password = match resolve_secret(
            change,
            previous.smtp_password.as_ref(),
            Some(&stored_for),
            &now_for,
        ) {
            Ok(password) => password,
            Err(RetypeSecret) => {
                form.add_error("smtp_password", lang.t("email.password_retype"));
                return Ok(None);
            }
        };
        Ok(Some(StoredEmailAccount {
            smtp_host: host.as_str().to_owned(),
            smtp_port: i64::from(port),
            smtp_security: security.as_str().to_owned(),
            smtp_username: self.smtp_username.trim().to_owned(),
            smtp_password,
            sender: sender.to_string(),
            updated_at: previous.updated_at,
        }))
    }
}

async fn save(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Form(input): Form<EmailAccountForm>,
) -> Result<Response, WebError> {
    let stored = store::load(&state.pool).await?;
    let mut form = input.echo();
    let Some(new) = input.parse(&stored, &state.key, page.lang, &mut form)? else {
        let page = EmailAccountPage::build(&state, page, form, stored.has_password()).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let username = page.user.clone().unwrap_or_default();
    let changed = store::save(&state.pool, &new, &username).await?;
    tracing::info!(user = %username, fields = ?changed, "e-mail account saved");
    let notice = if changed.is_empty() {
        "settings.unchanged"
    } else {
        "settings.saved"
    };
    session::set_notice(&session, page.t(notice)).await?;
    Ok(Redirect::to("/email-account").into_response())
}

/// "Send test e-mail": sends through the form's current values (a blank password keeps the
/// stored one) to the addresses typed beside the button, or else the notification
/// addresses, and says precisely what went wrong.
async fn send_test(
    State(state): State<AppState>,
    page: Page,
    Form(input): Form<EmailAccountForm>,
) -> Result<Response, WebError> {
    let stored = store::load(&state.pool).await?;
    let lang = page.lang;
    let mut form = input.echo();
    let parsed = input.parse(&stored, &state.key, lang, &mut form)?;
    let recipients = if input.test_recipient.trim().is_empty() {
        Some(crate::db::settings::load(&state.pool).await?.notify_email)
    } else {
        form.check(
            lang,
            "test_recipient",
            EmailList::parse(&input.test_recipient),
        )
    };
    let result = match (parsed, recipients) {
        (None, _) | (_, None) => None,
        (Some(account), Some(recipients)) => {
            Some(test_to(&state, &account, &recipients, lang).await)
        }
    };
    let status = if result.as_ref().is_some_and(|(ok, _)| *ok) {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut page = EmailAccountPage::build(&state, page, form, stored.has_password()).await?;
    page.test_result = result;
    Ok((status, page).into_response())
}

/// Sends the test e-mail through `account` to `recipients`: whether it went, and the
/// sentence saying so or what went wrong.
async fn test_to(
    state: &AppState,
    account: &StoredEmailAccount,
    recipients: &EmailList,
    lang: crate::web::i18n::Lang,
) -> (bool, String) {
    if recipients.is_empty() {
        return (false, lang.t("email.no_recipients"));
    }
    match crate::notify::send_test_with_form(
        account,
        &state.key,
        recipients,
        lang.code(),
        &state.mail_options,
    )
    .await
    {
        Ok(()) => {
            let fingerprint = crate::web::checklist::email_fingerprint(account);
            crate::web::checklist::record(&state.pool, Check::EmailAccount, &fingerprint).await;
            (true, lang.td("notify.test.sent", &recipients.to_string()))
        }
        Err(problem) => {
            tracing::info!(problem = %problem.key(), "test e-mail not sent");
            (false, problem.message(lang.code()))
        }
    }
}
