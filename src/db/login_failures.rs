//! Failed logins per subject ("user:NAME", "addr:IP" or "pair:NAME|IP"), to slow down
//! password guessing.

use chrono::{DateTime, Duration, Utc};
use sqlx::SqlitePool;

/// Attempts allowed before waiting starts.
const FREE_ATTEMPTS: i64 = 5;
/// The first wait; it doubles with every further failure.
const FIRST_WAIT_SECS: i64 = 30;
const MAX_WAIT: Duration = Duration::minutes(15);
/// Failures older than this are forgotten.
const MEMORY: Duration = Duration::hours(1);

/// How long a subject with `failures` failures, the last at `last`, must still wait at `now`.
pub fn wait_for(failures: i64, last: DateTime<Utc>, now: DateTime<Utc>) -> Option<Duration> {
    if failures < FREE_ATTEMPTS || now - last > MEMORY {
        return None;
    }
    let doublings = u32::try_from(failures - FREE_ATTEMPTS)
        .unwrap_or(u32::MAX)
        .min(10);
    let wait = Duration::seconds(FIRST_WAIT_SECS * (1i64 << doublings)).min(MAX_WAIT);
    let remaining = last + wait - now;
    (remaining > Duration::zero()).then_some(remaining)
}

/// The longest wait any of `subjects` is under.
pub async fn wait_needed(
    pool: &SqlitePool,
    subjects: &[String],
    now: DateTime<Utc>,
) -> Result<Option<Duration>, sqlx::Error> {
    let mut longest: Option<Duration> = None;
    for subject in subjects {
        let row = sqlx::query_as::<_, (i64, DateTime<Utc>)>(
            "SELECT failures, last_failure FROM login_failures WHERE subject = ?1",
        )
        .bind(subject)
        .fetch_optional(pool)
        .await?;
        if let Some(wait) = row.and_then(|(failures, last)| wait_for(failures, last, now)) {
            longest = Some(longest.map_or(wait, |l| l.max(wait)));
        }
    }
    Ok(longest)
}

pub async fn record_failure(
    pool: &SqlitePool,
    subjects: &[String],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let forget_before = now - MEMORY;
    for subject in subjects {
        sqlx::query(
            "INSERT INTO login_failures (subject, failures, last_failure) VALUES (?1, 1, ?2)
             ON CONFLICT (subject) DO UPDATE SET
               failures = CASE WHEN last_failure < ?3 THEN 1 ELSE failures + 1 END,
               last_failure = ?2",
        )
        .bind(subject)
        .bind(now)
        .bind(forget_before)
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// Whether `subject` has failed within memory (an address that never failed is clean).
pub async fn has_failed(
    pool: &SqlitePool,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM login_failures WHERE subject = ?1 AND last_failure >= ?2)",
    )
    .bind(subject)
    .bind(now - MEMORY)
    .fetch_one(pool)
    .await
}

/// Forgets every failure: a password set from the command line lifts every wait.
pub async fn clear_all(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_failures")
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn clear(pool: &SqlitePool, subject: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_failures WHERE subject = ?1")
        .bind(subject)
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_starts_after_free_attempts_and_doubles() {
        let now = Utc::now();
        assert_eq!(wait_for(4, now, now), None);
        assert_eq!(wait_for(5, now, now), Some(Duration::seconds(30)));
        assert_eq!(wait_for(6, now, now), Some(Duration::seconds(60)));
        assert_eq!(wait_for(40, now, now), Some(MAX_WAIT));
        assert_eq!(wait_for(5, now - Duration::seconds(31), now), None);
        assert_eq!(wait_for(9, now - Duration::hours(2), now), None);
    }
}
