//! The lifecycle rules that act on the backups: enabled, with a filter that takes objects
//! under the prefix (a rule limited to tags never does: backups carry none), and what each
//! one does to them.

use aws_sdk_s3::types::{ExpirationStatus, LifecycleRule as SdkRule};
use chrono::{DateTime, NaiveDate};

/// A span of time as S3 configurations give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Days(i32),
    Years(i32),
}

/// What a rule does to the objects it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleAction {
    ExpireAfterDays(i32),
    ExpireOn(NaiveDate),
    /// Removes delete markers left without versions.
    RemoveExpiredDeleteMarkers,
    TransitionAfterDays {
        storage_class: String,
        days: i32,
    },
    TransitionOn {
        storage_class: String,
        date: NaiveDate,
    },
    /// Versions replaced (or deleted) this many days ago are removed.
    ExpireNoncurrentAfterDays(i32),
    TransitionNoncurrentAfterDays {
        storage_class: String,
        days: i32,
    },
    AbortIncompleteUploadsAfterDays(i32),
}

/// One rule that applies under the prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleRule {
    pub id: Option<String>,
    /// The rule's own prefix when it takes only part of the backups' prefix.
    pub narrower_prefix: Option<String>,
    pub actions: Vec<LifecycleAction>,
}

/// The enabled rules that take objects under `prefix` ("" or "erp/").
pub(super) fn under_prefix(rules: Vec<SdkRule>, prefix: &str) -> Vec<LifecycleRule> {
    rules
        .iter()
        .filter(|rule| *rule.status() == ExpirationStatus::Enabled)
        .filter_map(|rule| {
            let filter = rule_prefix(rule)?;
            let applies = prefix.starts_with(filter) || filter.starts_with(prefix);
            applies.then(|| LifecycleRule {
                id: rule.id().filter(|id| !id.is_empty()).map(str::to_owned),
                narrower_prefix: (filter.len() > prefix.len()).then(|| filter.to_owned()),
                actions: actions(rule),
            })
        })
        .collect()
}

/// The key prefix a rule selects, or `None` when it selects by tags (which backups never
/// carry).
fn rule_prefix(rule: &SdkRule) -> Option<&str> {
    let Some(filter) = rule.filter() else {
        #[allow(deprecated)]
        return Some(rule.prefix().unwrap_or(""));
    };
    if filter.tag().is_some() {
        return None;
    }
    match filter.and() {
        Some(and) if !and.tags().is_empty() => None,
        Some(and) => Some(and.prefix().unwrap_or("")),
        None => Some(filter.prefix().unwrap_or("")),
    }
}

fn day(date: &aws_smithy_types::DateTime) -> Option<NaiveDate> {
    DateTime::from_timestamp(date.secs(), 0).map(|at| at.date_naive())
}

