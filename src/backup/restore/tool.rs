//! Runs a database client: SQL given on its command line, or a dump fed to its standard
//! input. The start of its stderr is kept, on one line, for the reason of a failure.

use std::process::{ExitStatus, Stdio};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};

use super::stream::{Origin, PumpError, pump};
use super::{RestoreError, filter};

/// The most stderr quoted in an error.
const STDERR_LIMIT: usize = 4 * 1024;

/// A client program with its connection options; the password only in `envs`.
pub struct Tool {
    pub program: &'static str,
    pub args: Vec<String>,
    pub envs: Vec<(&'static str, String)>,
}

impl Tool {
    fn spawn(&self, step: &str, extra: &[String], stdin: Stdio) -> Result<Child, RestoreError> {
        Command::new(self.program)
            .args(&self.args)
            .args(extra)
            .envs(self.envs.iter().map(|(key, value)| (*key, value.as_str())))
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|cause| RestoreError::ToolStart {
                step: step.to_owned(),
                tool: self.program,
                cause,
            })
    }

    fn failed(&self, step: &str, status: ExitStatus, stderr: String) -> RestoreError {
        RestoreError::Tool {
            step: step.to_owned(),
            tool: self.program,
            status: match status.code() {
                Some(code) => format!("exit {code}"),
                None => "killed".to_owned(),
            },
            stderr,
        }
    }

    /// Runs the tool with `extra` arguments and returns its standard output.
    pub async fn output(&self, step: &str, extra: &[String]) -> Result<String, RestoreError> {
        let child = self.spawn(step, extra, Stdio::null())?;
        let output = child
            .wait_with_output()
            .await
            .map_err(|cause| RestoreError::ToolStart {
                step: step.to_owned(),
                tool: self.program,
                cause,
            })?;
        if !output.status.success() {
            return Err(self.failed(step, output.status, one_line(&output.stderr)));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Runs the tool with `extra` arguments with `reader` as its standard input, without
    /// the dump's own database statements when `own_database_left_out` (a MariaDB dump). A failed read kills
    /// the tool before its input ends, so it never takes a cut dump for a whole one.
    pub async fn feed(
        &self,
        step: &str,
        extra: &[String],
        origin: &Origin,
        reader: &mut (dyn AsyncRead + Send + Unpin),
        own_database_left_out: bool,
    ) -> Result<(), RestoreError> {
        let mut child = self.spawn(step, extra, Stdio::piped())?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let kept = tokio::spawn(async move {
            // Drained so the tool never blocks on a full pipe.
            if let Some(mut stdout) = stdout {
                let _ = tokio::io::copy(&mut stdout, &mut tokio::io::sink()).await;
            }
        });
        let stderr = tokio::spawn(keep_start(stderr));
        let fed = match stdin {
            Some(mut stdin) => {
                if own_database_left_out {
                    filter::without_database(reader, &mut stdin).await
                } else {
                    pump(reader, &mut stdin).await.map(|_| ())
                }
            }
            None => Err(PumpError::Write(std::io::Error::other("no standard input"))),
        };
        if let Err(PumpError::Read(cause)) = fed {
            let _ = child.kill().await;
            return Err(origin.read(cause));
        }
        let status = child
            .wait()
            .await
            .map_err(|cause| RestoreError::ToolStart {
                step: step.to_owned(),
                tool: self.program,
                cause,
            })?;
        let _ = kept.await;
        let stderr = stderr.await.unwrap_or_default();
        if !status.success() {
            return Err(self.failed(step, status, stderr));
        }
        match fed {
            Err(PumpError::Write(cause)) => Err(RestoreError::ToolStart {
                step: step.to_owned(),
                tool: self.program,
                cause,
            }),
            _ => Ok(()),
        }
    }
}

async fn keep_start(stderr: Option<tokio::process::ChildStderr>) -> String {
    let mut kept = Vec::new();
    if let Some(mut stderr) = stderr {
        let mut chunk = [0u8; 4096];
        while let Ok(read) = stderr.read(&mut chunk).await {
            if read == 0 {
                break;
            }
            let room = STDERR_LIMIT.saturating_sub(kept.len());
            kept.extend_from_slice(&chunk[..read.min(room)]);
        }
    }
    one_line(&kept)
}

/// The tool's message on one line, at most STDERR_LIMIT bytes of it.
fn one_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(STDERR_LIMIT)]);
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}
