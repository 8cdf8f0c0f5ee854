//! Backs up a directory and (optionally) a PostgreSQL database with the engine, as one run,
//! for `scripts/bench.sh`. Not part of the app.
//!
//! bench_backup ENDPOINT BUCKET PREFIX DIRECTORY [POSTGRES_URL]
//! with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment, and AGE_RECIPIENTS
//! (age public keys, one a line) to encrypt every object for them.

#[path = "support/bench_s3.rs"]
mod bench_s3;

use s3_backup::backup::{Job, Reporter, SourceSpec, run_backup};
use s3_backup::settings::{Recipients, SourceKind};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, bucket, prefix, directory, rest @ ..] = args.as_slice() else {
        return Err("usage: bench_backup ENDPOINT BUCKET PREFIX DIRECTORY [POSTGRES_URL]".into());
    };
    let mut sources = vec![SourceSpec::parse(
        "files",
        SourceKind::Directory,
        directory,
    )?];
    if let Some(postgres) = rest.first() {
        sources.push(SourceSpec::parse("db", SourceKind::Postgres, postgres)?);
    }
    let job = Job {
        target: bench_s3::target(endpoint, bucket, prefix)?,
        sources,
        backup_limit: 0,
        leave_out: Vec::new(),
        encryption: match std::env::var("AGE_RECIPIENTS") {
            Ok(keys) => Some(Recipients::parse(&keys).map_err(|e| e.message("en"))?),
            Err(_) => None,
        },
    };
    let outcome = run_backup(&job, &Reporter::detached()).await?;
    for object in &outcome.objects {
        println!(
            "{}: {} bytes read, {} bytes stored",
            object.key, object.source_bytes, object.size
        );
    }
    Ok(())
}
