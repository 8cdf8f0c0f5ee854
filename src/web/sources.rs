//! The sources page: what to back up (databases and directories), added, edited, removed,
//! and tried: each source can be tested, and is tested when saved (a failed test is a
//! warning, never a refusal: a database may be down for maintenance).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tower_sessions::Session;

use crate::app::AppState;
use crate::backup::SourceCheck;
use crate::crypto::{CryptoError, MasterKey, Slot};
use crate::db::source_outcomes::{self, LastBackup};
use crate::db::sources::{self as store, Source, SourceRow, SourceWriteError};
use crate::settings::{
    DatabaseUrl, RetypeSecret, SourceKind, SourceLocation, SourceName, StoredSecret, resolve_secret,
};
use crate::web::error::WebError;
use crate::web::form::FormState;
use crate::web::i18n::Lang;
use crate::web::page::Page;
use crate::web::pending::{MASK, PendingPassword};
use crate::web::session;

use crate::crypto::purpose::{
    PENDING_SOURCE_PASSWORD as PENDING_PURPOSE, SOURCE_PASSWORD as PASSWORD_PURPOSE,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sources", get(list).post(add))
        .route("/sources/{id}", get(edit).post(update))
        .route("/sources/{id}/delete", post(remove))
        .route("/sources/{id}/test", post(test))
        .route("/sources/sites", get(sites))
}

/// A source as listed: its location shown with any password masked, and how its latest
/// backup went.
pub struct Listed {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub location: String,
    pub last: Option<LastView>,
}

/// The latest backup that tried a source, as the list shows it.
pub struct LastView {
    pub run: i64,
    pub at: String,
    /// `stored`, `stored_in_partial` or `failed`.
    pub outcome: &'static str,
    /// Empty when no object of it is recorded.
    pub size: String,
}

impl LastView {
    fn new(last: &LastBackup, lang: Lang) -> Self {
        Self {
            run: last.run,
            at: last.started_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            outcome: last.outcome.as_str(),
            size: last
                .size
                .map(|size| crate::format::size_i64(size, lang))
                .unwrap_or_default(),
        }
    }
}

fn shown_location(source: &Source) -> String {
    match &source.sealed_password {
        Some(_) => source.location.with_password(MASK).masked(),
        None => source.location.masked(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "sources.html")]
struct SourcesPage {
    page: Page,
    sources: Vec<Listed>,
    form: FormState,
    kinds: [SourceKind; 5],
    changes: Vec<crate::db::changes::Change>,
}

#[derive(Template, WebTemplate)]
#[template(path = "source_edit.html")]
struct EditPage {
    page: Page,
    id: i64,
    form: FormState,
    has_password: bool,
    kinds: [SourceKind; 5],
}

async fn sources_page(
    state: &AppState,
    page: Page,
    form: FormState,
) -> Result<SourcesPage, WebError> {
    let mut sources = Vec::new();
    for s in store::list(&state.pool).await? {
        let last = source_outcomes::last_backup(&state.pool, s.name.as_str()).await?;
        sources.push(Listed {
            id: s.id,
            name: s.name.as_str().to_owned(),
            kind: s.location.kind().as_str().to_owned(),
            location: shown_location(&s),
            last: last.as_ref().map(|last| LastView::new(last, page.lang)),
        });
    }
    Ok(SourcesPage {
        page: page.in_section("sources"),
        sources,
        form,
        kinds: SourceKind::ALL,
        changes: crate::db::changes::latest(&state.pool, "sources", 10).await?,
    })
}

async fn list(State(state): State<AppState>, page: Page) -> Result<SourcesPage, WebError> {
    let mut form = FormState::labelled("sources");
    form.set("kind", "postgres");
    // A site's files go with its database unless unchecked, as in Dokos.
    form.set_flag("backup_files", true);
    sources_page(&state, page, form).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SourceForm {
    name: String,
    kind: String,
    location: String,
    remove_password: Option<String>,
    /// For a site: its public and private files go with its database.
    backup_files: Option<String>,
    /// A password typed in the form when it last came back, sealed (see `PendingPassword`).
    pending_password: String,
}

/// The form as it comes back, with `location` (the pending password put back) masked.
fn echo(
    input: &SourceForm,
    pending: &PendingPassword<'_>,
    location: &str,
) -> Result<FormState, CryptoError> {
    let mut form = FormState::labelled("sources");
    form.set("name", input.name.trim());
    form.set("kind", input.kind.trim());
    form.set_flag("remove_password", input.remove_password.is_some());
    form.set_flag("backup_files", input.backup_files.is_some());
    pending.echo(&mut form, "location", location)?;
    Ok(form)
}

/// The password a saved source keeps.
#[derive(Clone)]
enum Password {
    /// Sealed already, for this row.
    Sealed(Vec<u8>),
    /// Typed: sealed for the row once its id is known.
    Typed(String),
}

/// A validated source ready to store: password split from the URL.
struct Parsed {
    name: SourceName,
    kind: SourceKind,
    location: String,
    password: Option<Password>,
    site_files: bool,
    /// For a site, its name as bench writes it in the objects' names.
    site_slug: Option<String>,
}

/// Seals `password` for the row whose id the store gives.
fn sealed_for(
    password: Option<Password>,
    key: &MasterKey,
) -> impl FnOnce(i64) -> Result<Option<Vec<u8>>, CryptoError> + '_ {
    move |id| match password {
        None => Ok(None),
        Some(Password::Sealed(sealed)) => Ok(Some(sealed)),
        Some(Password::Typed(password)) => key
            .seal(&Slot::new(PASSWORD_PURPOSE, id), &password)
            .map(Some),
    }
}

/// What checking a source needs besides the form.
struct Context<'a> {
    lang: Lang,
    /// This installation's data directory: a source holding it would upload the master key.
    data_dir: &'a std::path::Path,
}

