//! `GET /api/v1/runs` and `GET /api/v1/runs/{id}`: the history as JSON, newest first.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::app::AppState;
use crate::db::runs::{self, Run, RunDetail, RunStatus};
use crate::lang::{Lang, Message};
use crate::web::api::error::ApiError;

/// Runs listed when no `limit` is given, and the most a request may ask for.
pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// A time as the API writes it: ISO 8601 in UTC, to the second.
pub fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A run as the list shows it.
#[derive(Debug, Serialize)]
pub struct RunJson {
    pub id: i64,
    pub kind: &'static str,
    pub trigger: &'static str,
    pub status: &'static str,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub scheduled_for: Option<String>,
    pub folder: Option<String>,
    pub total_bytes: i64,
    pub object_count: i64,
    pub error: Option<String>,
    pub warning: Option<String>,
}

impl RunJson {
    pub fn new(run: &Run, lang: Lang) -> Self {
        Self {
            id: run.id,
            kind: run.kind.as_str(),
            trigger: run.trigger.as_str(),
            status: run.status.as_str(),
            started_at: iso(run.started_at),
            finished_at: run.finished_at.map(iso),
            scheduled_for: run.scheduled_for.map(iso),
            folder: run.folder.clone(),
            total_bytes: run.total_bytes,
            object_count: run.object_count,
            error: run.error.as_ref().map(|e| e.render(lang)),
            warning: run.warning.as_ref().map(|w| w.render(lang)),
        }
    }
}

#[derive(Debug, Serialize)]
struct ObjectJson {
    source: String,
    key: String,
    size: i64,
    sha256: String,
}

#[derive(Debug, Serialize)]
struct FailedSourceJson {
    source: String,
    kind: String,
    error: String,
}

#[derive(Debug, Serialize)]
struct ProgressJson {
    current_source: Option<String>,
    bytes_read: u64,
    bytes_uploaded: u64,
    /// 0 when not known.
    bytes_total: u64,
}

/// A run with what it stored and what it could not.
#[derive(Debug, Serialize)]
pub(super) struct RunDetailJson {
    #[serde(flatten)]
    run: RunJson,
    objects: Vec<ObjectJson>,
    failed_sources: Vec<FailedSourceJson>,
    /// While running.
    progress: Option<ProgressJson>,
}

impl RunDetailJson {
    fn new(detail: &RunDetail, lang: Lang) -> Self {
        let running = detail.run.status == RunStatus::Running;
        Self {
            run: RunJson::new(&detail.run, lang),
            objects: detail
                .objects
                .iter()
                .map(|o| ObjectJson {
                    source: o.source.clone(),
                    key: o.key.clone(),
                    size: o.size,
                    sha256: o.sha256.clone(),
                })
                .collect(),
            failed_sources: detail
                .failed
                .iter()
                .map(|f| FailedSourceJson {
                    source: f.source.clone(),
                    kind: f.kind.clone(),
                    error: f.error.render(lang),
                })
                .collect(),
            progress: running.then(|| {
                let snapshot = detail.run.progress.clone().unwrap_or_default();
                ProgressJson {
                    current_source: snapshot.current_source,
                    bytes_read: snapshot.bytes_read,
                    bytes_uploaded: snapshot.bytes_uploaded,
                    bytes_total: snapshot.bytes_total,
                }
            }),
        }
    }
}

#[derive(Debug, Serialize)]
pub(super) struct RunList {
    runs: Vec<RunJson>,
}

/// The list's parameters, parsed.
#[derive(Debug, PartialEq, Eq)]
struct ListQuery {
    limit: u32,
    status: Option<RunStatus>,
}

impl ListQuery {
    fn parse(query: Option<&str>) -> Result<Self, Message> {
        let mut parsed = Self {
            limit: DEFAULT_LIMIT,
            status: None,
        };
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match name.as_ref() {
                "limit" => {
                    parsed.limit = value
                        .trim()
                        .parse::<u32>()
                        .ok()
                        .filter(|limit| (1..=MAX_LIMIT).contains(limit))
                        .ok_or_else(|| {
                            Message::new("api.error.bad_limit")
                                .with("max", MAX_LIMIT)
                                .detail(value.as_ref())
                        })?;
                }
                "status" => {
                    let status = RunStatus::ALL
                        .into_iter()
                        .find(|status| status.as_str() == value.trim())
                        .ok_or_else(|| {
                            Message::new("api.error.bad_status")
                                .with("allowed", statuses())
                                .detail(value.as_ref())
                        })?;
                    parsed.status = Some(status);
                }
                other => {
                    return Err(Message::new("api.error.unknown_parameter").detail(other));
                }
            }
        }
        Ok(parsed)
    }
}

fn statuses() -> String {
    RunStatus::ALL
        .iter()
        .map(|status| status.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) async fn list(
    State(state): State<AppState>,
    lang: Lang,
    RawQuery(query): RawQuery,
) -> Result<Json<RunList>, ApiError> {
    let query = ListQuery::parse(query.as_deref()).map_err(ApiError::BadRequest)?;
    let runs = runs::latest(&state.pool, query.limit, query.status).await?;
    let list = RunList {
        runs: runs.iter().map(|run| RunJson::new(run, lang)).collect(),
    };
    Ok(Json(list))
}

pub(super) async fn show(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Json<RunDetailJson>, ApiError> {
    let unknown = || ApiError::NotFound(Message::new("api.error.run_not_found").with("id", &id));
    let run_id: i64 = id.parse().map_err(|_| unknown())?;
    let detail = runs::get(&state.pool, run_id).await?.ok_or_else(unknown)?;
    Ok(Json(RunDetailJson::new(&detail, lang)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_takes_a_limit_and_a_status_and_nothing_else() {
        assert_eq!(
            ListQuery::parse(None),
            Ok(ListQuery {
                limit: DEFAULT_LIMIT,
                status: None
            })
        );
        assert_eq!(
            ListQuery::parse(Some("limit=100&status=partial")),
            Ok(ListQuery {
                limit: 100,
                status: Some(RunStatus::Partial)
            })
        );
        for bad in ["limit=0", "limit=101", "limit=-1", "limit=ten", "limit="] {
            assert_eq!(
                ListQuery::parse(Some(bad)).unwrap_err().key,
                "api.error.bad_limit",
                "{bad}"
            );
        }
        assert_eq!(
            ListQuery::parse(Some("status=done")).unwrap_err().key,
            "api.error.bad_status"
        );
        assert_eq!(
            ListQuery::parse(Some("page=2")).unwrap_err().key,
            "api.error.unknown_parameter"
        );
    }
}
