//! The S3 Backup Settings page: the form, its validation, and saving it.

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
use crate::db::changes::{self, Change};
use crate::db::settings::{self as store, StoredSettings};
use crate::settings::{
    AccessKeyId, BackupLimit, BucketName, CronExpr, EmailList, Endpoint, Frequency, Invalid,
    KeyPrefix, MonthDay, Region, SecretKey, TimeOfDay, TimeZone, Weekday,
};
use crate::web::error::WebError;
use crate::web::form::FormState;
use crate::web::i18n::Lang;
use crate::web::page::Page;
use crate::web::session;

use crate::crypto::purpose::S3_SECRET_KEY as SECRET_PURPOSE;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(show).post(save))
        .route("/settings/test-connection", post(test_connection))
}

#[derive(Template, WebTemplate)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    pub page: Page,
    pub form: FormState,
    pub has_secret: bool,
    /// The form comes back after a secret was typed: it is not shown again, so say so.
    pub secret_typed: bool,
    pub changes: Vec<Change>,
    pub frequencies: &'static [&'static str],
    pub weekdays: &'static [&'static str],
    pub regions: &'static [&'static str],
    pub timezones: Vec<&'static str>,
    /// The next automatic backup, in the settings' time zone.
    pub next_run: Option<String>,
    /// The answer of "Test connection", when the page shows one.
    pub connection: Option<ConnectionResult>,
}

/// What "Test connection" found.
pub struct ConnectionResult {
    pub ok: bool,
    pub messages: Vec<String>,
}

const FREQUENCIES: [&str; 6] = ["none", "hourly", "daily", "weekly", "monthly", "cron"];
const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
/// Suggestions only: any region the provider names is accepted.
const REGIONS: [&str; 20] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "eu-south-1",
    "ap-southeast-1",
    "ap-northeast-1",
    "fr-par",
    "nl-ams",
    "pl-waw",
    "gra",
    "sbg",
    "eu-central-003",
    "auto",
];

impl SettingsPage {
    async fn build(
        state: &AppState,
        page: Page,
        form: FormState,
        has_secret: bool,
    ) -> Result<Self, WebError> {
        Ok(Self {
            page: page.in_section("settings"),
            form,
            has_secret,
            secret_typed: false,
            changes: changes::latest(&state.pool, "settings", 10).await?,
            frequencies: &FREQUENCIES,
            weekdays: &WEEKDAYS,
            regions: &REGIONS,
            timezones: chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect(),
            connection: None,
            next_run: next_run_text(state).await?,
        })
    }
}

/// When the scheduler will start the next backup, shown in the settings' time zone.
pub async fn next_run_text(state: &AppState) -> Result<Option<String>, WebError> {
    let Some(next) = state.scheduler.next_run() else {
        return Ok(None);
    };
    let stored = store::load(&state.pool).await?;
    let tz = TimeZone::parse(&stored.timezone).unwrap_or_default().tz();
    Ok(Some(
        next.with_timezone(&tz)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string(),
    ))
}

/// The form as the stored settings show it.
fn form_from_stored(stored: &StoredSettings) -> FormState {
    let mut form = FormState::new();
    form.set_flag("enabled", stored.enabled);
    form.set("access_key_id", &stored.access_key_id);
    form.set("notify_email", &stored.notify_email);
    form.set_flag(
        "send_email_for_successful_backup",
        stored.send_email_for_successful_backup,
    );
    form.set("bucket", &stored.bucket);
    form.set("endpoint_url", &stored.endpoint_url);
    form.set("region", &stored.region);
    form.set_flag("path_style", stored.path_style);
    form.set("backup_path", &stored.backup_path);
    form.set("frequency", &stored.frequency);
    form.set("backup_time", &stored.backup_time);
    form.set("backup_weekday", &stored.backup_weekday);
    form.set("backup_monthday", stored.backup_monthday.to_string());
    form.set("cron", &stored.cron);
    form.set("timezone", &stored.timezone);
    form.set_flag("backup_files", stored.backup_files);
    form.set("backup_limit", stored.backup_limit.to_string());
    form
}

