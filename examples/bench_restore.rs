//! Restores one source of the newest backup (or of a named folder) with the engine, for
//! `scripts/bench_restore.sh`. Not part of the app. Prints nothing but errors.
//!
//! bench_restore ENDPOINT BUCKET PREFIX SOURCE TO [FOLDER]
//! with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment. TO is a new
//! directory or a new database's URL (`postgresql://postgres@127.0.0.1:5432/restored`).

#[path = "support/bench_s3.rs"]
mod bench_s3;

use std::path::PathBuf;
use std::process::ExitCode;

use s3_backup::backup::Reporter;
use s3_backup::backup::restore::{BackupChoice, Request, RestoreJob, SourceChoice, restore};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, bucket, prefix, source, to, rest @ ..] = args.as_slice() else {
        return Err("usage: bench_restore ENDPOINT BUCKET PREFIX SOURCE TO [FOLDER]".into());
    };
    let job = RestoreJob {
        target: bench_s3::target(endpoint, bucket, prefix)?,
        // No source is configured here: every target is named.
        configured: Vec::new(),
        request: Request {
            backup: match rest.first() {
                Some(folder) => BackupChoice::Folder(folder.clone()),
                None => BackupChoice::Latest,
            },
            source: SourceChoice::Named(source.clone()),
            to: Some(PathBuf::from(to)),
            replace: false,
        },
        identities: Vec::new(),
    };
    let report = restore(&job, &Reporter::detached(), &CancellationToken::new()).await?;
    let mut code = ExitCode::SUCCESS;
    for outcome in &report.outcomes {
        if let Err(error) = &outcome.result {
            eprintln!("{}: {error}", outcome.source);
            code = ExitCode::FAILURE;
        }
    }
    Ok(code)
}
