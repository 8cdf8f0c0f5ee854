//! Where to go to fix what made a run fail: the source that failed, or the setting its
//! error points at (credentials, bucket, region, endpoint, folder, Object Lock).

use crate::db::runs::{Run, RunFailure, RunKind, RunStatus};
use crate::lang::{Lang, Message};

/// A link to the place where the cause of a failure can be fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub href: String,
    pub label: String,
}

/// A configured source: its id (for its edit page) and name.
pub struct KnownSource<'a> {
    pub id: i64,
    pub name: &'a str,
}

/// The links that lead to what broke `run`, the failed sources first; none for a run
/// that did not fail.
pub fn fixes(run: &Run, failed: &[RunFailure], sources: &[KnownSource], lang: Lang) -> Vec<Fix> {
    if !matches!(
        run.status,
        RunStatus::Failed | RunStatus::Partial | RunStatus::Interrupted
    ) {
        return Vec::new();
    }
    let mut found = Vec::new();
    for failure in failed {
        found.push(source_fix(&failure.source, sources, lang));
    }
    if let Some(error) = &run.error {
        // A source named by the error only (a run recorded before its sources were).
        if let Some(name) = param(error, "source") {
            found.push(source_fix(name, sources, lang));
        }
        if let Some(fix) = setting_fix(error, lang) {
            found.push(fix);
        }
        if matches!(run.kind, RunKind::Restore | RunKind::Verify)
            && let Some(name) = run.folder.as_deref().and_then(folder_name)
        {
            found.push(Fix {
                href: format!("/restore/{name}"),
                label: Message::new("fix.backup").with("name", name).render(lang),
            });
        }
    }
    let mut seen = std::collections::HashSet::new();
    found.retain(|fix| seen.insert(fix.href.clone()));
    found
}

fn source_fix(name: &str, sources: &[KnownSource], lang: Lang) -> Fix {
    match sources.iter().find(|source| source.name == name) {
        Some(source) => Fix {
            href: format!("/sources/{}", source.id),
            label: Message::new("fix.source").with("name", name).render(lang),
        },
        None => Fix {
            href: "/sources".to_owned(),
            label: Message::new("fix.sources").with("name", name).render(lang),
        },
    }
}

/// The setting an error of the engine or of the S3 server points at.
fn setting_fix(error: &Message, lang: Lang) -> Option<Fix> {
    let detail = error.detail.as_deref().unwrap_or_default();
    let (href, label) = match error.key.as_ref() {
        "run.error.no_sources" | "backups.no_sources" => ("/sources", "fix.add_source"),
        "run.error.s3_denied" => ("/settings#f-access_key_id", "fix.access_key"),
        "run.error.s3_unreachable" => ("/settings#f-endpoint_url", "fix.endpoint"),
        "run.error.s3" => s3_setting(detail),
        "run.error.folder_taken" => ("/settings#f-backup_path", "fix.prefix"),
        "backups.not_configured" | "run.error.not_started" => ("/settings", "fix.settings"),
        key if key.starts_with("backup.object_lock.") => {
            ("/settings#f-object_lock_mode", "fix.object_lock")
        }
        _ => return None,
    };
    Some(Fix {
        href: href.to_owned(),
        label: lang.t(label),
    })
}

/// The setting an S3 error code is about (the code leads the quoted detail).
fn s3_setting(detail: &str) -> (&'static str, &'static str) {
    const CODES: [(&str, &str, &str); 6] = [
        (
            "InvalidAccessKeyId",
            "/settings#f-access_key_id",
            "fix.access_key",
        ),
        (
            "AccessDenied",
            "/settings#f-access_key_id",
            "fix.access_key",
        ),
        (
            "SignatureDoesNotMatch",
            "/settings#f-secret_access_key",
            "fix.secret_key",
        ),
        ("NoSuchBucket", "/settings#f-bucket", "fix.bucket"),
        (
            "AuthorizationHeaderMalformed",
            "/settings#f-region",
            "fix.region",
        ),
        ("PermanentRedirect", "/settings#f-region", "fix.region"),
    ];
    CODES
        .iter()
        .find(|(code, _, _)| detail.starts_with(code))
        .map_or(("/settings#f-bucket", "fix.bucket"), |(_, href, label)| {
            (href, label)
        })
}

fn param<'a>(message: &'a Message, name: &str) -> Option<&'a str> {
    message.params.iter().find_map(|(key, value)| match value {
        crate::lang::Param::Text(text) if key == name => Some(text.as_str()),
        _ => None,
    })
}

/// A backup folder's name: the last part of its key.
fn folder_name(key: &str) -> Option<&str> {
    key.rsplit('/').next().filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::runs::Trigger;

    fn failed_run(kind: RunKind, error: Message) -> Run {
        Run {
            id: 7,
            kind,
            trigger: Trigger::Manual,
            status: RunStatus::Failed,
            started_at: chrono::Utc::now(),
            finished_at: Some(chrono::Utc::now()),
            scheduled_for: None,
            folder: Some("erp/2026-11-30T020000Z".to_owned()),
            total_bytes: 0,
            object_count: 0,
            error: Some(error),
            warning: None,
            progress: None,
            request: None,
        }
    }

    fn hrefs(fixes: &[Fix]) -> Vec<&str> {
        fixes.iter().map(|fix| fix.href.as_str()).collect()
    }

    #[test]
    fn a_wrong_secret_leads_to_the_secret_field() {
        let error = Message::new("run.error.s3")
            .with_labels("step", ["run.s3.list".to_owned()])
            .with("object", "s3://b/erp/")
            .detail("SignatureDoesNotMatch: The request signature we calculated does not match");
        let run = failed_run(RunKind::Backup, error);
        let fixes = fixes(&run, &[], &[], Lang::EN);
        assert_eq!(hrefs(&fixes), ["/settings#f-secret_access_key"]);
        assert!(fixes[0].label.contains("secret access key"), "{fixes:?}");
    }

    #[test]
    fn a_failed_source_leads_to_its_edit_page_once() {
        let error = Message::new("run.error.tool_failed")
            .with("source", "shop")
            .with("tool", "pg_dump")
            .with("code", 1);
        let run = failed_run(RunKind::Backup, error.clone());
        let failed = [RunFailure {
            source: "shop".to_owned(),
            kind: "postgres".to_owned(),
            error,
        }];
        let sources = [KnownSource {
            id: 3,
            name: "shop",
        }];
        let fixes = fixes(&run, &failed, &sources, Lang::FR);
        assert_eq!(hrefs(&fixes), ["/sources/3"]);
        assert!(fixes[0].label.contains("shop"));
    }

    #[test]
    fn a_failed_verification_leads_to_its_backup() {
        let error = Message::new("run.verify.some_failed")
            .with("failed", 1)
            .with("total", 2)
            .with("sources", "files");
        let run = failed_run(RunKind::Verify, error);
        let fixes = fixes(&run, &[], &[], Lang::EN);
        assert_eq!(hrefs(&fixes), ["/restore/2026-11-30T020000Z"]);
    }

    #[test]
    fn a_successful_run_has_nothing_to_fix() {
        let mut run = failed_run(RunKind::Backup, Message::new("run.error.s3_denied"));
        run.status = RunStatus::Success;
        assert!(fixes(&run, &[], &[], Lang::EN).is_empty());
    }
}
