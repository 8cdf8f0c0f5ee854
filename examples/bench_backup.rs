//! Backs up a directory and (optionally) a PostgreSQL database with the engine, as one run,
//! for `scripts/bench.sh`. Not part of the app.
//!
//! bench_backup ENDPOINT BUCKET PREFIX DIRECTORY [POSTGRES_URL]
//! with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment.

use s3_backup::backup::{Job, Reporter, S3Target, SourceSpec, run_backup};
use s3_backup::settings::SourceKind;

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
        target: S3Target {
            endpoint: Some(url::Url::parse(endpoint)?),
            region: "us-east-1".into(),
            bucket: bucket.clone(),
            access_key_id: std::env::var("AWS_ACCESS_KEY_ID")?,
            secret_access_key: std::env::var("AWS_SECRET_ACCESS_KEY")?,
            path_style: true,
            prefix: prefix.clone(),
            max_parts: S3Target::DEFAULT_MAX_PARTS,
        },
        sources,
        backup_limit: 0,
        leave_out: Vec::new(),
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
