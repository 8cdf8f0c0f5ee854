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
use crate::db::checks::Check;
use crate::db::settings as store;
use crate::settings::{
    AccessKeyId, BackupLimit, BucketName, CronExpr, EmailList, Endpoint, Field, Frequency, Invalid,
    KeyPrefix, KmsKeyId, LockDays, LockMode, MonthDay, Recipients, Region,
    SUGGESTED_STORAGE_CLASSES, ScratchServer, SealedScratchServer, SecretKey, ServerSideEncryption,
    Settings, SseMode, StorageClass, StoredSecret, TimeOfDay, TimeZone, VerifySchedule, Weekday,
    optional,
};
use crate::web::bucket;
use crate::web::error::WebError;
use crate::web::form::FormState;
use crate::web::i18n::Lang;
use crate::web::page::Page;
use crate::web::pending::{MASK, PendingPassword};
use crate::web::session;

use crate::crypto::purpose::{
    PENDING_SCRATCH_SERVER_PASSWORD as PENDING_PURPOSE, S3_SECRET_KEY as SECRET_PURPOSE,
};
use crate::crypto::{CryptoError, Slot};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(show).post(save))
        .route("/settings/test-connection", post(test_connection))
        .merge(crate::web::age_key::router())
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
    pub verify_schedules: &'static [&'static str],
    pub regions: &'static [&'static str],
    pub storage_classes: &'static [&'static str],
    /// Each server-side encryption choice: its form value and the catalog key of its label.
    pub sse_modes: &'static [(&'static str, &'static str)],
    /// Each Object Lock mode: its form value and the catalog key of its label.
    pub lock_modes: &'static [(&'static str, &'static str)],
    pub timezones: Vec<&'static str>,
    /// The next automatic backup, in the settings' time zone.
    pub next_run: Option<String>,
    /// The answer of "Test connection", when the page shows one.
    pub connection: Option<ConnectionResult>,
    /// The public keys of the key pairs this app generated (it decrypts what they encrypt).
    pub app_keys: Vec<String>,
    /// Scheduled verifications are on for backups encrypted only for keys the app does not
    /// hold: each would fail for want of the identity.
    pub unverifiable: bool,
    /// `S3BACKUP_PUBLIC_URL` is not set: links in mail cannot point at the app.
    pub public_url_missing: bool,
}

impl SettingsPage {
    /// The frequencies whose schedule reads `field`, space-separated: the script of the
    /// page shows the field only for those.
    pub fn frequencies_using(&self, field: Field) -> String {
        FREQUENCIES
            .iter()
            .filter(|name| {
                Frequency::parse(name).is_ok_and(|frequency| {
                    field.used_by(frequency)
                        && (field != Field::Timezone || frequency != Frequency::None)
                })
            })
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What "Test connection" found.
pub struct ConnectionResult {
    pub ok: bool,
    pub messages: Vec<String>,
    /// The bucket's posture, one line per setting: information, never a failure.
    pub posture: Vec<crate::backup::PostureLine>,
}

const LOCK_MODES: [(&str, &str); 2] = [
    ("governance", "settings.object_lock_governance"),
    ("compliance", "settings.object_lock_compliance"),
];

const SSE_MODES: [(&str, &str); 3] = [
    ("none", "settings.sse_none"),
    ("AES256", "settings.sse_aes256"),
    ("aws:kms", "settings.sse_kms"),
];
const FREQUENCIES: [&str; 6] = ["none", "hourly", "daily", "weekly", "monthly", "cron"];
const VERIFY_SCHEDULES: [&str; 4] = ["never", "after_backup", "weekly", "monthly"];
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
        stored: &Settings,
    ) -> Result<Self, WebError> {
        let app_identity = crate::jobs::app_identity(stored, &state.key)?;
        let unverifiable = stored.verify_schedule != VerifySchedule::Never
            && stored.encryption().is_some_and(|recipients| {
                app_identity
                    .as_ref()
                    .is_none_or(|identity| !identity.decrypts_for(&recipients.keys()))
            });
        Ok(Self {
            page: page.in_section("settings"),
            form,
            has_secret: stored.has_secret(),
            secret_typed: false,
            changes: changes::latest(&state.pool, "settings", 10).await?,
            frequencies: &FREQUENCIES,
            weekdays: &WEEKDAYS,
            verify_schedules: &VERIFY_SCHEDULES,
            regions: &REGIONS,
            storage_classes: &SUGGESTED_STORAGE_CLASSES,
            sse_modes: &SSE_MODES,
            lock_modes: &LOCK_MODES,
            timezones: chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect(),
            connection: None,
            next_run: next_run_text(state, stored),
            app_keys: app_identity
                .map(|identity| identity.recipients().keys())
                .unwrap_or_default(),
            unverifiable,
            public_url_missing: state.config.public_url.is_none(),
        })
    }
}

