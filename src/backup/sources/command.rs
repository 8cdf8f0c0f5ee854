//! Runs a dump tool with its output as the stream: it must exit 0 for the stream to count,
//! and the end of its stderr is kept for the error message.

use std::process::Stdio;

use tokio::io::AsyncReadExt;
use tokio::process::Command;

use super::{Done, Facts, SourceStream};
use crate::backup::error::{BackupError, ToolEnd};

/// The most stderr kept for the error message.
const STDERR_LIMIT: usize = 8 * 1024;

/// Spawns the first of `programs` that exists, with `args` and `envs`.
pub fn spawn(
    source_name: &str,
    programs: &[&str],
    args: &[String],
    envs: &[(&str, String)],
) -> Result<SourceStream, BackupError> {
    let mut last_error = None;
    for program in programs {
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(envs.iter().map(|(key, value)| (*key, value.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        match command.spawn() {
            Ok(child) => return Ok(watch(source_name, program, child)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => last_error = Some(err),
            Err(cause) => {
                return Err(BackupError::ToolMissing {
                    source_name: source_name.to_owned(),
                    tool: (*program).to_owned(),
                    cause,
                });
            }
        }
    }
    Err(BackupError::ToolMissing {
        source_name: source_name.to_owned(),
        tool: programs.join(" or "),
        cause: last_error.unwrap_or_else(|| std::io::Error::other("no program given")),
    })
}

fn watch(source_name: &str, program: &str, mut child: tokio::process::Child) -> SourceStream {
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let stderr_task = tokio::spawn(async move {
        let mut kept = Vec::new();
        if let Some(mut stderr) = stderr {
            let mut chunk = [0u8; 4096];
            // Keep the first STDERR_LIMIT bytes but drain the rest, so the tool never blocks.
            while let Ok(read) = stderr.read(&mut chunk).await {
                if read == 0 {
                    break;
                }
                let room = STDERR_LIMIT.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..read.min(room)]);
            }
        }
        String::from_utf8_lossy(&kept).trim().to_owned()
    });
    let source_name = source_name.to_owned();
    let tool = program.to_owned();
    let done: Done = Box::pin(async move {
        let status = child.wait().await.map_err(|cause| BackupError::Source {
            source_name: source_name.clone(),
            step: format!("waiting for {tool}"),
            cause,
        })?;
        let stderr = stderr_task.await.unwrap_or_default();
        if status.success() {
            Ok(())
        } else {
            Err(BackupError::ToolFailed {
                source_name,
                tool,
                status: ToolEnd::of(status),
                stderr,
            })
        }
    });
    let reader = match stdout {
        Some(stdout) => super::buffered(stdout),
        None => super::buffered(tokio::io::empty()),
    };
    SourceStream {
        reader,
        done,
        keep_alive: None,
        facts: Facts::default(),
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    #[tokio::test]
    async fn a_tool_that_prints_then_fails_is_a_failure_with_its_stderr() {
        let args = [
            "-c".to_owned(),
            "echo 'CREATE TABLE t;'; echo 'out of memory' >&2; exit 3".to_owned(),
        ];
        let mut stream = spawn("db", &["sh"], &args, &[]).expect("sh starts");
        let mut output = String::new();
        stream
            .reader
            .read_to_string(&mut output)
            .await
            .expect("output");

        let result = stream.done.await;

        assert_eq!(output, "CREATE TABLE t;\n");
        let message = result.expect_err("exit 3 fails").to_string();
        assert!(message.contains("source db: sh failed"), "{message}");
        assert!(message.contains("out of memory"), "{message}");
    }

    #[tokio::test]
    async fn a_missing_tool_is_named() {
        let result = spawn("db", &["no-such-dump-tool", "nor-this-one"], &[], &[]);

        let message = result.err().map(|err| err.to_string()).unwrap_or_default();
        assert!(
            message.contains("no-such-dump-tool or nor-this-one"),
            "{message}"
        );
    }
}
