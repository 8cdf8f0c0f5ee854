//! What a source learns about what it streams (archive entries, tables, versions), kept for
//! the manifest. A fact that cannot be learnt is left out with a warning, never a failure.

use std::fmt;
use std::io;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use crate::backup::manifest::Contents;
use crate::backup::progress::{LogLevel, Reporter};
use crate::lang::Message;

/// The most output of a client kept: a version line or a count, never more.
const OUTPUT_LIMIT: u64 = 4 * 1024;
/// A server that takes longer to tell its version is not waited for.
const ASK_TIMEOUT: Duration = Duration::from_secs(30);

/// Shared between a source, which fills it while it streams, and the engine, which reads it
/// once the stream is done.
#[derive(Debug, Clone, Default)]
pub struct Facts(Arc<Mutex<Contents>>);

impl From<Contents> for Facts {
    fn from(contents: Contents) -> Self {
        Self(Arc::new(Mutex::new(contents)))
    }
}

impl Facts {
    pub fn record(&self, fill: impl FnOnce(&mut Contents)) {
        if let Ok(mut contents) = self.0.lock() {
            fill(&mut contents);
        }
    }

    /// What was recorded; `None` when nothing was.
    pub fn contents(&self) -> Option<Contents> {
        let contents = self.0.lock().ok()?.clone();
        (contents != Contents::default()).then_some(contents)
    }
}

/// A client to ask: the first of `programs` that exists, with `args`; a password only in
/// `envs`.
pub struct Client<'a> {
    pub programs: &'a [&'a str],
    pub args: Vec<String>,
    pub envs: &'a [(&'static str, String)],
}

/// A database server's version and table count, from a `server` client printing them on a
/// line each, and the version of the first of `dump_tools` that exists. What cannot be
/// learnt is left out, with a warning.
pub async fn of_database(
    source: &str,
    reporter: &Reporter,
    server: &Client<'_>,
    dump_tools: &[&str],
) -> Contents {
    let mut contents = Contents::default();
    let answer = ask(server)
        .await
        .and_then(|answer| match version_and_count(&answer) {
            (Some(version), Some(count)) => Ok((version, count)),
            _ => Err(io::Error::other(format!(
                "unexpected answer “{}”",
                one_line(&answer)
            ))),
        });
    match answer {
        Ok((version, count)) => {
            contents.server_version = Some(version);
            contents.tables = Some(count);
        }
        Err(why) => left_out(reporter, source, "run.log.facts_server", why),
    }
    let version = Client {
        programs: dump_tools,
        args: vec!["--version".to_owned()],
        envs: &[],
    };
    match ask(&version).await.map(|answer| first_line(&answer)) {
        Ok(Some(line)) => contents.tool_version = Some(line),
        Ok(None) => left_out(reporter, source, "run.log.facts_tool", "no version printed"),
        Err(why) => left_out(reporter, source, "run.log.facts_tool", why),
    }
    contents
}

/// Logs the warning `key` (which names the facts left out of the manifest) and why.
pub fn left_out(reporter: &Reporter, source: &str, key: &'static str, why: impl fmt::Display) {
    reporter.log(
        LogLevel::Warn,
        Message::new(key)
            .with("source", source)
            .detail(why.to_string()),
    );
}

/// Runs `client` and returns the start of its standard output. A missing program is an
/// error of kind `NotFound`; one that fails quotes its stderr.
pub(super) async fn ask(client: &Client<'_>) -> io::Result<String> {
    let mut missing = io::Error::other("no program given");
    for program in client.programs {
        match tokio::time::timeout(ASK_TIMEOUT, ask_one(program, &client.args, client.envs)).await {
            Ok(Err(err)) if err.kind() == io::ErrorKind::NotFound => missing = err,
            Ok(answer) => return answer,
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{program} gave no answer in {} s", ASK_TIMEOUT.as_secs()),
                ));
            }
        }
    }
    Err(io::Error::new(
        missing.kind(),
        format!("{}: {missing}", client.programs.join(" or ")),
    ))
}

