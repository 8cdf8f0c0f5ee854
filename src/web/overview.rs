//! The overview at `/`: whether backups are healthy in one sentence, each source's last
//! stored backup, the next run, what the complete backups weigh, the last verification, the
//! first-run checklist until it is done, and charts of the recent runs.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::app::AppState;
use crate::db::overview::{ChartRun, Usage};
use crate::db::runs::{Run, RunStatus};
use crate::format;
use crate::lang::Lang;
use crate::web::charts::{Chart, Point};
use crate::web::checklist::Step;
use crate::web::error::WebError;
use crate::web::page::Page;
use crate::web::snapshot::{Current, Snapshot};

/// The two spans the charts offer; anything else asked for reads as the first.
const SPANS: [u32; 2] = [30, 90];

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(overview))
}

/// The state of the backups, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    NotSetUp,
    /// The last backup failed (or was interrupted): its run.
    Failed(i64),
    /// The last backup stored only some sources: its run.
    Partial(i64),
    /// No success within what the schedule expects.
    Overdue,
    /// The latest verification failed: its run.
    VerificationFailed(i64),
    AllGood,
}

/// What the state is decided from.
pub struct HealthFacts<'a> {
    pub has_sources: bool,
    pub last_ended: Option<&'a Run>,
    pub last_success: Option<&'a Run>,
    pub overdue: bool,
    pub failed_verification: Option<&'a Run>,
}

impl Health {
    /// Pure: the one state the overview leads with.
    pub fn of(facts: &HealthFacts) -> Health {
        if !facts.has_sources && facts.last_ended.is_none() {
            return Health::NotSetUp;
        }
        match facts.last_ended {
            Some(run) if run.status.is_failure() => {
                return Health::Failed(run.id);
            }
            Some(run) if run.status == RunStatus::Partial => return Health::Partial(run.id),
            _ => {}
        }
        if facts.last_success.is_none() {
            Health::NotSetUp
        } else if facts.overdue {
            Health::Overdue
        } else if let Some(run) = facts.failed_verification {
            Health::VerificationFailed(run.id)
        } else {
            Health::AllGood
        }
    }

    /// `ok`, `problem` or `setup`: how the sentence is styled.
    fn tone(self) -> &'static str {
        match self {
            Self::AllGood => "ok",
            Self::NotSetUp => "setup",
            _ => "problem",
        }
    }
}

/// The sentence at the top, with where to go from it.
struct HealthView {
    tone: &'static str,
    text: String,
    link: Option<(String, String)>,
}

impl HealthView {
    fn new(health: Health, facts: &HealthFacts, tz: chrono_tz::Tz, lang: Lang) -> Self {
        let when = |run: Option<&Run>| {
            run.map(|run| local(run.finished_at.unwrap_or(run.started_at), tz))
                .unwrap_or_default()
        };
        let run_link = |id: i64, key: &str| Some((format!("/backups/{id}"), lang.t(key)));
        let (text, link) = match health {
            Health::NotSetUp => (lang.t("overview.health.not_set_up"), None),
            Health::Failed(id) => (
                lang.td("overview.health.failed", &when(facts.last_ended)),
                run_link(id, "overview.health.see_run"),
            ),
            Health::Partial(id) => (
                lang.td("overview.health.partial", &when(facts.last_ended)),
                run_link(id, "overview.health.see_run"),
            ),
            Health::Overdue => (
                match facts.last_success {
                    Some(run) => lang.td("overview.health.overdue", &when(Some(run))),
                    None => lang.t("overview.health.overdue_never"),
                },
                Some(("/backups".to_owned(), lang.t("overview.health.see_history"))),
            ),
            Health::VerificationFailed(id) => (
                lang.td(
                    "overview.health.verification_failed",
                    &when(facts.failed_verification),
                ),
                run_link(id, "overview.health.see_verification"),
            ),
            Health::AllGood => (
                lang.td("overview.health.all_good", &when(facts.last_success)),
                None,
            ),
        };
        HealthView {
            tone: health.tone(),
            text,
            link,
        }
    }
}

/// A source's line.
struct SourceView {
    name: String,
    kind: &'static str,
    /// The run that last stored it, and when.
    last: Option<(i64, String)>,
    size: String,
    /// `stored`, `failed` or `absent` (not in the last backup).
    outcome: &'static str,
}

