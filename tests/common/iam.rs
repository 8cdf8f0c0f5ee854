//! IAM on moto: a user with the seed's minimal policy on one bucket, and the switch that
//! makes moto check every request's signature and policy from then on (its
//! `INITIAL_NO_AUTH_ACTION_COUNT`, set at run time through `/moto-api/reset-auth`).
//!
//! moto names the IAM action of a few bucket calls after the request's path alone:
//! GetPublicAccessBlock, GetBucketEncryption and GetObjectLockConfiguration are allowed as
//! s3:ListBucket; GetBucketVersioning, GetBucketLifecycleConfiguration,
//! GetBucketPolicyStatus and GetBucketAcl are checked under their own names.

use super::moto::{Moto, REGION};

/// What the seed's minimal IAM policy allows.
pub const MINIMAL_ACTIONS: [&str; 4] = [
    "s3:ListBucket",
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
];

impl Moto {
    /// Calls moto's IAM query API. Before `enforce_iam`, moto does not check the
    /// signature: the header only names the service.
    async fn iam(&self, action: &str, params: &[(&str, &str)]) -> String {
        let mut form = vec![("Action", action), ("Version", "2010-05-08")];
        form.extend_from_slice(params);
        let response = reqwest::Client::new()
            .post(self.endpoint.as_str())
            .header(
                "Authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential=AKIAMOTOTEST/20260101/{REGION}/iam/aws4_request, SignedHeaders=host, Signature=0"
                ),
            )
            .form(&form)
            .send()
            .await
            .unwrap_or_else(|err| panic!("IAM {action} on moto: {err}"));
        let status = response.status();
        let body = response.text().await.expect("IAM answer");
        assert!(
            status.is_success(),
            "IAM {action} on moto: {status}: {body}"
        );
        body
    }

    /// A new IAM user allowed on `bucket` only what the seed's minimal policy allows; its
    /// access key ID and secret.
    pub async fn minimal_user(&self, bucket: &str) -> (String, String) {
        let user = format!("backup-{}", rand::random::<u32>());
        self.iam("CreateUser", &[("UserName", &user)]).await;
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": MINIMAL_ACTIONS,
                "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
            }],
        })
        .to_string();
        self.iam(
            "PutUserPolicy",
            &[
                ("UserName", &user),
                ("PolicyName", "minimal"),
                ("PolicyDocument", &policy),
            ],
        )
        .await;
        let key = self.iam("CreateAccessKey", &[("UserName", &user)]).await;
        (
            element(&key, "AccessKeyId"),
            element(&key, "SecretAccessKey"),
        )
    }

    /// From now on moto checks every request: signed by an IAM user's key, allowed by its
    /// policies. The test's own client (not an IAM user) is refused from then on.
    pub async fn enforce_iam(&self) {
        let url = self
            .endpoint
            .join("/moto-api/reset-auth")
            .expect("moto API URL");
        let response = reqwest::Client::new()
            .post(url)
            .body("0")
            .send()
            .await
            .expect("moto's reset-auth");
        assert!(response.status().is_success(), "{}", response.status());
    }
}

/// The text of the first `<name>` element of an XML answer.
fn element(xml: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no <{name}> in {xml}"))
        + open.len();
    let end = xml[start..].find('<').expect("element ends") + start;
    xml[start..end].to_owned()
}