/// When the scheduler will start the next backup, shown in the settings' time zone.
pub fn next_run_text(state: &AppState, settings: &Settings) -> Option<String> {
    let next = state.scheduler.next_run()?;
    Some(
        next.with_timezone(&settings.timezone.tz())
            .format("%Y-%m-%d %H:%M %Z")
            .to_string(),
    )
}

/// The form as the stored settings show it.
fn form_from_stored(stored: &Settings) -> FormState {
    let mut form = FormState::labelled("settings");
    form.set_flag("enabled", stored.enabled);
    form.set(
        "access_key_id",
        stored.access_key_id.as_ref().map_or("", |k| k.as_str()),
    );
    form.set("notify_email", stored.notify_email.to_string());
    form.set_flag(
        "send_email_for_successful_backup",
        stored.send_email_for_successful_backup,
    );
    form.set("bucket", stored.bucket.as_ref().map_or("", |b| b.as_str()));
    form.set("endpoint_url", stored.endpoint.as_str());
    form.set("region", stored.region.as_str());
    form.set_flag("path_style", stored.path_style);
    form.set("backup_path", stored.prefix.as_str());
    form.set(
        "storage_class",
        stored.storage_class.as_ref().map_or("", |c| c.as_str()),
    );
    form.set(
        "server_side_encryption",
        stored.server_side_encryption.mode().as_str(),
    );
    form.set(
        "sse_kms_key_id",
        stored
            .server_side_encryption
            .kms_key()
            .map_or("", |key| key.as_str()),
    );
    form.set(
        "object_lock_days",
        stored
            .object_lock_days
            .map_or_else(String::new, |days| days.to_string()),
    );
    form.set("object_lock_mode", stored.object_lock_mode.as_str());
    form.set_flag("encrypt_backups", stored.encrypt_backups);
    form.set(
        "age_recipients",
        stored
            .age_recipients
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
    );
    form.set("frequency", stored.frequency.as_str());
    form.set("backup_time", stored.time.to_string());
    form.set("backup_weekday", stored.weekday.as_str());
    form.set("backup_monthday", stored.monthday.to_string());
    form.set("cron", stored.cron.as_ref().map_or("", |c| c.as_str()));
    form.set("timezone", stored.timezone.as_str());
    form.set_flag("backup_files", stored.backup_files);
    form.set("backup_limit", stored.backup_limit.to_string());
    form.set("verify_schedule", stored.verify_schedule.as_str());
    form.set(
        "scratch_server",
        stored
            .scratch_server
            .as_ref()
            .map_or("", |server| server.shown.as_str()),
    );
    form
}

async fn show(State(state): State<AppState>, page: Page) -> Result<SettingsPage, WebError> {
    let stored = store::load(&state.pool).await?;
    SettingsPage::build(&state, page, form_from_stored(&stored), &stored).await
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
    /// Absent from older forms and clients: the stored value stays (empty is the default).
    pub storage_class: Option<String>,
    /// Absent from older forms and clients: the stored value and key stay.
    pub server_side_encryption: String,
    pub sse_kms_key_id: String,
    /// Absent from older forms and clients: the stored value stays. Empty or 0: off.
    pub object_lock_days: Option<String>,
    /// Absent from older forms and clients: the stored value stays.
    pub object_lock_mode: String,
    pub encrypt_backups: Option<String>,
    /// Absent from older forms and clients: the stored encryption stays, on or off.
    pub age_recipients: Option<String>,
    pub frequency: String,
    pub backup_time: String,
    pub backup_weekday: String,
    pub backup_monthday: String,
    pub cron: String,
    pub timezone: String,
    pub backup_files: Option<String>,
    pub backup_limit: String,
    /// Absent from older forms and clients: the stored value stays.
    pub verify_schedule: String,
    /// Shown masked; sent back unchanged, the stored one stays.
    pub scratch_server: String,
    /// A scratch server password typed when the form last came back, sealed (see
    /// `PendingPassword`).
    pub pending_password: String,
}

