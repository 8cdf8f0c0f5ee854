//! The history page (`/backups`): every run, newest first, a page at a time, filtered by
//! status and kind with a form that works without script; a value the filter does not know
//! is said beside its field and left out.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use sqlx::SqlitePool;

use crate::app::AppState;
use crate::db::history::{self, RunFilter};
use crate::db::runs::{RunKind, RunPage, RunStatus, Verification};
use crate::lang::{Lang, Message};
use crate::web::backups::RunView;
use crate::web::error::WebError;
use crate::web::page::Page;
use crate::web::snapshot::{Current, Kept};

const PER_PAGE: u32 = 20;

const KINDS: [RunKind; 3] = [RunKind::Backup, RunKind::Restore, RunKind::Verify];

/// The query string as sent: anything may come in it.
#[derive(Deserialize, Default)]
pub struct HistoryQuery {
    page: Option<String>,
    status: Option<String>,
    kind: Option<String>,
}

/// What the query asks for, once read, and what in it could not be.
#[derive(Debug, Default, PartialEq)]
pub struct HistoryRequest {
    pub filter: RunFilter,
    pub page: u32,
    /// (field, message) for each value left out.
    pub problems: Vec<(&'static str, Message)>,
}

impl HistoryRequest {
    pub fn parse(query: &HistoryQuery) -> Self {
        let mut problems = Vec::new();
        let given = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        let status = given(&query.status).and_then(|value| {
            let status = RunStatus::ALL.into_iter().find(|s| s.as_str() == value);
            if status.is_none() {
                problems.push(("status", bad("history.bad_status", &value)));
            }
            status
        });
        let kind = given(&query.kind).and_then(|value| {
            let kind = KINDS.into_iter().find(|k| k.as_str() == value);
            if kind.is_none() {
                problems.push(("kind", bad("history.bad_kind", &value)));
            }
            kind
        });
        let page = match given(&query.page) {
            None => 1,
            Some(value) => match value.parse::<u32>() {
                Ok(page) if page > 0 => page,
                _ => {
                    problems.push(("page", bad("history.bad_page", &value)));
                    1
                }
            },
        };
        Self {
            filter: RunFilter { status, kind },
            page,
            problems,
        }
    }

    /// The filter as query parameters, for the pager's links (`&status=failed`).
    fn filter_query(&self) -> String {
        let mut query = String::new();
        if let Some(status) = self.filter.status {
            query.push_str("&status=");
            query.push_str(status.as_str());
        }
        if let Some(kind) = self.filter.kind {
            query.push_str("&kind=");
            query.push_str(kind.as_str());
        }
        query
    }
}

/// A value typed in the address; shown quoted, at most a line's worth of it.
fn bad(key: &'static str, value: &str) -> Message {
    let shown: String = value.chars().take(40).collect();
    Message::new(key).with("value", shown)
}

/// An option of a filter's select.
pub struct Choice {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "backups.html")]
pub struct HistoryPage {
    page: Page,
    runs: Vec<RunView>,
    page_number: u32,
    pages: u32,
    running: Option<i64>,
    next_run: Option<String>,
    statuses: Vec<Choice>,
    kinds: Vec<Choice>,
    filtered: bool,
    /// `&status=…&kind=…`, kept by the pager.
    filter_query: String,
    /// (field, message) for each value of the address left out.
    problems: Vec<(&'static str, String)>,
}

impl HistoryPage {
    fn problem(&self, field: &str) -> Option<&str> {
        self.problems
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, message)| message.as_str())
    }
}

