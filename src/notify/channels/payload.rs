//! What each kind of channel is sent: the documented JSON of the generic webhook (signed),
//! Slack's `text`, Discord's `content`, ntfy's body and headers, a ping's URL.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use super::hook_url::HookUrl;
use super::http::Outgoing;
use super::kind::{ChannelEvent, ChannelKind};

/// The header carrying a webhook's signature: `sha256=<hex of HMAC-SHA256(secret, body)>`.
pub const SIGNATURE_HEADER: &str = "X-S3Backup-Signature";
pub const EVENT_HEADER: &str = "X-S3Backup-Event";

/// What happened, as every channel is told it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub event: ChannelEvent,
    pub run_id: Option<i64>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    /// The run's page, when the app knows its public address.
    pub url: Option<String>,
    /// A short title ("s3-backup: backup failed") and a one-line summary, in the admin's
    /// language.
    pub title: String,
    pub text: String,
}

impl Serialize for ChannelEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The generic webhook's body.
#[derive(Serialize)]
struct WebhookBody<'a> {
    event: ChannelEvent,
    run_id: Option<i64>,
    kind: Option<&'a str>,
    status: Option<&'a str>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    error: Option<&'a str>,
    url: Option<&'a str>,
    text: &'a str,
}

/// A channel's address and secrets, opened.
pub struct Target<'a> {
    pub kind: ChannelKind,
    pub url: &'a HookUrl,
    pub token: Option<&'a str>,
    pub secret: Option<&'a str>,
}

/// `sha256=<hex>` of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn json(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// The request `target` is sent for `report`.
pub fn outgoing(target: &Target<'_>, report: &Report) -> Outgoing {
    let line = match &report.url {
        Some(url) => format!("{}\n{url}", report.text),
        None => report.text.clone(),
    };
    let json_type = ("Content-Type", "application/json".to_owned());
    let text_type = ("Content-Type", "text/plain; charset=utf-8".to_owned());
    let url = target.url.as_url().clone();
    match target.kind {
        ChannelKind::Webhook => {
            let body = json(&WebhookBody {
                event: report.event,
                run_id: report.run_id,
                kind: report.kind.as_deref(),
                status: report.status.as_deref(),
                started_at: report.started_at,
                finished_at: report.finished_at,
                error: report.error.as_deref(),
                url: report.url.as_deref(),
                text: &report.text,
            });
            let mut headers = vec![json_type, (EVENT_HEADER, report.event.as_str().to_owned())];
            if let Some(secret) = target.secret {
                headers.push((SIGNATURE_HEADER, signature(secret, &body)));
            }
            Outgoing { url, headers, body }
        }
        ChannelKind::Slack => Outgoing {
            url,
            headers: vec![json_type],
            body: json(&serde_json::json!({ "text": line })),
        },
        ChannelKind::Discord => Outgoing {
            url,
            headers: vec![json_type],
            body: json(&serde_json::json!({ "content": line })),
        },
        ChannelKind::Ntfy => {
            let (priority, tags) = if report.event.is_problem() {
                ("high", "warning")
            } else {
                ("default", "white_check_mark")
            };
            let mut headers = vec![
                text_type,
                ("Title", report.title.clone()),
                ("Priority", priority.to_owned()),
                ("Tags", tags.to_owned()),
            ];
            if let Some(link) = &report.url {
                headers.push(("Click", link.clone()));
            }
            if let Some(token) = target.token {
                headers.push(("Authorization", format!("Bearer {token}")));
            }
            Outgoing {
                url,
                headers,
                body: report.text.clone().into_bytes(),
            }
        }
        ChannelKind::Ping => {
            let url = match report.event {
                ChannelEvent::BackupStarted => target.url.with_suffix("/start"),
                event if event.is_problem() => target.url.with_suffix("/fail"),
                _ if report.status.as_deref().is_some_and(|s| s != "success") => {
                    target.url.with_suffix("/fail")
                }
                _ => url,
            };
            Outgoing {
                url,
                headers: vec![text_type],
                body: line.into_bytes(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(event: ChannelEvent) -> Report {
        Report {
            event,
            run_id: Some(7),
            kind: Some("backup".into()),
            status: Some("failed".into()),
            started_at: None,
            finished_at: None,
            error: Some("bucket missing".into()),
            url: None,
            title: "t".into(),
            text: "backup failed".into(),
        }
    }

    #[test]
    fn the_webhook_signature_is_the_hmac_of_the_body() {
        let url = HookUrl::parse("https://example.com/hook").unwrap();
        let target = Target {
            kind: ChannelKind::Webhook,
            url: &url,
            token: None,
            secret: Some("s3cret"),
        };
        let sent = outgoing(&target, &report(ChannelEvent::BackupFailed));
        let header = sent
            .headers
            .iter()
            .find(|(name, _)| *name == SIGNATURE_HEADER)
            .map(|(_, value)| value.clone())
            .unwrap();
        assert_eq!(header, signature("s3cret", &sent.body));
        assert_ne!(header, signature("other", &sent.body));
    }

    #[test]
    fn a_ping_reports_failure_on_its_fail_url() {
        let url = HookUrl::parse("https://hc.example/abc").unwrap();
        let target = Target {
            kind: ChannelKind::Ping,
            url: &url,
            token: None,
            secret: None,
        };
        let sent = outgoing(&target, &report(ChannelEvent::BackupFailed));
        assert_eq!(sent.url.as_str(), "https://hc.example/abc/fail");
        let sent = outgoing(&target, &report(ChannelEvent::BackupStarted));
        assert_eq!(sent.url.as_str(), "https://hc.example/abc/start");
    }
}
