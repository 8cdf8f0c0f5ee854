//! What the benchmark examples share: the bucket on the benchmark's S3 server.

use s3_backup::backup::S3Target;

/// The bucket `bucket` at `endpoint`, under `prefix`, with the keys of the environment
/// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
pub fn target(
    endpoint: &str,
    bucket: &str,
    prefix: &str,
) -> Result<S3Target, Box<dyn std::error::Error>> {
    Ok(S3Target {
        endpoint: Some(url::Url::parse(endpoint)?),
        region: "us-east-1".into(),
        bucket: bucket.to_owned(),
        access_key_id: std::env::var("AWS_ACCESS_KEY_ID")?,
        secret_access_key: std::env::var("AWS_SECRET_ACCESS_KEY")?,
        path_style: true,
        prefix: prefix.to_owned(),
        max_parts: S3Target::DEFAULT_MAX_PARTS,
        storage: Default::default(),
    })
}