fn choices<T: Copy + PartialEq>(
    all: &[T],
    chosen: Option<T>,
    value: impl Fn(T) -> &'static str,
    label: impl Fn(&'static str) -> String,
) -> Vec<Choice> {
    all.iter()
        .map(|item| Choice {
            value: value(*item),
            label: label(value(*item)),
            selected: chosen == Some(*item),
        })
        .collect()
}

/// The pages of the history kept between requests, by filter and page asked for, until
/// the history changes.
pub type KeptPages = Kept<(RunFilter, u32), Listed>;

/// How many pages of the history are kept at most.
pub const KEPT_PAGES: usize = 64;

/// A page of the history as read: its runs, which page it is (a page past the end is the
/// last one), how many there are, and the verifications of its backups.
pub struct Listed {
    runs: RunPage,
    number: u32,
    pages: u32,
    verifications: HashMap<String, Verification>,
}

/// Page `number` of the runs `filter` lets through, or the last page when there are fewer.
async fn list(pool: &SqlitePool, filter: &RunFilter, number: u32) -> Result<Listed, WebError> {
    let listing = |e| WebError::internal("listing runs", e);
    let mut number = number;
    let mut runs = history::page(pool, filter, number, PER_PAGE)
        .await
        .map_err(listing)?;
    let total = u32::try_from(runs.total).unwrap_or(u32::MAX);
    let pages = total.div_ceil(PER_PAGE).max(1);
    // A page past the end (an old link) shows the last one.
    if number > pages {
        number = pages;
        runs = history::page(pool, filter, number, PER_PAGE)
            .await
            .map_err(listing)?;
    }
    let folders: Vec<String> = runs
        .runs
        .iter()
        .filter(|run| run.kind == RunKind::Backup)
        .filter_map(|run| run.folder.clone())
        .collect();
    let verifications = history::verifications_of(pool, &folders)
        .await
        .map_err(|e| WebError::internal("reading the verifications", e))?;
    Ok(Listed {
        runs,
        number,
        pages,
        verifications,
    })
}

pub async fn history(
    State(state): State<AppState>,
    page: Page,
    Current(snapshot): Current,
    Query(query): Query<HistoryQuery>,
) -> Result<(StatusCode, HistoryPage), WebError> {
    let request = HistoryRequest::parse(&query);
    let filter = request.filter;
    let key = (filter, request.page);
    let listed = match state.history.get(snapshot.generation(), &key) {
        Some(listed) => listed,
        None => {
            let listed = Arc::new(list(&state.pool, &filter, request.page).await?);
            state
                .history
                .put(snapshot.generation(), key, listed.clone());
            listed
        }
    };
    let Listed {
        runs,
        number,
        pages,
        verifications,
    } = &*listed;
    let number = *number;
    let lang: Lang = page.lang;
    let status = if request.problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok((
        status,
        HistoryPage {
            runs: runs
                .runs
                .iter()
                .map(|run| RunView::new(run, lang).verified(run, verifications))
                .collect(),
            page_number: number,
            pages: *pages,
            running: state.runner.current(),
            next_run: crate::web::settings::next_run_text(&state, &snapshot.settings),
            statuses: choices(&RunStatus::ALL, filter.status, RunStatus::as_str, |value| {
                page.tp("status", value)
            }),
            kinds: choices(&KINDS, filter.kind, RunKind::as_str, |value| {
                page.tp("operation", value)
            }),
            filtered: filter != RunFilter::default(),
            filter_query: request.filter_query(),
            problems: request
                .problems
                .iter()
                .map(|(field, message)| (*field, message.render(lang)))
                .collect(),
            page: page.in_section("backups"),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(status: &str, kind: &str, page: &str) -> HistoryQuery {
        let given = |value: &str| (!value.is_empty()).then(|| value.to_owned());
        HistoryQuery {
            page: given(page),
            status: given(status),
            kind: given(kind),
        }
    }

    #[test]
    fn known_values_filter_and_blank_ones_do_not() {
        let request = HistoryRequest::parse(&query("failed", "verify", "3"));
        assert_eq!(
            request.filter,
            RunFilter {
                status: Some(RunStatus::Failed),
                kind: Some(RunKind::Verify)
            }
        );
        assert_eq!(request.page, 3);
        assert!(request.problems.is_empty());
        assert_eq!(request.filter_query(), "&status=failed&kind=verify");
        assert_eq!(
            HistoryRequest::parse(&query("", "", "")),
            HistoryRequest {
                page: 1,
                ..HistoryRequest::default()
            }
        );
    }

    #[test]
    fn unknown_values_are_left_out_and_said() {
        let request = HistoryRequest::parse(&query("Failed", "backup", "-2"));
        assert_eq!(request.filter.status, None);
        assert_eq!(request.filter.kind, Some(RunKind::Backup));
        assert_eq!(request.page, 1);
        let fields: Vec<&str> = request.problems.iter().map(|(field, _)| *field).collect();
        assert_eq!(fields, ["status", "page"]);
        assert!(
            request.problems[0]
                .1
                .render(Lang::EN)
                .contains("“Failed” is not a status")
        );
    }
}
