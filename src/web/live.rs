//! A running run as its page shows it and its script refreshes it (`/backups/{id}/progress`):
//! how far it is, the time left, the source it is at, its pace, what it stored so far, how
//! long it has run, and the log lines written since the last look.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::db::history::{self, LogLine};
use crate::db::runs::{Run, RunKind, RunStatus};
use crate::format;
use crate::lang::{Lang, Message};
use crate::web::error::WebError;

/// The most log lines one answer carries; the next poll gets the rest.
const LOG_LINES_PER_ANSWER: u32 = 200;

/// What a running run shows; the same texts on the page and in the JSON.
#[derive(Serialize)]
pub struct LiveProgress {
    pub status: &'static str,
    /// The source being read, alone (kept for scripts that read it).
    pub source: String,
    /// "2 of 4: files".
    pub position: String,
    pub read: String,
    /// "12.0 MiB of about 24.0 MiB" when the total is known or expected, else the bytes read.
    pub read_of: String,
    pub uploaded: String,
    /// The bytes the run will read in all, when known (a restore), else empty.
    pub total: String,
    /// `42 %` when known or expected, else "unknown".
    pub percent: String,
    /// The same as a number for a progress bar; absent when unknown.
    pub percent_value: Option<u64>,
    /// "about 1 min 05 s", or "unknown".
    pub time_left: String,
    /// "3.2 MiB/s", empty before the first second.
    pub throughput: String,
    /// Whether the percentage is a guess for want of an earlier run (a backup's first).
    pub no_estimate: bool,
    pub duration: String,
    /// What the run stored so far: its size and objects.
    pub size: String,
    pub objects: i64,
    /// Log lines after the one the reader has, oldest first.
    pub log: Vec<LiveLogLine>,
}

#[derive(Serialize)]
pub struct LiveLogLine {
    pub id: i64,
    pub at: String,
    pub level: String,
    pub level_text: String,
    pub message: String,
}

impl LiveLogLine {
    pub fn new(line: &LogLine, lang: Lang) -> Self {
        Self {
            id: line.id,
            at: line.at.format("%H:%M:%S").to_string(),
            level: line.level.clone(),
            level_text: lang.t(&format!("level.{}", line.level)),
            message: line.message.render(lang),
        }
    }
}

/// `run` as it stands, with its log lines after `after` when asked for.
pub async fn live(
    state: &AppState,
    run: &Run,
    after: Option<i64>,
    lang: Lang,
) -> Result<LiveProgress, WebError> {
    let (objects, stored) = history::stored_so_far(&state.pool, run.id)
        .await
        .map_err(|e| WebError::internal("reading what a run stored", e))?;
    let log = match after {
        Some(after) => history::log_after(&state.pool, run.id, after, LOG_LINES_PER_ANSWER)
            .await
            .map_err(|e| WebError::internal("reading a run's log", e))?
            .iter()
            .map(|line| LiveLogLine::new(line, lang))
            .collect(),
        None => Vec::new(),
    };
    let end = run.finished_at.unwrap_or_else(chrono::Utc::now);
    let elapsed = end - run.started_at;
    let snapshot = run.progress.clone().unwrap_or_default();
    let estimate = snapshot.estimate(elapsed.to_std().unwrap_or_default());
    let read = format::size(snapshot.bytes_read, lang);
    let read_of = match (snapshot.bytes_total, snapshot.expected) {
        (0, Some(expected)) => Message::new("live.read_of_about")
            .with("read", &read)
            .with("total", format::size(expected.bytes, lang))
            .render(lang),
        (0, None) => read.clone(),
        (total, _) => Message::new("live.read_of")
            .with("read", &read)
            .with("total", format::size(total, lang))
            .render(lang),
    };
    let time_left = match estimate.left {
        Some(left) if left.as_secs() == 0 => lang.t("live.almost_done"),
        Some(left) => Message::new("live.about")
            .with(
                "duration",
                format::duration(chrono::Duration::seconds(
                    i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
                )),
            )
            .render(lang),
        None => lang.t("live.unknown"),
    };
    let position = match (&snapshot.current_source, snapshot.source_count) {
        (Some(name), count) if count > 0 => Message::new("live.position")
            .with("index", snapshot.source_index)
            .with("count", count)
            .with("name", name)
            .render(lang),
        (Some(name), _) => name.clone(),
        (None, _) => lang.t("live.between_sources"),
    };
    Ok(LiveProgress {
        status: run.status.as_str(),
        source: snapshot.current_source.clone().unwrap_or_default(),
        position,
        read,
        read_of,
        uploaded: format::size(snapshot.bytes_uploaded, lang),
        total: if snapshot.bytes_total > 0 {
            format::size(snapshot.bytes_total, lang)
        } else {
            String::new()
        },
        percent: estimate
            .percent
            .map_or_else(|| lang.t("live.unknown"), |p| format!("{p} %")),
        percent_value: estimate.percent,
        time_left,
        throughput: estimate
            .bytes_per_second
            .map(|rate| {
                Message::new("live.per_second")
                    .with("size", format::size(rate, lang))
                    .render(lang)
            })
            .unwrap_or_default(),
        no_estimate: run.kind == RunKind::Backup && snapshot.expected.is_none(),
        duration: format::duration(elapsed),
        size: format::size_i64(stored, lang),
        objects,
        log,
    })
}

#[derive(Deserialize)]
pub struct ProgressQuery {
    /// The last log line the page shows; lines after it come with the answer.
    after: Option<String>,
}

/// The JSON the run's page polls while the run is going.
pub async fn progress(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<String>,
    Query(query): Query<ProgressQuery>,
) -> Result<Response, WebError> {
    let id = crate::web::error::id(&id)?;
    let run = crate::db::runs::run(&state.pool, id)
        .await
        .map_err(|e| WebError::internal("reading a run", e))?
        .ok_or(WebError::NotFound)?;
    // A bad number asks for no log rather than for all of it.
    let after = query
        .after
        .map(|after| after.trim().parse::<i64>().unwrap_or(i64::MAX));
    let mut live = live(&state, &run, after, lang).await?;
    if run.status != RunStatus::Running {
        // The page reloads to show the end; its log comes with it.
        live.log.clear();
    }
    Ok(Json(live).into_response())
}