fn actions(rule: &SdkRule) -> Vec<LifecycleAction> {
    let mut actions = Vec::new();
    if let Some(expiration) = rule.expiration() {
        if let Some(days) = expiration.days() {
            actions.push(LifecycleAction::ExpireAfterDays(days));
        }
        if let Some(date) = expiration.date().and_then(day) {
            actions.push(LifecycleAction::ExpireOn(date));
        }
        if expiration.expired_object_delete_marker() == Some(true) {
            actions.push(LifecycleAction::RemoveExpiredDeleteMarkers);
        }
    }
    for transition in rule.transitions() {
        let storage_class = transition
            .storage_class()
            .map_or_else(String::new, |class| class.as_str().to_owned());
        if let Some(days) = transition.days() {
            actions.push(LifecycleAction::TransitionAfterDays {
                storage_class: storage_class.clone(),
                days,
            });
        }
        if let Some(date) = transition.date().and_then(day) {
            actions.push(LifecycleAction::TransitionOn {
                storage_class,
                date,
            });
        }
    }
    if let Some(days) = rule
        .noncurrent_version_expiration()
        .and_then(|expiration| expiration.noncurrent_days())
    {
        actions.push(LifecycleAction::ExpireNoncurrentAfterDays(days));
    }
    for transition in rule.noncurrent_version_transitions() {
        if let Some(days) = transition.noncurrent_days() {
            actions.push(LifecycleAction::TransitionNoncurrentAfterDays {
                storage_class: transition
                    .storage_class()
                    .map_or_else(String::new, |class| class.as_str().to_owned()),
                days,
            });
        }
    }
    if let Some(days) = rule
        .abort_incomplete_multipart_upload()
        .and_then(|abort| abort.days_after_initiation())
    {
        actions.push(LifecycleAction::AbortIncompleteUploadsAfterDays(days));
    }
    actions
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::types::{
        AbortIncompleteMultipartUpload, LifecycleExpiration, LifecycleRuleAndOperator,
        LifecycleRuleFilter, Tag, Transition, TransitionStorageClass,
    };

    use super::*;

    fn rule(id: &str, filter: LifecycleRuleFilter, status: ExpirationStatus) -> SdkRule {
        SdkRule::builder()
            .id(id)
            .filter(filter)
            .status(status)
            .expiration(LifecycleExpiration::builder().days(30).build())
            .build()
            .expect("a rule")
    }

    fn prefixed(prefix: &str) -> LifecycleRuleFilter {
        LifecycleRuleFilter::builder().prefix(prefix).build()
    }

    #[test]
    fn only_enabled_rules_that_take_backups_are_kept() {
        let tagged = LifecycleRuleFilter::builder()
            .tag(Tag::builder().key("k").value("v").build().expect("tag"))
            .build();
        let tagged_and = LifecycleRuleFilter::builder()
            .and(
                LifecycleRuleAndOperator::builder()
                    .prefix("erp/")
                    .tags(Tag::builder().key("k").value("v").build().expect("tag"))
                    .build(),
            )
            .build();
        let rules = vec![
            rule("whole", prefixed(""), ExpirationStatus::Enabled),
            rule("ours", prefixed("erp/"), ExpirationStatus::Enabled),
            rule("part", prefixed("erp/2026"), ExpirationStatus::Enabled),
            rule("other", prefixed("wiki/"), ExpirationStatus::Enabled),
            rule("off", prefixed("erp/"), ExpirationStatus::Disabled),
            rule("tagged", tagged, ExpirationStatus::Enabled),
            rule("tagged-and", tagged_and, ExpirationStatus::Enabled),
        ];

        let kept = under_prefix(rules, "erp/");

        let ids: Vec<_> = kept.iter().filter_map(|rule| rule.id.as_deref()).collect();
        assert_eq!(ids, ["whole", "ours", "part"]);
        assert_eq!(kept[0].narrower_prefix, None);
        assert_eq!(kept[2].narrower_prefix.as_deref(), Some("erp/2026"));
        assert_eq!(kept[1].actions, [LifecycleAction::ExpireAfterDays(30)]);
    }

    #[test]
    fn every_action_of_a_rule_is_read() {
        let sdk = SdkRule::builder()
            .id("tiering")
            .filter(prefixed("erp/"))
            .status(ExpirationStatus::Enabled)
            .transitions(
                Transition::builder()
                    .days(7)
                    .storage_class(TransitionStorageClass::Glacier)
                    .build(),
            )
            .abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(2)
                    .build(),
            )
            .build()
            .expect("a rule");

        let kept = under_prefix(vec![sdk], "");

        assert_eq!(
            kept[0].actions,
            [
                LifecycleAction::TransitionAfterDays {
                    storage_class: "GLACIER".into(),
                    days: 7
                },
                LifecycleAction::AbortIncompleteUploadsAfterDays(2),
            ]
        );
        assert_eq!(kept[0].narrower_prefix.as_deref(), Some("erp/"));
    }
}