async fn show(State(state): State<AppState>, page: Page) -> Result<SettingsPage, WebError> {
    let stored = store::load(&state.pool).await?;
    SettingsPage::build(&state, page, form_from_stored(&stored), stored.has_secret()).await
}

/// The form as posted. Every field defaults, so a missing field is a validation
/// message, never a rejected request.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SettingsForm {
    pub enabled: Option<String>,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub remove_secret: Option<String>,
    pub notify_email: String,
    pub send_email_for_successful_backup: Option<String>,
    pub bucket: String,
    pub endpoint_url: String,
    pub region: String,
    pub path_style: Option<String>,
    pub backup_path: String,
    pub frequency: String,
    pub backup_time: String,
    pub backup_weekday: String,
    pub backup_monthday: String,
    pub cron: String,
    pub timezone: String,
    pub backup_files: Option<String>,
    pub backup_limit: String,
}

impl SettingsForm {
    /// What the user typed, to show again (never the secret).
    fn echo(&self) -> FormState {
        let mut form = FormState::new();
        form.set_flag("enabled", self.enabled.is_some());
        form.set("access_key_id", &self.access_key_id);
        form.set_flag("remove_secret", self.remove_secret.is_some());
        form.set("notify_email", &self.notify_email);
        form.set_flag(
            "send_email_for_successful_backup",
            self.send_email_for_successful_backup.is_some(),
        );
        form.set("bucket", &self.bucket);
        form.set("endpoint_url", &self.endpoint_url);
        form.set("region", &self.region);
        form.set_flag("path_style", self.path_style.is_some());
        form.set("backup_path", &self.backup_path);
        form.set("frequency", &self.frequency);
        form.set("backup_time", &self.backup_time);
        form.set("backup_weekday", &self.backup_weekday);
        form.set("backup_monthday", &self.backup_monthday);
        form.set("cron", &self.cron);
        form.set("timezone", &self.timezone);
        form.set_flag("backup_files", self.backup_files.is_some());
        form.set("backup_limit", &self.backup_limit);
        form
    }
}

/// What to do with the stored secret on save.
pub enum SecretChange {
    Keep,
    Replace(SecretKey),
    Remove,
}

/// The whole form parsed: every value a domain type.
pub struct ValidSettings {
    pub enabled: bool,
    pub access_key_id: Option<AccessKeyId>,
    pub secret: SecretChange,
    pub notify_email: EmailList,
    pub send_email_for_successful_backup: bool,
    pub bucket: Option<BucketName>,
    pub endpoint: Endpoint,
    pub region: Region,
    pub path_style: bool,
    pub prefix: KeyPrefix,
    pub frequency: Frequency,
    pub time: TimeOfDay,
    pub weekday: Weekday,
    pub monthday: MonthDay,
    pub cron: Option<CronExpr>,
    pub timezone: TimeZone,
    pub backup_files: bool,
    pub backup_limit: BackupLimit,
}

fn optional<T>(
    input: &str,
    parse: impl FnOnce(&str) -> Result<T, Invalid>,
) -> Result<Option<T>, Invalid> {
    if input.trim().is_empty() {
        Ok(None)
    } else {
        parse(input).map(Some)
    }
}

