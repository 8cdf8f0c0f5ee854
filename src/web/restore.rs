//! The restore catalogue: the backups found in the bucket (not only those this instance
//! made), newest first, with the run that made each when this instance knows it.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde::Deserialize;

use crate::app::AppState;
use crate::backup::catalogue::{self, Backup};
use crate::format;
use crate::lang::{Lang, Message};
use crate::web::error::WebError;
use crate::web::page::Page;

const PER_PAGE: usize = 20;

pub fn router() -> Router<AppState> {
    Router::new().route("/restore", get(list))
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
}

impl BackupRow {
    fn new(backup: &Backup, runs: &HashMap<String, i64>, lang: Lang) -> Self {
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
            return Ok(CataloguePage {
                page,
                backups: Vec::new(),
                total: 0,
                page_number: 1,
                pages: 1,
                problem: Some(error.message().render(lang)),
            });
        }
    };
    let client = crate::backup::s3::client(&target);
    let backups = match catalogue::list(&client, &target).await {
        Ok(backups) => backups,
        Err(failure) => {
            let problem = Message::new("restore.bucket_unreadable")
                .with("bucket", &target.bucket)
                .detail(failure.to_string());
            return Ok(CataloguePage {
                page,
                backups: Vec::new(),
                total: 0,
                page_number: 1,
                pages: 1,
                problem: Some(problem.render(lang)),
            });
        }
    };
    let runs: HashMap<String, i64> = crate::db::runs::by_folder(&state.pool)
        .await
        .map_err(|e| WebError::internal("reading the runs of backups", e))?
        .into_iter()
        .collect();
    let pages = backups.len().div_ceil(PER_PAGE).max(1);
    let page_number = query.page.unwrap_or(1).clamp(1, pages);
    Ok(CataloguePage {
        page,
        total: backups.len(),
        backups: backups
            .iter()
            .skip((page_number - 1) * PER_PAGE)
            .take(PER_PAGE)
            .map(|backup| BackupRow::new(backup, &runs, lang))
            .collect(),
        page_number,
        pages,
        problem: None,
    })
}
