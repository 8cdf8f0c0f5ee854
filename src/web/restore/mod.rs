//! Restoring from the bucket: the catalogue of every backup found there (not only those this
//! instance made), newest first; a backup's page with each object, its checked download and
//! the commands that restore it with standard tools.

mod commands;
mod download;
mod identity;

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form as PostedForm;
use axum::Router;
use axum::extract::Path;
use axum::extract::{Query, State};
use axum::response::Redirect;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDateTime;
use serde::Deserialize;
use tower_sessions::Session;

use crate::app::AppState;
use crate::backup::catalogue::{self, Backup};
use crate::backup::folder::FOLDER_FORMAT;
use crate::backup::manifest::{Manifest, SitePartKind, StoredObject};
use crate::backup::restore::{self, BackupChoice, Request, SourceChoice};
use crate::backup::{S3Target, SourceSpec, StartError};
use crate::db::runs::{Trigger, Verification};
use crate::format;
use crate::lang::{Lang, Message};
use crate::settings::{DatabaseUrl, SourceKind};
use crate::web::error::WebError;
use crate::web::page::Page;
use crate::web::session;

use commands::{commands, object_name, plain_name, quoted};
use identity::{IdentityForm, app_identity, decryptable, pasted_identity, recipients_of};

const PER_PAGE: usize = 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/restore", get(list))
        .route("/restore/{folder}", get(backup_page))
        .route(
            "/restore/{folder}/objects/{name}",
            get(download::download).post(download::download_decrypted),
        )
        .route("/restore/{folder}/run", post(start_restore))
        .route("/restore/{folder}/verify", post(start_verify))
}

/// A backup as a row of the catalogue.
pub struct BackupRow {
    pub name: String,
    pub started: String,
    pub size: String,
    /// `complete`, `partial` or `incomplete` (no manifest).
    pub state: &'static str,
    pub sources: String,
    pub run: Option<i64>,
    pub verification: Option<VerificationView>,
}

/// A backup's latest verification: passed or not, when, and its run.
pub struct VerificationView {
    pub passed: bool,
    pub at: String,
    pub run: i64,
}

impl VerificationView {
    pub fn of(key: &str, verifications: &HashMap<String, Verification>) -> Option<Self> {
        verifications.get(key).map(|verification| Self {
            passed: verification.passed,
            at: verification.at.format("%Y-%m-%d %H:%M UTC").to_string(),
            run: verification.run_id,
        })
    }
}