/// Parses the form; on failure `form` holds a message for each bad field.
pub fn parse_form(
    input: &SettingsForm,
    has_stored_secret: bool,
    lang: Lang,
    form: &mut FormState,
) -> Option<ValidSettings> {
    let enabled = input.enabled.is_some();
    let required = Invalid::new("invalid.required");
    let access_key_id = form
        .check(
            lang,
            "access_key_id",
            optional(&input.access_key_id, AccessKeyId::parse),
        )
        .flatten();
    let new_secret = form
        .check(
            lang,
            "secret_access_key",
            optional(&input.secret_access_key, SecretKey::parse),
        )
        .flatten();
    let secret = match (new_secret, input.remove_secret.is_some()) {
        (Some(secret), _) => SecretChange::Replace(secret),
        (None, true) => SecretChange::Remove,
        (None, false) => SecretChange::Keep,
    };
    let notify_email = form.check(lang, "notify_email", EmailList::parse(&input.notify_email));
    let bucket = form
        .check(lang, "bucket", optional(&input.bucket, BucketName::parse))
        .flatten();
    let endpoint = form.check(lang, "endpoint_url", Endpoint::parse(&input.endpoint_url));
    let region = form.check(lang, "region", Region::parse(&input.region));
    let prefix = form.check(lang, "backup_path", KeyPrefix::parse(&input.backup_path));
    let frequency = form.check(lang, "frequency", Frequency::parse(&input.frequency));
    let time = form.check(lang, "backup_time", TimeOfDay::parse(&input.backup_time));
    let weekday = form.check(
        lang,
        "backup_weekday",
        Weekday::parse(&input.backup_weekday),
    );
    let monthday = form.check(
        lang,
        "backup_monthday",
        MonthDay::parse(&input.backup_monthday),
    );
    let cron = if frequency == Some(Frequency::Cron) {
        form.check(lang, "cron", CronExpr::parse(&input.cron))
    } else {
        None
    };
    let timezone = form.check(lang, "timezone", TimeZone::parse(&input.timezone));
    let backup_limit = form.check(
        lang,
        "backup_limit",
        BackupLimit::parse(&input.backup_limit),
    );

    if enabled {
        if access_key_id.is_none() && input.access_key_id.trim().is_empty() {
            form.add_error("access_key_id", required.message(lang.code()));
        }
        let secret_left = match secret {
            SecretChange::Replace(_) => true,
            SecretChange::Remove => false,
            SecretChange::Keep => has_stored_secret,
        };
        if !secret_left && input.secret_access_key.trim().is_empty() {
            form.add_error("secret_access_key", required.message(lang.code()));
        }
        if notify_email.as_ref().is_some_and(EmailList::is_empty) {
            form.add_error("notify_email", required.message(lang.code()));
        }
        if bucket.is_none() && input.bucket.trim().is_empty() {
            form.add_error("bucket", required.message(lang.code()));
        }
        if frequency == Some(Frequency::None) {
            form.add_error("frequency", lang.t("settings.frequency_required"));
        }
    }
    if form.has_errors() {
        return None;
    }
    Some(ValidSettings {
        enabled,
        access_key_id,
        secret,
        notify_email: notify_email?,
        send_email_for_successful_backup: input.send_email_for_successful_backup.is_some(),
        bucket,
        endpoint: endpoint?,
        region: region?,
        path_style: input.path_style.is_some(),
        prefix: prefix?,
        frequency: frequency?,
        time: time?,
        weekday: weekday?,
        monthday: monthday?,
        cron,
        timezone: timezone?,
        backup_files: input.backup_files.is_some(),
        backup_limit: backup_limit?,
    })
}

impl ValidSettings {
    /// The row to store, sealing a new secret; `raw_cron` keeps an unused expression.
    pub fn to_stored(
        &self,
        previous: &StoredSettings,
        key: &crate::crypto::MasterKey,
        raw_cron: &str,
    ) -> Result<StoredSettings, crate::crypto::CryptoError> {
        let secret_access_key = match &self.secret {
            SecretChange::Keep => previous.secret_access_key.clone(),
            SecretChange::Remove => None,
            SecretChange::Replace(secret) => Some(key.seal(SECRET_PURPOSE, secret.expose())?),
        };
        Ok(StoredSettings {
            enabled: self.enabled,
            access_key_id: self
                .access_key_id
                .as_ref()
                .map(|k| k.as_str().to_owned())
                .unwrap_or_default(),
            secret_access_key,
            notify_email: self.notify_email.to_string(),
            send_email_for_successful_backup: self.send_email_for_successful_backup,
            bucket: self
                .bucket
                .as_ref()
                .map(|b| b.as_str().to_owned())
                .unwrap_or_default(),
            endpoint_url: self.endpoint.as_str().to_owned(),
            region: self.region.as_str().to_owned(),
            path_style: self.path_style,
            backup_path: self.prefix.as_str().to_owned(),
            frequency: self.frequency.as_str().to_owned(),
            backup_time: self.time.to_string(),
            backup_weekday: self.weekday.as_str().to_owned(),
            backup_monthday: i64::from(self.monthday.get()),
            cron: self
                .cron
                .as_ref()
                .map_or_else(|| raw_cron.trim().to_owned(), |c| c.as_str().to_owned()),
            timezone: self.timezone.as_str().to_owned(),
            backup_files: self.backup_files,
            backup_limit: i64::from(self.backup_limit.get()),
            updated_at: previous.updated_at,
            schedule_saved_at: previous.schedule_saved_at,
        })
    }
}

