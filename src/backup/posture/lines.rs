//! The posture as the lines "Test connection" shows, one per setting, in the reader's
//! language; a bucket anyone can read is an alarm.

use super::{
    BlockPublicAccess, DefaultEncryption, Finding, LifecycleAction, LifecycleRule, LockConfig,
    Period, Posture, PublicAccess, Versioning,
};
use crate::lang::Lang;

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostureLine {
    pub text: String,
    /// Shown loud: the bucket is readable by anyone.
    pub alarm: bool,
}

impl Posture {
    /// Public access, default encryption, versioning, Object Lock, lifecycle: in this order.
    pub fn lines(&self, lang: Lang) -> Vec<PostureLine> {
        let quiet = |label: String, value: String| PostureLine {
            text: labelled(lang, &label, &value),
            alarm: false,
        };
        let prefix = if self.prefix.is_empty() {
            lang.t("backup.posture.whole_bucket")
        } else {
            self.prefix.clone()
        };
        vec![
            public_access(&self.public_access, lang),
            quiet(
                lang.t("backup.posture.encryption"),
                answer(&self.encryption, lang, |e| encryption(e, lang)),
            ),
            quiet(
                lang.t("backup.posture.versioning"),
                answer(&self.versioning, lang, |v| versioning(*v, lang)),
            ),
            quiet(
                lang.t("backup.posture.object_lock"),
                answer(&self.object_lock, lang, |l| object_lock(l, lang)),
            ),
            quiet(
                lang.tp("backup.posture.lifecycle", &[("prefix", &prefix)]),
                answer(&self.lifecycle, lang, |rules| lifecycle(rules, lang)),
            ),
        ]
    }
}

fn labelled(lang: Lang, label: &str, value: &str) -> String {
    let separator = if lang == Lang::FR { "\u{a0}: " } else { ": " };
    format!("{label}{separator}{value}")
}

/// The setting as read, or why it was not.
fn answer<T>(finding: &Finding<T>, lang: Lang, seen: impl FnOnce(&T) -> String) -> String {
    match finding {
        Finding::Seen(value) => seen(value),
        Finding::NotConfigured => lang.t("backup.posture.not_configured"),
        Finding::NotVisible => lang.t("backup.posture.not_visible"),
        Finding::NotSupported => lang.t("backup.posture.not_supported"),
        Finding::Failed(detail) => lang.tp("backup.posture.failed", &[("detail", detail)]),
    }
}

fn public_access(access: &PublicAccess, lang: Lang) -> PostureLine {
    let block = answer(&access.block, lang, |block| block_switches(block, lang));
    let label = lang.t("backup.posture.public_access");
    if access.readable_by_anyone() {
        let mut why = Vec::new();
        if access.policy_is_public == Finding::Seen(true) {
            why.push(lang.t("backup.posture.public.why_policy"));
        }
        if access.acl_grants_everyone == Finding::Seen(true) {
            why.push(lang.t("backup.posture.public.why_acl"));
        }
        let exposed = lang.tp("backup.posture.public.exposed", &[("why", &why.join(", "))]);
        return PostureLine {
            text: labelled(lang, &label, &format!("{exposed}; {block}")),
            alarm: true,
        };
    }
    let findings = [&access.policy_is_public, &access.acl_grants_everyone];
    let exposure = if findings.iter().any(|f| **f == Finding::NotVisible) {
        Some(lang.t("backup.posture.public.exposure_not_visible"))
    } else if findings
        .iter()
        .all(|f| matches!(f, Finding::Seen(_) | Finding::NotConfigured))
    {
        Some(lang.t("backup.posture.public.private"))
    } else {
        None
    };
    let value = match exposure {
        Some(exposure) => format!("{block}; {exposure}"),
        None => block,
    };
    PostureLine {
        text: labelled(lang, &label, &value),
        alarm: false,
    }
}

fn block_switches(block: &BlockPublicAccess, lang: Lang) -> String {
    let off = block.off();
    match off.len() {
        0 => lang.t("backup.posture.public.blocked"),
        4 => lang.t("backup.posture.public.open"),
        _ => lang.tp(
            "backup.posture.public.partly",
            &[("switches", &off.join(", "))],
        ),
    }
}

fn encryption(encryption: &DefaultEncryption, lang: Lang) -> String {
    match (encryption.algorithm.as_str(), &encryption.kms_key) {
        ("AES256", _) => lang.t("backup.posture.encryption.sse_s3"),
        ("aws:kms", None) => lang.t("backup.posture.encryption.kms_default"),
        (_, Some(key)) => lang.tp(
            "backup.posture.encryption.with_key",
            &[("algorithm", &encryption.algorithm), ("key", key)],
        ),
        (algorithm, None) => algorithm.to_owned(),
    }
}