/// The last verification.
struct VerificationView {
    run: i64,
    passed: bool,
    at: String,
}

/// A chart with its labels.
struct ChartView {
    id: &'static str,
    title: String,
    column: String,
    chart: Chart,
    first: String,
    last: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "overview.html")]
struct OverviewPage {
    page: Page,
    health: HealthView,
    running: Option<i64>,
    checklist: Option<Vec<Step>>,
    sources: Vec<SourceView>,
    next_run: Option<String>,
    usage: String,
    verification: Option<VerificationView>,
    span: u32,
    default_span: u32,
    /// Each span offered, and whether it is the one shown.
    spans: Vec<(u32, bool)>,
    charts: Vec<ChartView>,
}

#[derive(Deserialize)]
struct OverviewQuery {
    runs: Option<String>,
}

async fn overview(
    State(state): State<AppState>,
    page: Page,
    Current(snapshot): Current,
    Query(query): Query<OverviewQuery>,
) -> Result<OverviewPage, WebError> {
    let lang = page.lang;
    let settings = &snapshot.settings;
    let tz = settings.timezone.tz();
    let facts = HealthFacts {
        has_sources: !snapshot.sources.is_empty(),
        last_ended: snapshot.last_ended.as_ref(),
        last_success: snapshot.last_success.as_ref(),
        overdue: snapshot.overdue(Utc::now()).is_some(),
        failed_verification: snapshot.failed_verification(),
    };
    let health = HealthView::new(Health::of(&facts), &facts, tz, lang);
    let source_views = source_views(&snapshot, tz, lang);
    let span = query
        .runs
        .and_then(|r| r.trim().parse::<u32>().ok())
        .filter(|r| SPANS.contains(r))
        .unwrap_or(SPANS[0]);
    Ok(OverviewPage {
        health,
        running: state.runner.current(),
        checklist: (!snapshot.checklist.complete()).then(|| snapshot.checklist.steps(lang)),
        sources: source_views,
        next_run: crate::web::settings::next_run_text(&state, settings),
        usage: usage_text(snapshot.usage, lang),
        verification: snapshot
            .last_verification
            .as_ref()
            .map(|run| VerificationView {
                run: run.id,
                passed: run.status == RunStatus::Success,
                at: local(run.finished_at.unwrap_or(run.started_at), tz),
            }),
        span,
        default_span: SPANS[0],
        spans: SPANS.iter().map(|n| (*n, *n == span)).collect(),
        charts: chart_views(snapshot.recent(span), span, tz, lang),
        page: page.in_section("overview"),
    })
}

/// Each source's line: its last stored backup, and what became of it in the last one.
fn source_views(snapshot: &Snapshot, tz: chrono_tz::Tz, lang: Lang) -> Vec<SourceView> {
    let last_ended = snapshot.last_ended.as_ref();
    let last_failed = last_ended.is_some_and(|run| run.status.is_failure());
    snapshot
        .sources
        .iter()
        .zip(&snapshot.stored)
        .map(|(source, stored)| {
            let name = source.name.as_str();
            let outcome = match snapshot.last_outcomes.iter().find(|(s, _)| s == name) {
                _ if last_failed => "failed",
                Some((_, outcome)) if outcome == "stored" => "stored",
                Some(_) => "failed",
                None => "absent",
            };
            SourceView {
                name: name.to_owned(),
                kind: source.location.kind().as_str(),
                size: stored
                    .as_ref()
                    .map(|s| format::size_i64(s.bytes, lang))
                    .unwrap_or_default(),
                last: stored.as_ref().map(|s| (s.run, local(s.finished_at, tz))),
                outcome,
            }
        })
        .collect()
}

/// "1.5 GiB in 7 complete backups": those retention keeps, as the history records them.
fn usage_text(usage: Usage, lang: Lang) -> String {
    lang.tp(
        "overview.usage.value",
        &[
            ("size", &format::size_i64(usage.bytes, lang)),
            ("count", &usage.backups.to_string()),
        ],
    )
}

