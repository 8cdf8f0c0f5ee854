//! Verifies the newest backup under a prefix with the engine, for `scripts/bench_verify.sh`.
//! Not part of the app. Prints each object's findings; exits non-zero if one fails.
//!
//! bench_verify ENDPOINT BUCKET PREFIX [SCRATCH_SERVER_URL]
//! with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment. Dumps are
//! test-restored on the scratch server (`postgresql://postgres@127.0.0.1:5432/postgres`).

#[path = "support/bench_s3.rs"]
mod bench_s3;

use std::process::ExitCode;

use s3_backup::backup::Reporter;
use s3_backup::backup::restore::BackupChoice;
use s3_backup::backup::verify::{VerifyJob, verify};
use s3_backup::settings::ScratchServer;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, bucket, prefix, rest @ ..] = args.as_slice() else {
        return Err("usage: bench_verify ENDPOINT BUCKET PREFIX [SCRATCH_SERVER_URL]".into());
    };
    let scratch = match rest.first() {
        Some(url) => Some(ScratchServer::parse(url).map_err(|_| "not a scratch server URL")?),
        None => None,
    };
    let job = VerifyJob {
        target: bench_s3::target(endpoint, bucket, prefix)?,
        configured: Vec::new(),
        backup: BackupChoice::Latest,
        instance: "bench".into(),
        scratch,
        identities: Vec::new(),
    };
    let report = verify(&job, 1, &Reporter::detached(), &CancellationToken::new()).await?;
    let mut code = ExitCode::SUCCESS;
    for check in &report.checks {
        match &check.result {
            Ok(findings) => println!(
                "{}: {} entries, {} content bytes, {} tables, {} rows{}",
                check.object.key,
                findings.entries,
                findings.content_bytes,
                findings.tables.len(),
                findings.rows(),
                if findings.not_restored.is_some() {
                    " (not test-restored)"
                } else {
                    ""
                },
            ),
            Err(error) => {
                eprintln!("{}: {error}", check.object.key);
                code = ExitCode::FAILURE;
            }
        }
    }
    Ok(code)
}