impl SettingsForm {
    /// The form as the user meant it: a scratch server password typed before the form last
    /// came back put back in place of its mask.
    fn restored(mut self, pending: &PendingPassword<'_>) -> Self {
        self.scratch_server = pending.restore(&self.scratch_server, &self.pending_password);
        self
    }

    /// What the user typed, to show again (never the secret, nor a password in the scratch
    /// server's URL: that one is kept sealed apart).
    fn echo(&self, pending: &PendingPassword<'_>) -> Result<FormState, CryptoError> {
        let mut form = FormState::labelled("settings");
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
        form.set("storage_class", self.storage_class.as_deref().unwrap_or(""));
        form.set("server_side_encryption", &self.server_side_encryption);
        form.set("sse_kms_key_id", &self.sse_kms_key_id);
        form.set(
            "object_lock_days",
            self.object_lock_days.as_deref().unwrap_or(""),
        );
        form.set("object_lock_mode", &self.object_lock_mode);
        form.set_flag("encrypt_backups", self.encrypt_backups.is_some());
        form.set(
            "age_recipients",
            self.age_recipients.as_deref().unwrap_or(""),
        );
        form.set("frequency", &self.frequency);
        form.set("backup_time", &self.backup_time);
        form.set("backup_weekday", &self.backup_weekday);
        form.set("backup_monthday", &self.backup_monthday);
        form.set("cron", &self.cron);
        form.set("timezone", &self.timezone);
        form.set_flag("backup_files", self.backup_files.is_some());
        form.set("backup_limit", &self.backup_limit);
        form.set("verify_schedule", &self.verify_schedule);
        pending.echo(&mut form, "scratch_server", &self.scratch_server)?;
        Ok(form)
    }
}

/// The form parsed, each value a domain type. `None` where the value was refused (its
/// message is in the form) or, for a field the chosen frequency does not use, left out: the
/// stored value stays.
pub struct ParsedForm {
    pub enabled: bool,
    pub access_key_id: Option<Option<AccessKeyId>>,
    pub secret: StoredSecret<SecretKey>,
    pub notify_email: Option<EmailList>,
    pub send_email_for_successful_backup: bool,
    pub bucket: Option<Option<BucketName>>,
    pub endpoint: Option<Endpoint>,
    pub region: Option<Region>,
    pub path_style: bool,
    pub prefix: Option<KeyPrefix>,
    /// `None` when refused or left out; `Some(None)` for the bucket's default.
    pub storage_class: Option<Option<StorageClass>>,
    /// `None` when refused or left out.
    pub server_side_encryption: Option<ServerSideEncryption>,
    /// `None` when refused or left out; `Some(None)` for off.
    pub object_lock_days: Option<Option<LockDays>>,
    /// `None` when refused or left out.
    pub object_lock_mode: Option<LockMode>,
    /// Encryption on or off, and the recipients (`None` when emptied); `None` when refused
    /// or left out.
    pub age_encryption: Option<(bool, Option<Recipients>)>,
    pub frequency: Option<Frequency>,
    pub time: Option<TimeOfDay>,
    pub weekday: Option<Weekday>,
    pub monthday: Option<MonthDay>,
    pub cron: Option<CronExpr>,
    pub timezone: Option<TimeZone>,
    pub backup_files: bool,
    pub backup_limit: Option<BackupLimit>,
    pub verify_schedule: Option<VerifySchedule>,
    /// `None` when refused; `Some(None)` when emptied; the text as typed otherwise.
    pub scratch_server: Option<Option<(String, ScratchServer)>>,
}

/// A field of the schedule: required when `frequency` uses it, kept when it does not and
/// was left out.
fn schedule_part<T>(
    form: &mut FormState,
    lang: Lang,
    field: Field,
    frequency: Option<Frequency>,
    input: &str,
    parse: impl FnOnce(&str) -> Result<T, Invalid>,
) -> Option<Option<T>> {
    let used = frequency.is_none_or(|frequency| field.used_by(frequency));
    let parsed = if used {
        parse(input).map(Some)
    } else {
        optional(input, parse)
    };
    form.check(lang, field.name(), parsed)
}