fn chart_views(runs: &[ChartRun], span: u32, tz: chrono_tz::Tz, lang: Lang) -> Vec<ChartView> {
    let slots = usize::try_from(span).unwrap_or(30);
    let first = runs
        .first()
        .map(|r| local(r.started_at, tz))
        .unwrap_or_default();
    let last = runs
        .last()
        .map(|r| local(r.started_at, tz))
        .unwrap_or_default();
    let points = |value: &dyn Fn(&ChartRun) -> (u64, String)| -> Vec<Point> {
        runs.iter()
            .map(|run| {
                let (value, text) = value(run);
                Point {
                    label: local(run.started_at, tz),
                    value,
                    text,
                    status: RunStatus::ALL
                        .iter()
                        .map(|s| s.as_str())
                        .find(|s| *s == run.status)
                        .unwrap_or("failed"),
                    run: run.id,
                }
            })
            .collect()
    };
    let size = Chart::bars(
        points(&|run| {
            let bytes = u64::try_from(run.total_bytes).unwrap_or(0);
            (bytes, format::size(bytes, lang))
        }),
        slots,
        |max| format::size(max, lang),
    );
    let seconds = |run: &ChartRun| {
        u64::try_from((run.finished_at - run.started_at).num_seconds()).unwrap_or(0)
    };
    let duration = Chart::bars(
        points(&|run| {
            let secs = seconds(run);
            (secs, format::duration(run.finished_at - run.started_at))
        }),
        slots,
        |max| format::duration(chrono::Duration::seconds(i64::try_from(max).unwrap_or(0))),
    );
    vec![
        ChartView {
            id: "size",
            title: lang.td("overview.charts.size_title", &span.to_string()),
            column: lang.t("overview.charts.size"),
            chart: size,
            first: first.clone(),
            last: last.clone(),
        },
        ChartView {
            id: "duration",
            title: lang.td("overview.charts.duration_title", &span.to_string()),
            column: lang.t("overview.charts.duration"),
            chart: duration,
            first,
            last,
        },
    ]
}

/// A time as the overview shows it: in the settings' zone, to the minute.
fn local(at: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    at.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::runs::{RunKind, Trigger};

    fn run(id: i64, status: RunStatus) -> Run {
        Run {
            id,
            kind: RunKind::Backup,
            trigger: Trigger::Scheduled,
            status,
            started_at: Utc::now(),
            finished_at: Some(Utc::now()),
            scheduled_for: None,
            folder: None,
            total_bytes: 0,
            object_count: 0,
            error: None,
            warning: None,
            progress: None,
            request: None,
        }
    }

    fn facts<'a>(
        last_ended: Option<&'a Run>,
        last_success: Option<&'a Run>,
        overdue: bool,
        failed_verification: Option<&'a Run>,
    ) -> HealthFacts<'a> {
        HealthFacts {
            has_sources: true,
            last_ended,
            last_success,
            overdue,
            failed_verification,
        }
    }

    #[test]
    fn a_failed_last_backup_leads_over_everything_else() {
        let (ok, bad, verify) = (
            run(1, RunStatus::Success),
            run(2, RunStatus::Failed),
            run(3, RunStatus::Failed),
        );
        let state = Health::of(&facts(Some(&bad), Some(&ok), true, Some(&verify)));
        assert_eq!(state, Health::Failed(2));
        let interrupted = run(4, RunStatus::Interrupted);
        let state = Health::of(&facts(Some(&interrupted), Some(&ok), false, None));
        assert_eq!(state, Health::Failed(4));
    }

    #[test]
    fn partial_then_overdue_then_verification_then_all_good() {
        let (ok, partial, verify) = (
            run(1, RunStatus::Success),
            run(2, RunStatus::Partial),
            run(3, RunStatus::Failed),
        );
        let all = |ended, overdue, verification| {
            Health::of(&facts(Some(ended), Some(&ok), overdue, verification))
        };
        assert_eq!(all(&partial, true, Some(&verify)), Health::Partial(2));
        assert_eq!(all(&ok, true, Some(&verify)), Health::Overdue);
        assert_eq!(
            all(&ok, false, Some(&verify)),
            Health::VerificationFailed(3)
        );
        assert_eq!(all(&ok, false, None), Health::AllGood);
    }

    #[test]
    fn nothing_backed_up_yet_is_not_set_up() {
        let fresh = HealthFacts {
            has_sources: false,
            ..facts(None, None, false, None)
        };
        assert_eq!(Health::of(&fresh), Health::NotSetUp);
        assert_eq!(
            Health::of(&facts(None, None, true, None)),
            Health::NotSetUp,
            "a source but no backup yet"
        );
    }
}