impl BackupRow {
    fn new(
        backup: &Backup,
        runs: &HashMap<String, i64>,
        verifications: &HashMap<String, Verification>,
        lang: Lang,
    ) -> Self {
        Self {
            name: backup.name.clone(),
            started: backup
                .started_at
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string(),
            size: format::size(backup.size(), lang),
            state: if backup.is_complete() {
                "complete"
            } else if backup.has_manifest {
                "partial"
            } else {
                "incomplete"
            },
            sources: backup.sources().join(", "),
            run: runs.get(&backup.key).copied(),
            verification: VerificationView::of(&backup.key, verifications),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "restore.html")]
struct CataloguePage {
    page: Page,
    backups: Vec<BackupRow>,
    total: usize,
    page_number: usize,
    pages: usize,
    /// Why the bucket could not be read, when it could not.
    problem: Option<String>,
}

impl CataloguePage {
    /// The page when the bucket cannot be listed, saying why.
    fn unreadable(page: Page, problem: String) -> Self {
        Self {
            page,
            backups: Vec::new(),
            total: 0,
            page_number: 1,
            pages: 1,
            problem: Some(problem),
        }
    }
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<usize>,
}

async fn list(
    State(state): State<AppState>,
    page: Page,
    Query(query): Query<PageQuery>,
) -> Result<CataloguePage, WebError> {
    let lang = page.lang;
    let page = page.in_section("restore");
    let settings = crate::db::settings::load(&state.pool).await?;
    let target = match crate::jobs::target(&settings, &state.key) {
        Ok(target) => target,
        Err(error) => {
            return Ok(CataloguePage::unreadable(
                page,
                error.message().render(lang),
            ));
        }
    };
    let client = crate::backup::s3::client(&target);
    let backups = match catalogue::list(&client, &target).await {
        Ok(backups) => backups,
        Err(failure) => {
            let problem = Message::new("restore.bucket_unreadable")
                .with("bucket", &target.bucket)
                .detail(failure.to_string());
            return Ok(CataloguePage::unreadable(page, problem.render(lang)));
        }
    };
    let runs: HashMap<String, i64> = crate::db::runs::by_folder(&state.pool)
        .await
        .map_err(|e| WebError::internal("reading the runs of backups", e))?
        .into_iter()
        .collect();
    let verifications = crate::db::runs::verifications(&state.pool)
        .await
        .map_err(|e| WebError::internal("reading the verifications", e))?;
    let pages = backups.len().div_ceil(PER_PAGE).max(1);
    let page_number = query.page.unwrap_or(1).clamp(1, pages);
    Ok(CataloguePage {
        page,
        total: backups.len(),
        backups: backups
            .iter()
            .skip((page_number - 1) * PER_PAGE)
            .take(PER_PAGE)
            .map(|backup| BackupRow::new(backup, &runs, &verifications, lang))
            .collect(),
        page_number,
        pages,
        problem: None,
    })
}

/// An object of a backup, as its page lists it.
pub struct ObjectRow {
    pub name: String,
    pub source: String,
    pub kind: String,
    pub size: String,
    pub sha256: String,
    /// The file name once decompressed.
    pub plain_name: String,
    /// Shell commands that restore it with standard tools, one per line.
    pub commands: String,
    /// The same with this app, into a new target beside the source.
    pub app_command: String,
    /// Whether this app restores its kind.
    pub restorable: bool,
    /// Where it goes by default (a new target beside its source), if its source is here.
    pub default_target: Option<String>,
    /// The source itself, shown (without password), if it is configured here.
    pub source_target: Option<String>,
    /// What the restore form holds (as typed, after an error).
    pub form: RestoreForm,
    /// Why the form was refused, if it was.
    pub error: Option<String>,
    /// Encrypted for keys whose secret this app does not hold: restoring it, or
    /// downloading it decrypted, needs an identity pasted.
    pub needs_identity: bool,
}

/// The restore form of one object, or of the whole backup (`source` = `all`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestoreForm {
    #[serde(default)]
    pub source: String,
    /// `new` (default), `source` (replace the source itself) or `elsewhere`.
    #[serde(default)]
    pub mode: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub replace: Option<String>,
    #[serde(default)]
    pub confirm: String,
    /// An age identity file's text, pasted: used for this run only, never shown again.
    #[serde(default)]
    pub identity: String,
}

impl RestoreForm {
    /// The form of `object`'s section (its refusals answer there).
    fn of(object: &StoredObject) -> Self {
        Self {
            source: object.source.clone(),
            ..Self::default()
        }
    }

    /// The form of the whole backup (its refusals answer at the top of the page).
    fn whole_backup() -> Self {
        Self {
            source: "all".to_owned(),
            ..Self::default()
        }
    }

    pub fn is(&self, mode: &str) -> bool {
        self.mode == mode || (self.mode.is_empty() && mode == "new")
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "restore_backup.html")]
struct BackupPage {
    page: Page,
    name: String,
    started: String,
    finished: String,
    app_version: String,
    objects: Vec<ObjectRow>,
    /// The Frappe sites of the backup, each with its `bench restore` command.
    sites: Vec<commands::SiteRestore>,
    /// Sources of a partial backup that are not in it.
    failed: Vec<(String, String)>,
    /// Why the form restoring every object into new targets was refused.
    all_error: Option<String>,
    /// What blocks a restore from starting now (another run in progress).
    busy: Option<i64>,
    verification: Option<VerificationView>,
    /// The public keys the backup is encrypted for, when it is.
    recipients: Option<String>,
    /// Some encrypted object of it needs an identity this app does not hold.
    needs_identity: bool,
}