fn versioning(versioning: Versioning, lang: Lang) -> String {
    lang.t(match versioning {
        Versioning::Enabled => "backup.posture.versioning.enabled",
        Versioning::Suspended => "backup.posture.versioning.suspended",
        Versioning::Off => "backup.posture.versioning.off",
    })
}

fn period(period: Period, lang: Lang) -> String {
    match period {
        Period::Days(count) => lang.tp("backup.posture.days", &[("count", &count.to_string())]),
        Period::Years(count) => lang.tp("backup.posture.years", &[("count", &count.to_string())]),
    }
}

fn object_lock(lock: &LockConfig, lang: Lang) -> String {
    match (lock.enabled, lock.default) {
        (false, _) => lang.t("backup.posture.not_configured"),
        (true, None) => lang.t("backup.posture.object_lock.enabled"),
        (true, Some((mode, span))) => lang.tp(
            "backup.posture.object_lock.enabled_default",
            &[("mode", mode.s3_name()), ("period", &period(span, lang))],
        ),
    }
}

fn lifecycle(rules: &[LifecycleRule], lang: Lang) -> String {
    if rules.is_empty() {
        return lang.t("backup.posture.lifecycle.none");
    }
    rules
        .iter()
        .map(|rule| {
            let name = match &rule.id {
                Some(id) => format!("“{id}”"),
                None => lang.t("backup.posture.lifecycle.unnamed"),
            };
            let scope = match &rule.narrower_prefix {
                Some(prefix) => format!(
                    " {}",
                    lang.tp("backup.posture.lifecycle.only", &[("prefix", prefix)])
                ),
                None => String::new(),
            };
            let actions = if rule.actions.is_empty() {
                lang.t("backup.posture.lifecycle.no_action")
            } else {
                rule.actions
                    .iter()
                    .map(|action| lifecycle_action(action, lang))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            labelled(lang, &format!("{name}{scope}"), &actions)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn lifecycle_action(action: &LifecycleAction, lang: Lang) -> String {
    let days = |days: &i32| days.to_string();
    match action {
        LifecycleAction::ExpireAfterDays(count) => lang.tp(
            "backup.posture.lifecycle.expire_days",
            &[("days", &days(count))],
        ),
        LifecycleAction::ExpireOn(date) => lang.tp(
            "backup.posture.lifecycle.expire_date",
            &[("date", &date.to_string())],
        ),
        LifecycleAction::RemoveExpiredDeleteMarkers => {
            lang.t("backup.posture.lifecycle.delete_markers")
        }
        LifecycleAction::TransitionAfterDays {
            storage_class,
            days: count,
        } => lang.tp(
            "backup.posture.lifecycle.transition_days",
            &[("class", storage_class), ("days", &days(count))],
        ),
        LifecycleAction::TransitionOn {
            storage_class,
            date,
        } => lang.tp(
            "backup.posture.lifecycle.transition_date",
            &[("class", storage_class), ("date", &date.to_string())],
        ),
        LifecycleAction::ExpireNoncurrentAfterDays(count) => lang.tp(
            "backup.posture.lifecycle.noncurrent_expire",
            &[("days", &days(count))],
        ),
        LifecycleAction::TransitionNoncurrentAfterDays {
            storage_class,
            days: count,
        } => lang.tp(
            "backup.posture.lifecycle.noncurrent_transition",
            &[("class", storage_class), ("days", &days(count))],
        ),
        LifecycleAction::AbortIncompleteUploadsAfterDays(count) => lang.tp(
            "backup.posture.lifecycle.abort_uploads",
            &[("days", &days(count))],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::LockMode;

    fn everything_seen() -> Posture {
        Posture {
            prefix: "erp/".into(),
            public_access: PublicAccess {
                block: Finding::Seen(BlockPublicAccess {
                    block_public_acls: true,
                    ignore_public_acls: true,
                    block_public_policy: true,
                    restrict_public_buckets: true,
                }),
                policy_is_public: Finding::NotConfigured,
                acl_grants_everyone: Finding::Seen(false),
            },
            encryption: Finding::Seen(DefaultEncryption {
                algorithm: "aws:kms".into(),
                kms_key: Some("alias/backups".into()),
            }),
            versioning: Finding::Seen(Versioning::Enabled),
            object_lock: Finding::Seen(LockConfig {
                enabled: true,
                default: Some((LockMode::Compliance, Period::Years(1))),
            }),
            lifecycle: Finding::Seen(vec![LifecycleRule {
                id: Some("tiering".into()),
                narrower_prefix: None,
                actions: vec![
                    LifecycleAction::ExpireAfterDays(365),
                    LifecycleAction::TransitionAfterDays {
                        storage_class: "GLACIER".into(),
                        days: 30,
                    },
                    LifecycleAction::AbortIncompleteUploadsAfterDays(7),
                ],
            }]),
        }
    }

    /// A finding other than `Seen`, for any setting.
    fn unseen<T>(finding: &Finding<()>) -> Finding<T> {
        match finding {
            Finding::NotConfigured => Finding::NotConfigured,
            Finding::NotVisible => Finding::NotVisible,
            Finding::NotSupported => Finding::NotSupported,
            Finding::Failed(detail) => Finding::Failed(detail.clone()),
            Finding::Seen(()) => unreachable!("only unseen findings here"),
        }
    }

    fn nothing_seen(finding: &Finding<()>) -> Posture {
        Posture {
            prefix: String::new(),
            public_access: PublicAccess {
                block: unseen(finding),
                policy_is_public: unseen(finding),
                acl_grants_everyone: unseen(finding),
            },
            encryption: unseen(finding),
            versioning: unseen(finding),
            object_lock: unseen(finding),
            lifecycle: unseen(finding),
        }
    }

    #[test]
    fn each_setting_has_its_line() {
        let lines: Vec<String> = everything_seen()
            .lines(Lang::EN)
            .into_iter()
            .map(|line| line.text)
            .collect();
        assert_eq!(
            lines,
            [
                "Public access: blocked (all four Block Public Access settings are on); its policy and ACL do not make it public",
                "Default encryption: aws:kms with the key alias/backups",
                "Versioning: enabled",
                "Object Lock: enabled, default retention COMPLIANCE for 1 year(s)",
                "Lifecycle rules under erp/: “tiering”: objects expire 365 days after they are written, move to GLACIER after 30 days, incomplete multipart uploads are aborted after 7 days",
            ]
        );
    }

    #[test]
    fn unreadable_settings_say_why_in_both_languages() {
        for (finding, en, fr) in [
            (
                Finding::NotVisible,
                "not visible with these credentials",
                "non visible avec ces identifiants",
            ),
            (Finding::NotConfigured, "not configured", "non configuré"),
            (
                Finding::NotSupported,
                "not supported by this server",
                "non pris en charge par ce serveur",
            ),
        ] {
            let posture = nothing_seen(&finding);
            for (lang, expected) in [(Lang::EN, en), (Lang::FR, fr)] {
                let lines = posture.lines(lang);
                assert_eq!(lines.len(), 5);
                for line in &lines {
                    assert!(line.text.contains(expected), "{}", line.text);
                    assert!(!line.alarm);
                    assert!(!line.text.contains("backup.posture"), "{}", line.text);
                }
            }
        }
    }

    #[test]
    fn a_bucket_anyone_can_read_is_an_alarm() {
        let mut posture = everything_seen();
        posture.public_access = PublicAccess {
            block: Finding::NotConfigured,
            policy_is_public: Finding::Seen(true),
            acl_grants_everyone: Finding::Seen(true),
        };
        for lang in [Lang::EN, Lang::FR] {
            let line = &posture.lines(lang)[0];
            assert!(line.alarm);
            assert!(
                line.text.contains("ANYONE") || line.text.contains("N'IMPORTE QUI"),
                "{}",
                line.text
            );
        }
    }

    #[test]
    fn every_lifecycle_action_and_answer_is_translated() {
        let actions = vec![
            LifecycleAction::ExpireAfterDays(1),
            LifecycleAction::ExpireOn(chrono::NaiveDate::MIN),
            LifecycleAction::RemoveExpiredDeleteMarkers,
            LifecycleAction::TransitionAfterDays {
                storage_class: "GLACIER".into(),
                days: 1,
            },
            LifecycleAction::TransitionOn {
                storage_class: "GLACIER".into(),
                date: chrono::NaiveDate::MIN,
            },
            LifecycleAction::ExpireNoncurrentAfterDays(1),
            LifecycleAction::TransitionNoncurrentAfterDays {
                storage_class: "GLACIER".into(),
                days: 1,
            },
            LifecycleAction::AbortIncompleteUploadsAfterDays(1),
        ];
        for lang in [Lang::EN, Lang::FR] {
            for action in &actions {
                let text = lifecycle_action(action, lang);
                assert!(!text.contains("backup.") && !text.contains("%{"), "{text}");
            }
            for text in [
                lifecycle(&[], lang),
                versioning(Versioning::Suspended, lang),
                versioning(Versioning::Off, lang),
                period(Period::Days(3), lang),
                object_lock(
                    &LockConfig {
                        enabled: true,
                        default: None,
                    },
                    lang,
                ),
                encryption(
                    &DefaultEncryption {
                        algorithm: "AES256".into(),
                        kms_key: None,
                    },
                    lang,
                ),
                answer::<()>(&Finding::Failed("boom".into()), lang, |_| String::new()),
            ] {
                assert!(!text.contains("backup.") && !text.contains("%{"), "{text}");
            }
        }
    }
}