/// The scratch server as typed, unless its password is the mask of a page that showed
/// another URL than the stored one (`stored`): the mask is not a password to save.
fn parse_scratch_server(
    input: &str,
    stored: Option<&SealedScratchServer>,
    lang: Lang,
) -> Result<Option<(String, ScratchServer)>, String> {
    let typed = input.trim();
    let server = optional(typed, ScratchServer::parse).map_err(|e| e.message(lang.code()))?;
    match server {
        Some(server)
            if server.url.password() == Some(MASK)
                && stored.is_none_or(|stored| stored.shown != typed) =>
        {
            Err(lang.t("form.password_again"))
        }
        server => Ok(server.map(|server| (typed.to_owned(), server))),
    }
}

/// Parses the form against the `stored` settings; `form` receives a message for each bad
/// field.
pub fn parse_form(
    input: &SettingsForm,
    stored: &Settings,
    lang: Lang,
    form: &mut FormState,
) -> ParsedForm {
    let access_key_id = form.check(
        lang,
        "access_key_id",
        optional(&input.access_key_id, AccessKeyId::parse),
    );
    let new_secret = form.check(
        lang,
        "secret_access_key",
        optional(&input.secret_access_key, SecretKey::parse),
    );
    let secret = match (new_secret.flatten(), input.remove_secret.is_some()) {
        (Some(secret), _) => StoredSecret::Replace(secret),
        (None, true) => StoredSecret::Remove,
        (None, false) => StoredSecret::Keep,
    };
    let notify_email = form.check(lang, "notify_email", EmailList::parse(&input.notify_email));
    let bucket = form.check(lang, "bucket", optional(&input.bucket, BucketName::parse));
    let endpoint = form.check(lang, "endpoint_url", Endpoint::parse(&input.endpoint_url));
    let region = form.check(lang, "region", Region::parse(&input.region));
    let prefix = form.check(lang, "backup_path", KeyPrefix::parse(&input.backup_path));
    let storage_class = input
        .storage_class
        .as_deref()
        .and_then(|class| form.check(lang, "storage_class", optional(class, StorageClass::parse)));
    let server_side_encryption = parse_encryption(input, lang, form);
    let object_lock_days = input
        .object_lock_days
        .as_deref()
        .and_then(|days| form.check(lang, "object_lock_days", LockDays::parse(days)));
    let object_lock_mode = if input.object_lock_mode.is_empty() {
        None
    } else {
        form.check(
            lang,
            "object_lock_mode",
            LockMode::parse(&input.object_lock_mode),
        )
    };
    let age_encryption = input.age_recipients.as_deref().and_then(|recipients| {
        form.check(
            lang,
            "age_recipients",
            optional(recipients, Recipients::parse),
        )
        .map(|recipients| (input.encrypt_backups.is_some(), recipients))
    });
    let frequency = form.check(lang, "frequency", Frequency::parse(&input.frequency));
    let time = schedule_part(
        form,
        lang,
        Field::BackupTime,
        frequency,
        &input.backup_time,
        TimeOfDay::parse,
    );
    let weekday = schedule_part(
        form,
        lang,
        Field::BackupWeekday,
        frequency,
        &input.backup_weekday,
        Weekday::parse,
    );
    let monthday = schedule_part(
        form,
        lang,
        Field::BackupMonthday,
        frequency,
        &input.backup_monthday,
        MonthDay::parse,
    );
    let cron = schedule_part(
        form,
        lang,
        Field::Cron,
        frequency,
        &input.cron,
        CronExpr::parse,
    );
    let timezone = schedule_part(
        form,
        lang,
        Field::Timezone,
        frequency.filter(|f| *f != Frequency::None),
        &input.timezone,
        TimeZone::parse,
    );
    let backup_limit = form.check(
        lang,
        "backup_limit",
        BackupLimit::parse(&input.backup_limit),
    );
    let verify_schedule = if input.verify_schedule.is_empty() {
        None
    } else {
        form.check(
            lang,
            "verify_schedule",
            VerifySchedule::parse(&input.verify_schedule),
        )
    };
    let scratch_server =
        match parse_scratch_server(&input.scratch_server, stored.scratch_server.as_ref(), lang) {
            Ok(server) => Some(server),
            Err(message) => {
                form.add_error("scratch_server", message);
                None
            }
        };
    ParsedForm {
        storage_class,
        server_side_encryption,
        object_lock_days,
        object_lock_mode,
        age_encryption,
        verify_schedule,
        scratch_server,
        enabled: input.enabled.is_some(),
        access_key_id,
        secret,
        notify_email,
        send_email_for_successful_backup: input.send_email_for_successful_backup.is_some(),
        bucket,
        endpoint,
        region,
        path_style: input.path_style.is_some(),
        prefix,
        frequency,
        time: time.flatten(),
        weekday: weekday.flatten(),
        monthday: monthday.flatten(),
        cron: cron.flatten(),
        timezone: timezone.flatten(),
        backup_files: input.backup_files.is_some(),
        backup_limit,
    }
}