/// The S3 target of the stored settings, or the reason there is none.
async fn stored_target(state: &AppState) -> Result<Result<S3Target, Message>, WebError> {
    let settings = crate::db::settings::load(&state.pool).await?;
    Ok(crate::jobs::target(&settings, &state.key).map_err(|error| error.message()))
}

/// A folder name from the URL: a run's start time, nothing else.
fn folder_name(name: &str) -> Result<&str, WebError> {
    NaiveDateTime::parse_from_str(name, FOLDER_FORMAT)
        .map(|_| name)
        .map_err(|_| WebError::NotFound)
}

async fn load_manifest(state: &AppState, folder: &str) -> Result<(S3Target, Manifest), WebError> {
    let target = stored_target(state)
        .await?
        .map_err(|_| WebError::NotFound)?;
    let client = crate::backup::s3::client(&target);
    match crate::backup::download::manifest(&client, &target, &target.key(folder)).await {
        Ok(manifest) => Ok((target, manifest)),
        Err(error) if error.is_not_found() => Err(WebError::NotFound),
        Err(error) => Err(WebError::internal("reading a manifest", error)),
    }
}

async fn backup_page(
    State(state): State<AppState>,
    page: Page,
    Path(folder): Path<String>,
) -> Result<BackupPage, WebError> {
    let folder = folder_name(&folder)?.to_owned();
    render_backup_page(&state, page, &folder, None).await
}

/// A refused form: which object's (or `all`), as typed (a password left out), and why.
struct Refused {
    form: RestoreForm,
    message: String,
}

impl Refused {
    fn new(mut form: RestoreForm, message: String) -> Self {
        form.to = restore::without_password(&form.to);
        // A secret key is never sent back: it is pasted again.
        form.identity.clear();
        Self { form, message }
    }
}

/// The backup's page again, with `form` as typed and why it was refused.
async fn refuse(
    state: &AppState,
    page: Page,
    folder: &str,
    form: RestoreForm,
    message: String,
) -> Result<Response, WebError> {
    let refused = Refused::new(form, message);
    Ok(render_backup_page(state, page, folder, Some(refused))
        .await?
        .into_response())
}

async fn render_backup_page(
    state: &AppState,
    page: Page,
    folder: &str,
    refused: Option<Refused>,
) -> Result<BackupPage, WebError> {
    let (target, manifest) = load_manifest(state, folder).await?;
    let configured = configured_sources(state).await?;
    let held = app_identity(state).await?;
    let needs_identity = |object: &StoredObject| {
        object.encryption.as_ref().is_some_and(|encryption| {
            held.as_ref()
                .is_none_or(|identity| !identity.decrypts_for(&encryption.recipients))
        })
    };
    let verifications = crate::db::runs::verifications(&state.pool)
        .await
        .map_err(|e| WebError::internal("reading the verifications", e))?;
    let lang = page.lang;
    let refused_for = |source: &str| {
        refused
            .as_ref()
            .filter(|refused| refused.form.source == source)
    };
    Ok(BackupPage {
        page: page.in_section("restore"),
        name: folder.to_owned(),
        started: manifest
            .started_at
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        finished: manifest
            .finished_at
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        app_version: manifest.app_version.clone(),
        objects: manifest
            .objects
            .iter()
            .map(|object| ObjectRow {
                name: object_name(object).to_owned(),
                source: object.source.clone(),
                kind: object.kind.clone(),
                size: format::size(object.size, lang),
                sha256: object.sha256.clone(),
                plain_name: plain_name(object).to_owned(),
                commands: commands(&target, object),
                app_command: format!("s3-backup restore {folder} {}", quoted(&object.source)),
                // A site is restored whole, from the form under its database.
                restorable: SourceKind::parse(&object.kind).is_ok()
                    && object
                        .site
                        .as_ref()
                        .is_none_or(|part| part.part == SitePartKind::Database),
                default_target: restore::default_target(&configured, object),
                source_target: restore::source_target(&configured, object)
                    .map(|(to, _)| shown_target(&object.kind, &to)),
                form: refused_for(&object.source)
                    .map(|refused| refused.form.clone())
                    .unwrap_or_default(),
                error: refused_for(&object.source).map(|refused| refused.message.clone()),
                needs_identity: needs_identity(object),
            })
            .collect(),
        sites: commands::bench_commands(&manifest),
        failed: manifest
            .failed
            .iter()
            .map(|failed| (failed.source.clone(), failed.message.render(lang)))
            .collect(),
        // A form for no object of this backup (or for all of them) answers at the top.
        all_error: refused
            .as_ref()
            .filter(|refused| {
                !manifest
                    .objects
                    .iter()
                    .any(|object| object.source == refused.form.source)
            })
            .map(|refused| refused.message.clone()),
        busy: state.runner.current(),
        verification: VerificationView::of(&target.key(folder), &verifications),
        recipients: recipients_of(&manifest),
        needs_identity: manifest.objects.iter().any(needs_identity),
    })
}

