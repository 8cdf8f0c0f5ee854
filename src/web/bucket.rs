//! What the settings page asks the bucket itself: whether it can lock objects, before the
//! Object Lock setting is saved, and its posture, shown with "Test connection".

use crate::backup::{BucketLock, PostureLine, S3Target, posture, s3};
use crate::crypto::MasterKey;
use crate::jobs::{self, JobError};
use crate::settings::Settings;
use crate::web::error::WebError;
use crate::web::i18n::Lang;

/// Why `new` may not be saved over `stored` as far as Object Lock goes, as the message to
/// show beside the field. The bucket is asked when Object Lock is turned on, or when it
/// stays on for another bucket (or other credentials); a setting saved before was checked
/// then.
pub async fn lock_refusal(
    key: &MasterKey,
    stored: &Settings,
    new: &Settings,
    lang: Lang,
) -> Result<Option<String>, WebError> {
    if new.object_lock().is_none()
        || (stored.object_lock().is_some() && !new.bucket_differs(stored))
    {
        return Ok(None);
    }
    let target = match jobs::target(new, key) {
        Ok(target) => target,
        Err(JobError::Incomplete(_)) => return Ok(Some(lang.t("settings.object_lock_no_bucket"))),
        Err(error) => return Err(error.into()),
    };
    let lock = BucketLock::of(&s3::client(&target), &target.bucket).await;
    if lock != BucketLock::Enabled {
        tracing::info!(bucket = %target.bucket, ?lock, "Object Lock refused at save");
    }
    Ok(lock
        .refusal(&target.bucket)
        .map(|refusal| refusal.render(lang)))
}

/// The bucket's posture as the lines of the "Test connection" answer.
pub async fn posture_lines(target: &S3Target, lang: Lang) -> Vec<PostureLine> {
    posture::gather(&s3::client(target), target)
        .await
        .lines(lang)
}