/// The encryption choice and its key; the key's message goes beside the key.
fn parse_encryption(
    input: &SettingsForm,
    lang: Lang,
    form: &mut FormState,
) -> Option<ServerSideEncryption> {
    if input.server_side_encryption.is_empty() {
        return None;
    }
    let mode = form.check(
        lang,
        "server_side_encryption",
        SseMode::parse(&input.server_side_encryption),
    );
    let key = form.check(
        lang,
        "sse_kms_key_id",
        optional(&input.sse_kms_key_id, KmsKeyId::parse),
    );
    let (mode, key) = (mode?, key?);
    form.check(lang, "sse_kms_key_id", ServerSideEncryption::new(mode, key))
}

impl ParsedForm {
    /// The settings this form makes of `old`: a new secret sealed, left-out fields kept.
    pub fn apply(
        &self,
        old: &Settings,
        key: &crate::crypto::MasterKey,
        lang: Lang,
    ) -> Result<Settings, crate::crypto::CryptoError> {
        let sealed_secret = match &self.secret {
            StoredSecret::Keep => old.sealed_secret.clone(),
            StoredSecret::Remove => None,
            StoredSecret::Replace(secret) => {
                Some(key.seal(&Slot::single(SECRET_PURPOSE), secret.expose())?)
            }
        };
        Ok(Settings {
            enabled: self.enabled,
            access_key_id: self.access_key_id.clone().flatten(),
            sealed_secret,
            notify_email: self.notify_email.clone().unwrap_or_default(),
            send_email_for_successful_backup: self.send_email_for_successful_backup,
            bucket: self.bucket.clone().flatten(),
            endpoint: self
                .endpoint
                .clone()
                .unwrap_or_else(|| old.endpoint.clone()),
            region: self.region.clone().unwrap_or_else(|| old.region.clone()),
            path_style: self.path_style,
            prefix: self.prefix.clone().unwrap_or_else(|| old.prefix.clone()),
            storage_class: self
                .storage_class
                .clone()
                .unwrap_or_else(|| old.storage_class.clone()),
            server_side_encryption: self
                .server_side_encryption
                .clone()
                .unwrap_or_else(|| old.server_side_encryption.clone()),
            object_lock_days: self.object_lock_days.unwrap_or(old.object_lock_days),
            object_lock_mode: self.object_lock_mode.unwrap_or(old.object_lock_mode),
            encrypt_backups: self
                .age_encryption
                .as_ref()
                .map_or(old.encrypt_backups, |(on, _)| *on),
            age_recipients: self
                .age_encryption
                .as_ref()
                .map_or_else(|| old.age_recipients.clone(), |(_, keys)| keys.clone()),
            sealed_age_identity: old.sealed_age_identity.clone(),
            sealed_pending_age_identity: old.sealed_pending_age_identity.clone(),
            frequency: self.frequency.unwrap_or(old.frequency),
            time: self.time.unwrap_or(old.time),
            weekday: self.weekday.unwrap_or(old.weekday),
            monthday: self.monthday.unwrap_or(old.monthday),
            cron: self.cron.clone().or_else(|| old.cron.clone()),
            timezone: self.timezone.unwrap_or(old.timezone),
            backup_files: self.backup_files,
            backup_limit: self.backup_limit.unwrap_or(old.backup_limit),
            verify_schedule: self.verify_schedule.unwrap_or(old.verify_schedule),
            scratch_server: match &self.scratch_server {
                None => old.scratch_server.clone(),
                Some(None) => None,
                // Sent back as shown: the stored one (and its password) stays.
                Some(Some((typed, _)))
                    if old
                        .scratch_server
                        .as_ref()
                        .is_some_and(|stored| &stored.shown == typed) =>
                {
                    old.scratch_server.clone()
                }
                Some(Some((_, server))) => Some(SealedScratchServer {
                    sealed: key.seal(
                        &Slot::single(crate::crypto::purpose::SCRATCH_SERVER),
                        server.url.expose().as_str(),
                    )?,
                    shown: server.shown(),
                }),
            },
            language: lang,
            updated_at: old.updated_at,
            schedule_saved_at: old.schedule_saved_at,
        })
    }
}