/// The sources of this machine, passwords opened: they give the default targets.
async fn configured_sources(state: &AppState) -> Result<Vec<SourceSpec>, WebError> {
    crate::db::sources::list(&state.pool)
        .await
        .map_err(|e| WebError::internal("listing the sources", e))?
        .iter()
        .map(|source| crate::jobs::source_spec(source, &state.key))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| WebError::internal("opening a source's password", e))
}

/// A target as a page shows it: a database URL without its password.
fn shown_target(kind: &str, to: &str) -> String {
    match SourceKind::parse(kind) {
        Ok(kind @ (SourceKind::Postgres | SourceKind::Mysql)) => DatabaseUrl::parse(kind, to)
            .map(|url| url.masked())
            .unwrap_or_else(|_| to.to_owned()),
        _ => to.to_owned(),
    }
}

/// Starts the restore the form asks for and shows its run; a form that does not hold
/// together comes back with the reason, as typed.
async fn start_restore(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Path(folder): Path<String>,
    PostedForm(form): PostedForm<RestoreForm>,
) -> Result<Response, WebError> {
    let folder = folder_name(&folder)?.to_owned();
    let (_, manifest) = load_manifest(&state, &folder).await?;
    let configured = configured_sources(&state).await?;
    let pasted = match pasted_identity(&form.identity, page.lang) {
        Ok(pasted) => pasted,
        Err(message) => return refuse(&state, page, &folder, form, message).await,
    };
    let request = match restore_request(&form, &folder, &manifest, &configured) {
        Ok(request) => request,
        Err(message) => {
            let message = message.render(page.lang);
            return refuse(&state, page, &folder, form, message).await;
        }
    };
    let mut job = match crate::jobs::restore_job(&state.pool, &state.key, request).await {
        Ok(job) => job,
        Err(error) => {
            let message = error.message().render(page.lang);
            return refuse(&state, page, &folder, form, message).await;
        }
    };
    let given = pasted.is_some();
    job.identities.extend(pasted);
    let restored = manifest
        .objects
        .iter()
        .filter(|object| form.source == "all" || object.source == form.source);
    if let Err(message) = decryptable(restored, &job.identities, given, page.lang) {
        return refuse(&state, page, &folder, form, message).await;
    }
    match state.runner.start_restore(Trigger::Manual, job).await {
        Ok(id) => {
            tracing::info!(run = id, user = ?page.user, folder = %folder, "restore started from the browser");
            session::set_notice(&session, page.t("restore.started")).await?;
            Ok(Redirect::to(&format!("/backups/{id}")).into_response())
        }
        Err(StartError::AlreadyRunning(_)) => {
            let message = page.t("restore.busy");
            refuse(&state, page, &folder, form, message).await
        }
        Err(e @ (StartError::History(_) | StartError::Lock { .. })) => {
            Err(WebError::internal("starting a restore", e))
        }
    }
}