/// Parses the form, whose location is `location` (the pending password put back);
/// `previous` (the stored source) keeps its password when the URL shows no new one and
/// still points where the password was typed for.
fn parse(
    input: &SourceForm,
    location: &str,
    previous: Option<&Source>,
    context: &Context<'_>,
    form: &mut FormState,
) -> Option<Parsed> {
    let lang = context.lang;
    let name = form.check(lang, "name", SourceName::parse(&input.name));
    let kind = form.check(lang, "kind", SourceKind::parse(&input.kind));
    let location = kind
        .and_then(|kind| form.check(lang, "location", SourceLocation::parse(kind, location)))
        .map(|location| location.including_site_files(input.backup_files.is_some()))
        .and_then(|location| {
            if location.holds(context.data_dir) {
                let shown = context.data_dir.display().to_string();
                form.add_error("location", lang.td("sources.holds_data_dir", &shown));
                return None;
            }
            Some(location)
        });
    let (Some(name), Some(kind), Some(location)) = (name, kind, location) else {
        return None;
    };
    let change = match location.password() {
        Some(p) if p != MASK => StoredSecret::Replace(Password::Typed(p.to_owned())),
        // The mask of a form that came back, without the password typed then.
        Some(_) if previous.is_none_or(|p| p.sealed_password.is_none()) => {
            form.add_error("location", lang.t("form.password_again"));
            return None;
        }
        _ if input.remove_password.is_some() => StoredSecret::Remove,
        _ => StoredSecret::Keep,
    };
    let destination = |l: &SourceLocation| l.database_url().map(DatabaseUrl::destination);
    let password = match (change, location.database_url()) {
        // A path has no password to keep.
        (_, None) => None,
        (change, Some(url)) => {
            let stored = previous
                .and_then(|p| p.sealed_password.clone())
                .map(Password::Sealed);
            let stored_for = previous.and_then(|p| destination(&p.location));
            match resolve_secret(
                change,
                stored.as_ref(),
                stored_for.as_ref(),
                &url.destination(),
            ) {
                Ok(password) => password,
                Err(RetypeSecret) => {
                    form.add_error("location", lang.t("sources.password_retype"));
                    return None;
                }
            }
        }
    };
    Some(Parsed {
        name,
        kind,
        location: location.without_password(),
        password,
        site_files: location.site().is_some_and(|site| site.with_files()),
        site_slug: location.site().map(|site| site.slug()),
    })
}

