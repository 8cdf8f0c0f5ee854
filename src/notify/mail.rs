//! What the mails say: each notification is a text and an HTML template
//! (`templates/email/`) filled in the admin's language, with a subject saying what happened.

use std::ops::Deref;

use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};

use super::account::SmtpAccount;
use super::problem::MailProblem;
use crate::db::runs::{Run, RunId, RunKind, RunStatus, Trigger};
use crate::settings::EmailList;

use crate::lang::Lang;

/// Subject and bodies of one mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Where the admin reads more: a full URL when the public address is known, otherwise
/// the page's path explained.
#[derive(Debug, Clone)]
pub struct Link {
    pub text: String,
    pub url: Option<String>,
}

impl Link {
    fn to_page(tr: Lang, public_url: Option<&url::Url>, path: &str, key: &str) -> Link {
        match public_url {
            Some(base) => Link {
                text: tr.t(key),
                url: Some(format!(
                    "{}/{}",
                    base.as_str().trim_end_matches('/'),
                    path.trim_start_matches('/')
                )),
            },
            None => Link {
                text: tr.td(&format!("{key}_relative"), path),
                url: None,
            },
        }
    }
}

/// What is known about the app around a mail: its address, the admin's language and
/// time zone.
#[derive(Debug, Clone)]
pub struct MailContext {
    pub tr: Lang,
    pub tz: Tz,
    pub public_url: Option<url::Url>,
}

impl MailContext {
    /// `2026-11-24 02:00 CET`, in the settings' time zone.
    pub fn when(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.tz)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    }
}

/// The facts of a run a report shows.
pub struct RunReport {
    pub l: Lang,
    pub subject: String,
    pub intro: String,
    pub trigger: String,
    pub started: String,
    pub duration: String,
    pub size: String,
    pub objects: i64,
    pub folder: Option<String>,
    pub error: Option<String>,
    pub context: Vec<String>,
    pub warning: Option<String>,
    pub link: Link,
}

#[derive(Template)]
#[template(path = "email/run_report.txt")]
struct RunReportText<'a> {
    report: &'a RunReport,
}

#[derive(Template)]
#[template(path = "email/run_report.html")]
struct RunReportHtml<'a> {
    report: &'a RunReport,
}

impl Deref for RunReportText<'_> {
    type Target = RunReport;
    fn deref(&self) -> &RunReport {
        self.report
    }
}

impl Deref for RunReportHtml<'_> {
    type Target = RunReport;
    fn deref(&self) -> &RunReport {
        self.report
    }
}

/// How many log lines a failure report quotes.
const CONTEXT_LINES: usize = 12;

/// The report of a finished run. `what` names what was backed up (e.g. the sources).
pub fn run_report(
    ctx: &MailContext,
    run: &Run,
    what: &str,
    log: &[String],
) -> Result<Mail, askama::Error> {
    let tr = ctx.tr;
    let (subject_key, intro_key) = match (run.kind, run.status) {
        (RunKind::Restore, RunStatus::Success) => (
            "notify.subject.restore_success",
            "notify.run.intro_restore_success",
        ),
        (RunKind::Restore, RunStatus::Interrupted) => (
            "notify.subject.restore_interrupted",
            "notify.run.intro_restore_interrupted",
        ),
        (RunKind::Restore, RunStatus::Partial) => (
            "notify.subject.restore_partial",
            "notify.run.intro_restore_partial",
        ),
        (RunKind::Restore, _) => (
            "notify.subject.restore_failed",
            "notify.run.intro_restore_failed",
        ),
        (RunKind::Verify, RunStatus::Success) => (
            "notify.subject.verify_success",
            "notify.run.intro_verify_success",
        ),
        (RunKind::Verify, _) => (
            "notify.subject.verify_failed",
            "notify.run.intro_verify_failed",
        ),
        (_, RunStatus::Success) => ("notify.subject.success", "notify.run.intro_success"),
        (_, RunStatus::Interrupted) => {
            ("notify.subject.interrupted", "notify.run.intro_interrupted")
        }
        (_, RunStatus::Partial) => ("notify.subject.partial", "notify.run.intro_partial"),
        _ => ("notify.subject.failed", "notify.run.intro_failed"),
    };
    let subject = tr.td(
        subject_key,
        &format!("{what} — {}", ctx.when(run.started_at)),
    );
    let failed = run.status != RunStatus::Success;
    let context = if failed {
        let skip = log.len().saturating_sub(CONTEXT_LINES);
        log[skip..].to_vec()
    } else {
        Vec::new()
    };
    let report = RunReport {
        l: tr,
        subject,
        intro: tr.t(intro_key),
        trigger: tr.t(match run.trigger {
            Trigger::Manual if run.kind != RunKind::Backup => "notify.run.trigger_restore_page",
            Trigger::Manual => "notify.run.trigger_manual",
            Trigger::Scheduled => "notify.run.trigger_scheduled",
            Trigger::Cli => "notify.run.trigger_cli",
            Trigger::Api => "notify.run.trigger_api",
        }),
        started: ctx.when(run.started_at),
        duration: run
            .finished_at
            .map(|end| crate::format::duration(end - run.started_at))
            .unwrap_or_else(|| "—".to_owned()),
        size: crate::format::size_i64(run.total_bytes, tr),
        objects: run.object_count,
        folder: run.folder.clone(),
        error: run.error.as_ref().filter(|_| failed).map(|e| e.render(tr)),
        context,
        warning: run.warning.as_ref().map(|w| w.render(tr)),
        link: Link::to_page(
            tr,
            ctx.public_url.as_ref(),
            &run_path(run.id),
            "notify.link.run",
        ),
    };
    Ok(Mail {
        text: RunReportText { report: &report }.render()?,
        html: RunReportHtml { report: &report }.render()?,
        subject: report.subject,
    })
}