/// Why a valid form was still not saved.
enum Refused {
    /// Automatic backup is on and these fields are empty.
    Missing(Vec<Field>),
    Crypto(crate::crypto::CryptoError),
}

fn mark_missing(form: &mut FormState, lang: Lang, missing: &[Field]) {
    for field in missing {
        let message = Invalid::new(field.missing_key()).message(lang.code());
        form.add_error(field.name(), message);
    }
}

async fn save(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Form(input): Form<SettingsForm>,
) -> Result<Response, WebError> {
    let lang = page.lang;
    let pending = PendingPassword::new(&state.key, PENDING_PURPOSE, &page.csrf);
    let input = input.restored(&pending);
    let mut form = input.echo(&pending)?;
    let username = page.user.clone().unwrap_or_default();
    let stored = store::load(&state.pool).await?;
    let parsed = parse_form(&input, &stored, lang, &mut form);
    let candidate = parsed.apply(&stored, &state.key, lang)?;
    mark_missing(&mut form, lang, &candidate.missing_when_enabled());
    if !form.has_errors()
        && let Some(refusal) = bucket::lock_refusal(&state.key, &stored, &candidate, lang).await?
    {
        form.add_error("object_lock_days", refusal);
    }
    let saved = if form.has_errors() {
        None
    } else {
        // Checked again under the write lock: another save may have come in between.
        let saved = store::update(&state.pool, &username, |old| {
            let new = parsed
                .apply(old, &state.key, lang)
                .map_err(Refused::Crypto)?;
            match new.missing_when_enabled() {
                missing if missing.is_empty() => Ok((new, ())),
                missing => Err(Refused::Missing(missing)),
            }
        })
        .await?;
        match saved {
            Ok(saved) => Some(saved.changed),
            Err(Refused::Crypto(error)) => return Err(error.into()),
            Err(Refused::Missing(missing)) => {
                mark_missing(&mut form, lang, &missing);
                None
            }
        }
    };
    let Some(changed) = saved else {
        let mut page = SettingsPage::build(&state, page, form, &stored).await?;
        page.secret_typed = !input.secret_access_key.is_empty();
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let names: Vec<&str> = changed.iter().map(|field| field.name()).collect();
    tracing::info!(user = %username, fields = ?names, "settings saved");
    state.scheduler.reload().await;
    state.verifier.reload();
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
    let pending = PendingPassword::new(&state.key, PENDING_PURPOSE, &page.csrf);
    let input = input.restored(&pending);
    let mut form = input.echo(&pending)?;
    let candidate =
        parse_form(&input, &stored, lang, &mut form).apply(&stored, &state.key, lang)?;
    let target = match crate::jobs::target(&candidate, &state.key) {
        Ok(target) if !form.has_errors() => Some(target),
        Ok(_) => None,
        Err(crate::jobs::JobError::Incomplete(missing)) => {
            mark_missing(&mut form, lang, &missing);
            None
        }
        Err(error) => return Err(error.into()),
    };
    let connection = match target {
        None => None,
        Some(target) => Some(match crate::backup::test_connection(&target).await {
            Ok(report) => ConnectionResult {
                ok: true,
                messages: std::iter::once(lang.t("settings.connection_ok"))
                    .chain(report.notes.iter().map(|n| n.message(lang.code())))
                    .collect(),
                posture: bucket::posture_lines(&target, lang).await,
            },
            Err(problem) => {
                tracing::info!(problem = ?problem.kind, "connection test failed");
                ConnectionResult {
                    ok: false,
                    messages: vec![problem.message(lang.code())],
                    posture: if problem.reached_bucket() {
                        bucket::posture_lines(&target, lang).await
                    } else {
                        Vec::new()
                    },
                }
            }
        }),
    };
    let status = if connection.as_ref().is_some_and(|c| c.ok) {
        let fingerprint = crate::web::checklist::bucket_fingerprint(&candidate);
        crate::web::checklist::record(&state.pool, Check::Bucket, &fingerprint).await;
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut page = SettingsPage::build(&state, page, form, &stored).await?;
    page.secret_typed = !input.secret_access_key.is_empty();
    page.connection = connection;
    Ok((status, page).into_response())
}
