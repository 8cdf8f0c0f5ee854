use std::io::BufRead;
use std::process::ExitCode;

use clap::Parser;
use s3_backup::app::{self, Server};
use s3_backup::cli::{
    Cli, Command, DataDir, LogFormat, RestoreArgs, ServeArgs, UserCommand, VerifyArgs,
};
use s3_backup::config::Config;
use s3_backup::db::runs::{RunStatus, Trigger};
use s3_backup::lang::Lang;
use s3_backup::notify::{MailOptions, Notifier};
use s3_backup::settings::{NewPassword, Username};
use s3_backup::{accounts, db, jobs};
use std::time::Duration;

/// Logs go to standard error; `default` applies unless RUST_LOG says otherwise.
fn init_logging(format: LogFormat, default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only on a terminal: a log file or journal gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // A restore prints what it did and, when it fails, one line that says why; the run's
    // log is in the history.
    let logs = match cli.command {
        Some(Command::Restore(_) | Command::List(_) | Command::Verify(_)) => "off",
        _ => "info,tokio_cron_scheduler=warn",
    };
    init_logging(cli.log_format, logs);
    let result = match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => serve(args).await,
        Command::Backup(data) => backup(data).await,
        Command::List(data) => list(data).await,
        Command::Restore(args) => restore(args).await,
        Command::Verify(args) => verify(args).await,
        Command::User(UserCommand::Create { name, data }) => user(data, &name, true).await,
        Command::User(UserCommand::Passwd { name, data }) => user(data, &name, false).await,
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> Result<ExitCode, String> {
    let mut config = Config::new(args.listen, args.data.data_dir);
    config.behind_https = args.behind_https;
    config.trusted_proxy = args.trusted_proxy;
    config.public_url = args.public_url;
    config.metrics_token = args.metrics_token;
    config.smtp_ca_file = args.smtp_ca_file;
    let state = app::open_state(config).await.map_err(|e| e.to_string())?;
    let server = Server::bind(state).await.map_err(|e| e.to_string())?;
    if let Some(addr) = server.local_addr() {
        eprintln!("s3-backup is listening on http://{addr}");
    }
    server
        .run(shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

async fn backup(data: DataDir) -> Result<ExitCode, String> {
    let config = Config::new(([127, 0, 0, 1], 0).into(), data.data_dir);
    let state = app::open_state(config).await.map_err(|e| e.to_string())?;
    let job = jobs::load(&state.pool, &state.key, state.config.data_dir())
        .await
        .map_err(|e| format!("cannot start the backup: {e}"))?;
    let summary = state
        .runner
        .run_to_end(Trigger::Cli, job)
        .await
        .map_err(|e| e.to_string())?;
    report_by_mail(&state, summary.run_id).await;
    println!("run {}: {}", summary.run_id, summary.status.as_str());
    if let Some(folder) = &summary.folder {
        println!("folder: {folder}");
    }
    for object in &summary.objects {
        println!(
            "  {}  {} bytes  sha256 {}",
            object.key, object.size, object.sha256
        );
    }
    println!(
        "total: {} bytes in {} objects",
        summary.total_bytes,
        summary.objects.len()
    );
    if let Some(warning) = &summary.warning {
        println!("warning: {warning}");
    }
    if let Some(error) = &summary.error {
        println!("error: {error}");
    }
    Ok(if summary.status == RunStatus::Success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn list(data: DataDir) -> Result<ExitCode, String> {
    let config = Config::new(([127, 0, 0, 1], 0).into(), data.data_dir);
    let state = app::open_state(config).await.map_err(|e| e.to_string())?;
    let settings = db::settings::load(&state.pool)
        .await
        .map_err(|e| e.to_string())?;
    let target = jobs::target(&settings, &state.key).map_err(|e| e.to_string())?;
    let client = s3_backup::backup::s3::client(&target);
    let backups = s3_backup::backup::catalogue::list(&client, &target)
        .await
        .map_err(|e| format!("cannot list s3://{}/{}: {e}", target.bucket, target.prefix))?;
    println!(
        "{:<20}  {:<20}  {:>14}  {:<10}  sources",
        "folder", "time", "bytes", "complete"
    );
    for backup in &backups {
        let state = if backup.is_complete() {
            "yes"
        } else if backup.has_manifest {
            "partial"
        } else {
            "no"
        };
        println!(
            "{:<20}  {:<20}  {:>14}  {:<10}  {}",
            backup.name,
            backup.started_at.format("%Y-%m-%d %H:%M:%S"),
            backup.size(),
            state,
            backup.sources().join(",")
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn restore(args: RestoreArgs) -> Result<ExitCode, String> {
    use s3_backup::backup::restore::{BackupChoice, Request, RestoreError, SourceChoice};
    let config = Config::new(([127, 0, 0, 1], 0).into(), args.data.data_dir);
    let identities = read_identities(&args.identities).await?;
    let state = app::open_state(config).await.map_err(|e| e.to_string())?;
    let request = Request {
        backup: BackupChoice::parse(&args.backup),
        source: SourceChoice::parse(&args.source),
        to: args.to,
        replace: args.replace,
    };
    let all = request.source == SourceChoice::All;
    let mut job = jobs::restore_job(&state.pool, &state.key, request)
        .await
        .map_err(|e| format!("cannot start the restore: {e}"))?;
    // Beside the key pairs this app generated, if any.
    job.identities.extend(identities);
    let summary = showing_progress(
        &state.runner,
        state.runner.restore_to_end(Trigger::Cli, job),
    )
    .await
    .map_err(|e| e.to_string())?;
    report_by_mail(&state, summary.run_id).await;
    let report = summary.result.map_err(|e| e.to_string())?;
    let mut failed = false;
    for outcome in &report.outcomes {
        match &outcome.result {
            Ok(restored) => {
                println!(
                    "{}: restored from {} to {}",
                    outcome.source, report.folder, restored.target
                );
                if let Some(kept) = &restored.kept {
                    println!(
                        "{}: the previous one is kept as {}",
                        outcome.source,
                        kept.display()
                    );
                }
            }
            Err(note @ RestoreError::OtherKind { .. }) if all => println!("{note}"),
            Err(error) if !all => return Err(error.to_string()),
            Err(error) => {
                eprintln!("error: {}: {error}", outcome.source);
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The age identities of `--identity` files, each parsed (a refusal names the file).
async fn read_identities(
    paths: &[std::path::PathBuf],
) -> Result<Vec<s3_backup::settings::Identity>, String> {
    let mut identities = Vec::with_capacity(paths.len());
    for path in paths {
        let text = tokio::fs::read_to_string(path)
            .await
            .map_err(|e| format!("cannot read the identity file {}: {e}", path.display()))?;
        let identity = s3_backup::settings::Identity::parse(&text)
            .map_err(|invalid| format!("{}: {}", path.display(), invalid.message("en")))?;
        identities.push(identity);
    }
    Ok(identities)
}

async fn verify(args: VerifyArgs) -> Result<ExitCode, String> {
    use s3_backup::backup::restore::BackupChoice;
    let config = Config::new(([127, 0, 0, 1], 0).into(), args.data.data_dir);
    let identities = read_identities(&args.identities).await?;
    let state = app::open_state(config).await.map_err(|e| e.to_string())?;
    let mut job = jobs::verify_job(&state.pool, &state.key, BackupChoice::parse(&args.backup))
        .await
        .map_err(|e| format!("cannot start the verification: {e}"))?;
    // Beside the key pairs this app generated, if any.
    job.identities.extend(identities);
    let summary = showing_progress(&state.runner, state.runner.verify_to_end(Trigger::Cli, job))
        .await
        .map_err(|e| e.to_string())?;
    report_by_mail(&state, summary.run_id).await;
    let report = summary.result.map_err(|e| e.to_string())?;
    let mut failed = Vec::new();
    for check in &report.checks {
        match &check.result {
            Ok(findings) if check.object.kind == "directory" => println!(
                "{}: ok, {} entries, {} bytes of file content",
                check.object.source, findings.entries, findings.content_bytes
            ),
            Ok(findings) => {
                let counts: Vec<String> = findings
                    .tables
                    .iter()
                    .map(|(table, rows)| format!("{table} {rows}"))
                    .collect();
                let restored = if findings.not_restored.is_some() {
                    " (checked, not test-restored: no server for it on this machine)"
                } else {
                    ""
                };
                println!(
                    "{}: ok{restored}, {} tables, {} rows ({})",
                    check.object.source,
                    findings.tables.len(),
                    findings.rows(),
                    counts.join(", ")
                );
            }
            Err(error) => failed.push(format!(
                "{} ({}): {error}",
                check.object.source, check.object.key
            )),
        }
    }
    if failed.is_empty() {
        println!("backup {} verified", report.folder);
        Ok(ExitCode::SUCCESS)
    } else {
        Err(format!(
            "backup {} failed verification: {}",
            report.folder,
            failed.join("; ")
        ))
    }
}

/// Runs `work` with its progress line shown (on a terminal), ended once it is done.
async fn showing_progress<T>(
    runner: &s3_backup::backup::Runner,
    work: impl std::future::Future<Output = T>,
) -> T {
    use std::io::{IsTerminal, Write};
    let shown = tokio::spawn(show_progress(runner.clone()));
    let result = work.await;
    shown.abort();
    if std::io::stderr().is_terminal() {
        let _ = writeln!(std::io::stderr());
    }
    result
}

/// On a terminal, one line on standard error that says how far the run is, rewritten
/// twice a second; nothing otherwise.
async fn show_progress(runner: s3_backup::backup::Runner) {
    use std::io::{IsTerminal, Write};
    if !std::io::stderr().is_terminal() {
        return;
    }
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    loop {
        ticker.tick().await;
        let Some(progress) = runner.progress() else {
            continue;
        };
        let now = progress.snapshot();
        let percent = now
            .percent()
            .map(|percent| format!(" ({percent} %)"))
            .unwrap_or_default();
        let line = format!(
            "\r{}: {} of {}{percent}\x1b[K",
            now.current_source.as_deref().unwrap_or("…"),
            s3_backup::format::size(now.bytes_read, Lang::EN),
            s3_backup::format::size(now.bytes_total, Lang::EN),
        );
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
        let _ = err.flush();
    }
}

/// Mails the outcome of a run now, with short retries: the command should not linger.
async fn report_by_mail(state: &app::AppState, run_id: s3_backup::db::runs::RunId) {
    let notifier = Notifier::new(
        state.pool.clone(),
        state.key.clone(),
        state.config.public_url.clone(),
        MailOptions {
            retry_delays: vec![Duration::from_secs(5), Duration::from_secs(30)],
            ..MailOptions::default()
        },
    );
    match notifier.report_run(run_id).await {
        Ok(Some(delivery)) => println!("e-mail: {}", delivery.summary(Lang::EN)),
        Ok(None) => {}
        Err(error) => eprintln!("warning: the outcome could not be mailed: {error}"),
    }
}

async fn user(data: DataDir, name: &str, create: bool) -> Result<ExitCode, String> {
    let username = Username::parse(name).map_err(|e| format!("user name: {e}"))?;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let raw = line.trim_end_matches(['\r', '\n']);
    let password =
        NewPassword::parse(raw, username.as_str()).map_err(|e| format!("password: {e}"))?;
    s3_backup::data_dir::prepare(&data.data_dir).map_err(|e| e.to_string())?;
    let config = Config::new(([127, 0, 0, 1], 0).into(), data.data_dir);
    let pool = db::open(&config.database_path())
        .await
        .map_err(|e| e.to_string())?;
    s3_backup::data_dir::protect_database(&config.data_dir).map_err(|e| e.to_string())?;
    if create {
        accounts::create(&pool, username.as_str(), password.expose())
            .await
            .map_err(|e| e.to_string())?;
        println!("created user {}", username.as_str());
    } else {
        accounts::set_password(&pool, username.as_str(), password.expose())
            .await
            .map_err(|e| e.to_string())?;
        println!("changed the password of {}", username.as_str());
    }
    Ok(ExitCode::SUCCESS)
}