async fn ask_one(program: &str, args: &[String], envs: &[(&str, String)]) -> io::Result<String> {
    let mut child = Command::new(program)
        .args(args)
        .envs(envs.iter().map(|(key, value)| (*key, value.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let (stdout, stderr) =
        tokio::join!(start_of(child.stdout.take()), start_of(child.stderr.take()));
    let status = child.wait().await?;
    if status.success() {
        Ok(stdout?)
    } else {
        let stderr = stderr.unwrap_or_default();
        Err(io::Error::other(format!(
            "{program} failed ({status}): {}",
            stderr.trim()
        )))
    }
}

/// The first OUTPUT_LIMIT bytes of a pipe; the pipe is closed after them, so a client that
/// says more stops instead of blocking.
async fn start_of(pipe: Option<impl AsyncRead + Unpin>) -> io::Result<String> {
    let mut kept = Vec::new();
    if let Some(pipe) = pipe {
        pipe.take(OUTPUT_LIMIT).read_to_end(&mut kept).await?;
    }
    Ok(String::from_utf8_lossy(&kept).into_owned())
}

/// An answer on one line, as it was printed (no escapes): its lines joined by ` | `.
fn one_line(answer: &str) -> String {
    answer
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The first line of a tool's `--version`.
pub(super) fn first_line(output: &str) -> Option<String> {
    output
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .map(str::to_owned)
}

/// A server's answer to two queries, one line each: its version, then a table count.
fn version_and_count(output: &str) -> (Option<String>, Option<u64>) {
    let mut lines = output
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty());
    let version = lines.next().map(str::to_owned);
    let count = lines.next().and_then(|line| line.parse().ok());
    (version, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Client<'static> {
        Client {
            programs: &["sh"],
            args: vec!["-c".to_owned(), script.to_owned()],
            envs: &[],
        }
    }

    #[tokio::test]
    async fn a_client_that_fails_gives_its_stderr() {
        let answer = ask(&sh("echo 'access denied' >&2; exit 1")).await;

        let message = answer.expect_err("exit 1 fails").to_string();
        assert!(message.contains("access denied"), "{message}");
    }

    #[tokio::test]
    async fn a_client_that_talks_on_and_on_is_cut_short() {
        let answer = ask(&sh("yes 15.4")).await;

        // `yes` is stopped by its closed pipe: the answer fails, nothing is held.
        assert!(answer.is_err());
    }

    #[tokio::test]
    async fn the_next_program_is_tried_when_one_is_missing() {
        let client = Client {
            programs: &["no-such-client", "sh"],
            ..sh("echo 'pg_dump (PostgreSQL) 16.4'")
        };

        let answer = ask(&client).await.expect("sh answers");

        assert_eq!(
            first_line(&answer).as_deref(),
            Some("pg_dump (PostgreSQL) 16.4")
        );
    }

    #[tokio::test]
    async fn what_a_server_does_not_tell_is_left_out_with_a_warning() {
        let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
        let reporter = Reporter::new(Default::default(), events);
        let server = sh("echo 'server is starting up' >&2; exit 2");

        let contents = of_database("erp", &reporter, &server, &["true"]).await;

        assert_eq!(contents.server_version, None);
        assert_eq!(contents.tables, None);
        assert!(contents.tool_version.is_some_and(|v| v.contains("true")));
        let mut warnings = Vec::new();
        while let Ok(event) = received.try_recv() {
            if let crate::backup::progress::RunEvent::Log { level, message } = event {
                assert_eq!(level, LogLevel::Warn);
                warnings.push(message.to_string());
            }
        }
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].starts_with("erp:"), "{warnings:?}");
        assert!(
            warnings[0].contains("server is starting up"),
            "{warnings:?}"
        );
    }

    #[tokio::test]
    async fn an_unexpected_answer_is_quoted_as_printed() {
        let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
        let reporter = Reporter::new(Default::default(), events);
        let server = sh("printf 'server says \"hi\"\\nnot a count\\n'");

        of_database("erp", &reporter, &server, &["true"]).await;

        let mut warnings = Vec::new();
        while let Ok(event) = received.try_recv() {
            if let crate::backup::progress::RunEvent::Log { message, .. } = event {
                warnings.push(message.to_string());
            }
        }
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("“server says \"hi\" | not a count”"),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_version_and_a_count_are_read_line_by_line() {
        assert_eq!(
            version_and_count("16.4 (Debian 16.4-1)\n2\n"),
            (Some("16.4 (Debian 16.4-1)".to_owned()), Some(2))
        );
        assert_eq!(
            version_and_count("10.11.6-MariaDB\nnot a number\n"),
            (Some("10.11.6-MariaDB".to_owned()), None)
        );
        assert_eq!(version_and_count(""), (None, None));
    }

    #[test]
    fn facts_never_recorded_are_no_contents() {
        let facts = Facts::default();
        assert_eq!(facts.contents(), None);

        facts.record(|contents| contents.pages = Some(4));

        assert_eq!(facts.contents().and_then(|c| c.pages), Some(4));
    }
}
