//! The first-run checklist: bucket tested, a source added, e-mail account tested, first
//! backup succeeded. A test counts only for the settings it passed with: each is kept with
//! a fingerprint (a SHA-256, so no address or key is stored twice) compared with what is saved.

use sha2::{Digest, Sha256};
use sqlx::{SqliteConnection, SqlitePool};

use crate::db::checks::{self, Check};
use crate::db::email_account::StoredEmailAccount;
use crate::lang::Lang;
use crate::settings::Settings;

/// What "Test connection" reached: endpoint, region, bucket, prefix, key id, addressing.
pub fn bucket_fingerprint(settings: &Settings) -> String {
    let path_style = if settings.path_style {
        "path"
    } else {
        "virtual"
    };
    fingerprint(&[
        settings.endpoint.as_str(),
        settings.region.as_str(),
        settings.bucket.as_ref().map_or("", |b| b.as_str()),
        settings.prefix.as_str(),
        settings.access_key_id.as_ref().map_or("", |k| k.as_str()),
        path_style,
    ])
}

/// The account "Send test e-mail" sent through (its password aside: it is sealed anew on
/// each save, and a wrong one fails the next mail loudly).
pub fn email_fingerprint(account: &StoredEmailAccount) -> String {
    fingerprint(&[
        &account.smtp_host,
        &account.smtp_port.to_string(),
        &account.smtp_security,
        &account.smtp_username,
        &account.sender,
    ])
}

fn fingerprint(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hex::encode(hash.finalize())
}

/// Records a passed check; a failure to record it is logged, never shown over the result.
pub async fn record(pool: &SqlitePool, check: Check, fingerprint: &str) {
    if let Err(error) = checks::record_passed(pool, check, fingerprint).await {
        tracing::warn!(%error, ?check, "a passed check was not recorded");
    }
}

/// One step of the checklist.
pub struct Step {
    pub done: bool,
    pub text: String,
    pub href: &'static str,
    pub link: String,
}

/// What the steps are made from.
pub struct Facts {
    pub bucket_tested: bool,
    pub has_sources: bool,
    pub email_tested: bool,
    pub backup_succeeded: bool,
}

impl Facts {
    pub async fn load(
        db: &mut SqliteConnection,
        settings: &Settings,
        has_sources: bool,
        backup_succeeded: bool,
    ) -> Result<Facts, sqlx::Error> {
        let account = crate::db::email_account::load(&mut *db).await?;
        let matches = |passed: Option<checks::Passed>, now: String| {
            passed.is_some_and(|passed| passed.fingerprint == now)
        };
        Ok(Facts {
            bucket_tested: settings.bucket.is_some()
                && matches(
                    checks::passed(&mut *db, Check::Bucket).await?,
                    bucket_fingerprint(settings),
                ),
            has_sources,
            email_tested: account.is_configured()
                && matches(
                    checks::passed(&mut *db, Check::EmailAccount).await?,
                    email_fingerprint(&account),
                ),
            backup_succeeded,
        })
    }

    pub fn complete(&self) -> bool {
        self.bucket_tested && self.has_sources && self.email_tested && self.backup_succeeded
    }

    pub fn steps(&self, lang: Lang) -> Vec<Step> {
        let step = |done: bool, name: &str, href: &'static str| Step {
            done,
            text: lang.t(&format!("overview.checklist.{name}")),
            href,
            link: lang.t(&format!("overview.checklist.{name}_link")),
        };
        vec![
            step(self.bucket_tested, "bucket", "/settings"),
            step(self.has_sources, "source", "/sources"),
            step(self.email_tested, "email", "/email-account"),
            step(self.backup_succeeded, "backup", "/backups"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_bucket_or_key_is_another_fingerprint() {
        let mut settings = Settings::default();
        let before = bucket_fingerprint(&settings);
        settings.path_style = true;
        assert_ne!(bucket_fingerprint(&settings), before);
        let again = bucket_fingerprint(&settings);
        assert_eq!(bucket_fingerprint(&settings), again, "stable");
        assert_eq!(again.len(), 64);
    }
}
