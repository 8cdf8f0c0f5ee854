//! The S3 client, built from every setting of the target: endpoint, region, addressing
//! style and static credentials, over rustls with timeouts and retries.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::tls;

use super::job::S3Target;

/// Builds a client for `target`. Cheap enough to call once per run.
pub fn client(target: &S3Target) -> Client {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let credentials = Credentials::new(
        target.access_key_id.clone(),
        target.secret_access_key.clone(),
        None,
        None,
        "s3-backup settings",
    );
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(120))
        .operation_attempt_timeout(Duration::from_secs(600))
        .build();
    let mut config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http_client)
        .region(Region::new(target.region.clone()))
        .credentials_provider(credentials)
        .force_path_style(target.path_style)
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(3));
    if let Some(endpoint) = &target.endpoint {
        // `Url` always renders a trailing slash on a bare host; the SDK wants none.
        config = config.endpoint_url(endpoint.as_str().trim_end_matches('/'));
    }
    Client::from_conf(config.build())
}

/// Whether request bodies are signed. Over HTTPS, TLS already protects the body and every
/// part carries a signed CRC32, so the SHA-256 pass over the data is skipped (as the AWS
/// CLI does); over plain HTTP the signature is the only tamper check, so it stays.
pub fn signs_payload(target: &S3Target) -> bool {
    target
        .endpoint
        .as_ref()
        .is_some_and(|endpoint| endpoint.scheme() != "https")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(endpoint: Option<&str>) -> S3Target {
        S3Target {
            endpoint: endpoint.and_then(|url| url::Url::parse(url).ok()),
            region: "us-east-1".into(),
            bucket: "b".into(),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            path_style: false,
            prefix: String::new(),
            max_parts: 10_000,
            storage: Default::default(),
        }
    }

    #[test]
    fn payloads_are_signed_only_without_tls() {
        assert!(!signs_payload(&target(None)));
        assert!(!signs_payload(&target(Some("https://s3.fr-par.scw.cloud"))));
        assert!(signs_payload(&target(Some("http://minio.local:9000"))));
    }
}