/// The page of a run in the history.
pub fn run_path(id: RunId) -> String {
    format!("/backups/{id}")
}

pub struct OverdueAlert {
    pub l: Lang,
    pub subject: String,
    pub intro: String,
    pub last_success: String,
    pub expected_by: String,
    pub link: Link,
}

#[derive(Template)]
#[template(path = "email/overdue.txt")]
struct OverdueText<'a> {
    alert: &'a OverdueAlert,
}

#[derive(Template)]
#[template(path = "email/overdue.html")]
struct OverdueHtml<'a> {
    alert: &'a OverdueAlert,
}

impl Deref for OverdueText<'_> {
    type Target = OverdueAlert;
    fn deref(&self) -> &OverdueAlert {
        self.alert
    }
}

impl Deref for OverdueHtml<'_> {
    type Target = OverdueAlert;
    fn deref(&self) -> &OverdueAlert {
        self.alert
    }
}

/// The alert that no backup succeeded in time.
pub fn overdue_alert(
    ctx: &MailContext,
    last_success: Option<DateTime<Utc>>,
    expected_by: DateTime<Utc>,
) -> Result<Mail, askama::Error> {
    let tr = ctx.tr;
    let subject = match last_success {
        Some(at) => tr.td("notify.subject.overdue", &ctx.when(at)),
        None => tr.t("notify.subject.overdue_never"),
    };
    let alert = OverdueAlert {
        l: tr,
        subject,
        intro: tr.t("notify.overdue.intro"),
        last_success: last_success
            .map(|at| ctx.when(at))
            .unwrap_or_else(|| tr.t("notify.overdue.never")),
        expected_by: ctx.when(expected_by),
        link: Link::to_page(
            tr,
            ctx.public_url.as_ref(),
            "/backups",
            "notify.link.history",
        ),
    };
    Ok(Mail {
        text: OverdueText { alert: &alert }.render()?,
        html: OverdueHtml { alert: &alert }.render()?,
        subject: alert.subject,
    })
}

#[derive(Template)]
#[template(path = "email/test.txt")]
struct TestText<'a> {
    l: Lang,
    server: &'a str,
    sender: &'a str,
}

#[derive(Template)]
#[template(path = "email/test.html")]
struct TestHtml<'a> {
    l: Lang,
    subject: &'a str,
    server: &'a str,
    sender: &'a str,
}

/// The "Send test e-mail" message.
pub fn test_mail(tr: Lang, account: &SmtpAccount) -> Result<Mail, askama::Error> {
    let subject = tr.t("notify.subject.test");
    let server = account.server();
    let sender = account.sender.to_string();
    Ok(Mail {
        text: TestText {
            l: tr,
            server: &server,
            sender: &sender,
        }
        .render()?,
        html: TestHtml {
            l: tr,
            subject: &subject,
            server: &server,
            sender: &sender,
        }
        .render()?,
        subject,
    })
}

/// The message from the account's sender to every address of `to`.
pub fn message(account: &SmtpAccount, to: &EmailList, mail: &Mail) -> Result<Message, MailProblem> {
    if to.is_empty() {
        return Err(MailProblem::NoRecipients);
    }
    let mut builder = Message::builder()
        .from(account.sender.clone())
        .subject(mail.subject.clone());
    for address in to {
        builder = builder.to(Mailbox::new(None, address.address().clone()));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .map_err(|error| MailProblem::Protocol {
            detail: error.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_without_public_address_names_the_page() {
        let link = Link::to_page(Lang::EN, None, "/backups/7", "notify.link.run");
        assert!(link.url.is_none());
        assert!(link.text.contains("/backups/7"), "{}", link.text);
        let base = url::Url::parse("https://backup.example.com/app/").ok();
        let link = Link::to_page(Lang::FR, base.as_ref(), "/backups/7", "notify.link.run");
        assert_eq!(
            link.url.as_deref(),
            Some("https://backup.example.com/app/backups/7")
        );
    }
}