/// Starts the verification of this backup and shows its run.
async fn start_verify(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Path(folder): Path<String>,
    PostedForm(form): PostedForm<IdentityForm>,
) -> Result<Response, WebError> {
    let folder = folder_name(&folder)?.to_owned();
    // Known to exist: a folder without a manifest has no page to start from.
    let (_, manifest) = load_manifest(&state, &folder).await?;
    let pasted = match pasted_identity(&form.identity, page.lang) {
        Ok(pasted) => pasted,
        Err(message) => {
            return refuse(&state, page, &folder, RestoreForm::whole_backup(), message).await;
        }
    };
    let backup = BackupChoice::Folder(folder.clone());
    let mut job = match crate::jobs::verify_job(&state.pool, &state.key, backup).await {
        Ok(job) => job,
        Err(error) => {
            let message = error.message().render(page.lang);
            return refuse(&state, page, &folder, RestoreForm::whole_backup(), message).await;
        }
    };
    let given = pasted.is_some();
    job.identities.extend(pasted);
    if let Err(message) = decryptable(&manifest.objects, &job.identities, given, page.lang) {
        return refuse(&state, page, &folder, RestoreForm::whole_backup(), message).await;
    }
    match state.runner.start_verify(Trigger::Manual, job).await {
        Ok(id) => {
            tracing::info!(run = id, user = ?page.user, folder = %folder, "verification started from the browser");
            session::set_notice(&session, page.t("verify.started")).await?;
            Ok(Redirect::to(&format!("/backups/{id}")).into_response())
        }
        Err(StartError::AlreadyRunning(_)) => {
            let message = page.t("restore.busy");
            refuse(&state, page, &folder, RestoreForm::whole_backup(), message).await
        }
        Err(e @ (StartError::History(_) | StartError::Lock { .. })) => {
            Err(WebError::internal("starting a verification", e))
        }
    }
}

/// The restore a form asks for, or why it cannot be done.
fn restore_request(
    form: &RestoreForm,
    folder: &str,
    manifest: &Manifest,
    configured: &[SourceSpec],
) -> Result<Request, Message> {
    let backup = BackupChoice::Folder(folder.to_owned());
    if form.source == "all" {
        return Ok(Request {
            backup,
            source: SourceChoice::All,
            to: None,
            replace: false,
        });
    }
    let object = manifest
        .objects
        .iter()
        .find(|object| object.source == form.source)
        .ok_or_else(|| Message::new("restore.form.unknown_source").with("source", &form.source))?;
    let source = SourceChoice::Named(object.source.clone());
    let confirmed = |name: &str| -> Result<(), Message> {
        if form.confirm.trim() == name {
            Ok(())
        } else {
            Err(Message::new("restore.form.confirm").with("name", name))
        }
    };
    match form.mode.as_str() {
        "" | "new" => {
            if restore::default_target(configured, object).is_none() {
                return Err(Message::new("restore.form.needs_to").with("source", &object.source));
            }
            Ok(Request {
                backup,
                source,
                to: None,
                replace: false,
            })
        }
        "source" => {
            let (to, name) = restore::source_target(configured, object).ok_or_else(|| {
                Message::new("restore.form.not_here").with("source", &object.source)
            })?;
            confirmed(&name)?;
            Ok(Request {
                backup,
                source,
                to: Some(to.into()),
                replace: true,
            })
        }
        "elsewhere" => {
            let to = form.to.trim();
            if to.is_empty() {
                return Err(Message::new("restore.form.to_missing"));
            }
            // A database URL refused says why: a refused option, a name read as an option.
            if let Ok(kind @ (SourceKind::Postgres | SourceKind::Mysql)) =
                SourceKind::parse(&object.kind)
            {
                DatabaseUrl::parse(kind, to).map_err(Message::from)?;
            }
            let name = restore::target_name(&object.kind, to).ok_or_else(|| {
                Message::new("restore.form.to_invalid").with("to", restore::without_password(to))
            })?;
            let replace = form.replace.is_some();
            if replace {
                confirmed(&name)?;
            }
            Ok(Request {
                backup,
                source,
                to: Some(to.into()),
                replace,
            })
        }
        _ => Err(Message::new("restore.form.mode")),
    }
}