async fn save(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Form(input): Form<SettingsForm>,
) -> Result<Response, WebError> {
    let stored = store::load(&state.pool).await?;
    let mut form = input.echo();
    let Some(valid) = parse_form(&input, stored.has_secret(), page.lang, &mut form) else {
        let mut page = SettingsPage::build(&state, page, form, stored.has_secret()).await?;
        page.secret_typed = !input.secret_access_key.is_empty();
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let new = valid.to_stored(&stored, &state.key, &input.cron)?;
    let username = page.user.clone().unwrap_or_default();
    let changed = store::save(&state.pool, &new, &username).await?;
    tracing::info!(user = %username, fields = ?changed, "settings saved");
    if let Err(error) = crate::notify::set_language(&state.pool, page.lang.code()).await {
        tracing::warn!(%error, "cannot store the notification language");
    }
    state.scheduler.reload().await;
    let notice = if changed.is_empty() {
        "settings.unchanged"
    } else {
        "settings.saved"
    };
    session::set_notice(&session, page.t(notice)).await?;
    Ok(Redirect::to("/settings").into_response())
}

/// "Test connection": checks the form's current values against the S3 server, saving nothing.
async fn test_connection(
    State(state): State<AppState>,
    page: Page,
    Form(input): Form<SettingsForm>,
) -> Result<Response, WebError> {
    let stored = store::load(&state.pool).await?;
    let lang = page.lang;
    let mut form = input.echo();
    let valid = parse_form(&input, stored.has_secret(), lang, &mut form);
    let required = Invalid::new("invalid.required").message(lang.code());
    let secret = match valid.as_ref().map(|v| &v.secret) {
        Some(SecretChange::Replace(secret)) => Some(secret.expose().to_owned()),
        Some(SecretChange::Keep) => match &stored.secret_access_key {
            Some(sealed) => Some(state.key.open(SECRET_PURPOSE, sealed)?),
            None => None,
        },
        _ => None,
    };
    let target = match (&valid, secret) {
        (Some(v), Some(secret)) if v.access_key_id.is_some() && v.bucket.is_some() => {
            Some(crate::backup::S3Target {
                endpoint: v.endpoint.url().cloned(),
                region: v.region.as_str().to_owned(),
                bucket: v
                    .bucket
                    .as_ref()
                    .map(|b| b.as_str().to_owned())
                    .unwrap_or_default(),
                access_key_id: v
                    .access_key_id
                    .as_ref()
                    .map(|k| k.as_str().to_owned())
                    .unwrap_or_default(),
                secret_access_key: secret,
                path_style: v.path_style,
                prefix: v.prefix.as_str().to_owned(),
                max_parts: crate::backup::S3Target::DEFAULT_MAX_PARTS,
            })
        }
        (valid, secret) => {
            if valid.is_some() {
                for (name, missing) in [
                    ("access_key_id", input.access_key_id.trim().is_empty()),
                    ("secret_access_key", secret.is_none()),
                    ("bucket", input.bucket.trim().is_empty()),
                ] {
                    if missing {
                        form.add_error(name, required.clone());
                    }
                }
            }
            None
        }
    };
    let connection = match target {
        None => None,
        Some(target) => Some(match crate::backup::test_connection(&target).await {
            Ok(report) => ConnectionResult {
                ok: true,
                messages: std::iter::once(lang.t("settings.connection_ok"))
                    .chain(report.notes.iter().map(|n| n.message(lang.code())))
                    .collect(),
            },
            Err(problem) => {
                tracing::info!(problem = ?problem.kind, "connection test failed");
                ConnectionResult {
                    ok: false,
                    messages: vec![problem.message(lang.code())],
                }
            }
        }),
    };
    let status = if connection.as_ref().is_some_and(|c| c.ok) {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut page = SettingsPage::build(&state, page, form, stored.has_secret()).await?;
    page.secret_typed = !input.secret_access_key.is_empty();
    page.connection = connection;
    Ok((status, page).into_response())
}