/// Whether another source (than `except`) backs up a site of the same name as `parsed`:
/// the objects bench names after the site would overwrite each other's in a run. Said
/// beside the location.
async fn same_site(
    state: &AppState,
    parsed: &Parsed,
    except: Option<i64>,
    form: &mut FormState,
    lang: Lang,
) -> Result<bool, WebError> {
    let Some(slug) = parsed.site_slug.as_deref() else {
        return Ok(false);
    };
    let sources = store::list(&state.pool).await?;
    let other = sources.iter().find(|source| {
        Some(source.id) != except
            && source
                .location
                .site()
                .is_some_and(|site| site.slug() == slug)
    });
    if let Some(other) = other {
        form.add_error(
            "location",
            lang.td("sources.site_same_name", other.name.as_str()),
        );
    }
    Ok(other.is_some())
}

async fn add(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Form(input): Form<SourceForm>,
) -> Result<Response, WebError> {
    let pending = PendingPassword::new(&state.key, PENDING_PURPOSE, &page.csrf);
    let location = pending.restore(&input.location, &input.pending_password);
    let mut form = echo(&input, &pending, &location)?;
    let username = page.user.clone().unwrap_or_default();
    let context = Context {
        lang: page.lang,
        data_dir: state.config.data_dir(),
    };
    if let Some(parsed) = parse(&input, &location, None, &context, &mut form)
        && !same_site(&state, &parsed, None, &mut form, page.lang).await?
    {
        let row = SourceRow {
            name: parsed.name.as_str(),
            kind: parsed.kind.as_str(),
            location: &parsed.location,
            site_files: parsed.site_files,
        };
        let password = sealed_for(parsed.password, &state.key);
        match store::insert(&state.pool, &row, password, &username).await {
            Ok(id) => {
                tell_tested(&state, &session, id, page.lang, "sources.added").await?;
                return Ok(Redirect::to("/sources").into_response());
            }
            Err(SourceWriteError::DuplicateName) => {
                form.add_error("name", page.t("sources.duplicate"));
            }
            Err(SourceWriteError::Db(e)) => return Err(e.into()),
            Err(SourceWriteError::Secret(e)) => return Err(e.into()),
        }
    }
    let page = sources_page(&state, page, form).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn edit(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<EditPage, WebError> {
    let id = crate::web::error::id(&id)?;
    let source = store::get(&state.pool, id)
        .await?
        .ok_or(WebError::NotFound)?;
    let mut form = FormState::labelled("sources");
    form.set("name", source.name.as_str());
    form.set("kind", source.location.kind().as_str());
    form.set("location", shown_location(&source));
    form.set_flag(
        "backup_files",
        source.location.site().is_none_or(|site| site.with_files()),
    );
    Ok(EditPage {
        page: page.in_section("sources"),
        id,
        form,
        has_password: source.sealed_password.is_some(),
        kinds: SourceKind::ALL,
    })
}

async fn update(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Path(id): Path<String>,
    Form(input): Form<SourceForm>,
) -> Result<Response, WebError> {
    let id = crate::web::error::id(&id)?;
    let source = store::get(&state.pool, id)
        .await?
        .ok_or(WebError::NotFound)?;
    let pending = PendingPassword::new(&state.key, PENDING_PURPOSE, &page.csrf);
    let location = pending.restore(&input.location, &input.pending_password);
    let mut form = echo(&input, &pending, &location)?;
    let username = page.user.clone().unwrap_or_default();
    let context = Context {
        lang: page.lang,
        data_dir: state.config.data_dir(),
    };
    if let Some(parsed) = parse(&input, &location, Some(&source), &context, &mut form)
        && !same_site(&state, &parsed, Some(id), &mut form, page.lang).await?
    {
        let row = SourceRow {
            name: parsed.name.as_str(),
            kind: parsed.kind.as_str(),
            location: &parsed.location,
            site_files: parsed.site_files,
        };
        let password = sealed_for(parsed.password, &state.key);
        match store::update(&state.pool, id, &row, password, &username).await {
            Ok(true) => {
                tell_tested(&state, &session, id, page.lang, "sources.updated").await?;
                return Ok(Redirect::to("/sources").into_response());
            }
            Ok(false) => return Err(WebError::NotFound),
            Err(SourceWriteError::DuplicateName) => {
                form.add_error("name", page.t("sources.duplicate"));
            }
            Err(SourceWriteError::Db(e)) => return Err(e.into()),
            Err(SourceWriteError::Secret(e)) => return Err(e.into()),
        }
    }
    let page = EditPage {
        page: page.in_section("sources"),
        id,
        form,
        has_password: source.sealed_password.is_some(),
        kinds: SourceKind::ALL,
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn remove(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = crate::web::error::id(&id)?;
    let username = page.user.clone().unwrap_or_default();
    if !store::delete(&state.pool, id, &username).await? {
        return Err(WebError::NotFound);
    }
    session::set_notice(&session, page.t("sources.removed")).await?;
    Ok(Redirect::to("/sources").into_response())
}

/// Tries the stored source `id` the way a backup reads it (its password unsealed).
async fn try_source(state: &AppState, id: i64) -> Result<Option<(String, SourceCheck)>, WebError> {
    let Some(source) = store::get(&state.pool, id).await? else {
        return Ok(None);
    };
    let spec = crate::jobs::source_spec(&source, &state.key)?;
    let checked = crate::backup::check_source(&spec).await;
    tracing::info!(source = %spec.name, passed = checked.passed, "source tested");
    Ok(Some((spec.name, checked)))
}

/// After a save (`saved` says which), the notice: saved, and what testing the source found;
/// a failed test turns it into a warning, the source is kept all the same.
async fn tell_tested(
    state: &AppState,
    session: &Session,
    id: i64,
    lang: Lang,
    saved: &str,
) -> Result<(), WebError> {
    let saved = lang.t(saved);
    match try_source(state, id).await? {
        Some((_, checked)) if checked.passed => {
            let text = format!("{saved} {}", checked.message.render(lang));
            session::set_notice(session, text).await
        }
        Some((_, checked)) => {
            let text = format!(
                "{saved} {}",
                lang.td("sources.saved_but_failing", &checked.message.render(lang))
            );
            session::set_error(session, text).await
        }
        None => session::set_notice(session, saved).await,
    }
}

/// The "Test" button of a source: the outcome as the notice of the sources page.
async fn test(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = crate::web::error::id(&id)?;
    let (name, checked) = try_source(&state, id).await?.ok_or(WebError::NotFound)?;
    let lang = page.lang;
    let said = lang.tp(
        if checked.passed {
            "sources.test_passed"
        } else {
            "sources.test_failed"
        },
        &[("name", &name), ("detail", &checked.message.render(lang))],
    );
    if checked.passed {
        session::set_notice(&session, said).await?;
    } else {
        session::set_error(&session, said).await?;
    }
    Ok(Redirect::to("/sources").into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct BenchQuery {
    bench: String,
}

/// The site folders of the bench folder typed so far, for the location's suggestions:
/// `<bench>/sites/*` (or `<sites>/*`) holding a `site_config.json`. Nothing is read of them
/// but their names.
async fn sites(
    _page: Page,
    axum::extract::Query(query): axum::extract::Query<BenchQuery>,
) -> axum::Json<Vec<String>> {
    let bench = std::path::PathBuf::from(query.bench.trim());
    if !bench.is_absolute() {
        return axum::Json(Vec::new());
    }
    let found = tokio::task::spawn_blocking(move || crate::settings::sites_of_bench(&bench))
        .await
        .unwrap_or_default();
    axum::Json(
        found
            .iter()
            .map(|path| path.display().to_string())
            .collect(),
    )
}
