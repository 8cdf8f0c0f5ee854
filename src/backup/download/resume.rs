//! An object's body read to its end across dropped connections: when the body breaks
//! mid-way, the rest is asked for from the byte reached (`Range: bytes=N-`), and only from
//! the object first read (`If-Match` its ETag), so a replaced object is never spliced on.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use aws_sdk_s3::Client;
use tokio::io::{AsyncRead, ReadBuf};

use crate::backup::error::{S3Failure, with_causes};

/// Bytes of an object as they come from the bucket.
pub type Body = Box<dyn AsyncRead + Send + Unpin>;

type Reopening = Pin<Box<dyn Future<Output = Result<Body, ReopenError>> + Send>>;

/// Why asking for the rest of an object failed.
#[derive(Debug)]
pub enum ReopenError {
    /// No answer came back: another try may get one.
    Transient(String),
    /// The answer was no (the object changed, access is refused): another try would not help.
    Final(String),
}

/// Asks for an object's bytes from an offset to its end.
pub trait Reopen {
    fn rest_from(&self, offset: u64) -> Reopening;
}

/// The object in the bucket (or its bytes up to `end`), as long as its ETag is still the one
/// first read.
#[derive(Clone)]
pub struct ObjectRest {
    pub client: Client,
    pub bucket: String,
    pub key: String,
    pub etag: String,
    /// Where the bytes asked for end (exclusive): the end of a part; `None`, the object's.
    pub end: Option<u64>,
}

impl Reopen for ObjectRest {
    fn rest_from(&self, offset: u64) -> Reopening {
        let range = match self.end {
            Some(end) => format!("bytes={offset}-{}", end.saturating_sub(1)),
            None => format!("bytes={offset}-"),
        };
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .range(range)
            .if_match(&self.etag);
        let etag = self.etag.clone();
        Box::pin(async move {
            let output = request.send().await.map_err(|err| {
                let failure = S3Failure::from_sdk(&err);
                let changed = failure.status == Some(412)
                    || failure.code.as_deref() == Some("PreconditionFailed");
                if changed {
                    ReopenError::Final(format!(
                        "the object changed while it was read (its ETag is no longer {etag})"
                    ))
                } else if matches!(failure.status, Some(400..=499)) {
                    // The server said no: asking again would get the same answer.
                    ReopenError::Final(failure.to_string())
                } else {
                    // No answer, a broken one, or the server's own trouble.
                    ReopenError::Transient(failure.to_string())
                }
            })?;
            // A server that ignores the range sends the object from its start again.
            let range = output.content_range().unwrap_or("none");
            if range_start(range) != Some(offset) {
                return Err(ReopenError::Final(format!(
                    "asked for the bytes from {offset} on, the server answered with range {range}"
                )));
            }
            Ok(Box::new(output.body.into_async_read()) as Body)
        })
    }
}

/// The first byte of a `Content-Range` such as `bytes 100-199/200`.
fn range_start(content_range: &str) -> Option<u64> {
    let range = content_range.strip_prefix("bytes ")?;
    let (start, _) = range.split_once('-')?;
    start.parse().ok()
}

/// The object's length in a `Content-Range` such as `bytes 0-99/200`, when the server knows it.
pub fn range_total(content_range: &str) -> Option<u64> {
    let (_, total) = content_range.strip_prefix("bytes ")?.split_once('/')?;
    total.parse().ok()
}

/// How often and how soon to ask again.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts in a row that bring no new byte before giving up.
    pub attempts: u32,
    /// The wait before the first attempt; it doubles with each one after.
    pub first_wait: Duration,
}

impl Retry {
    pub const DEFAULT: Retry = Retry {
        attempts: 5,
        first_wait: Duration::from_millis(100),
    };

    fn wait(&self, attempt: u32) -> Duration {
        self.first_wait
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
    }
}

enum State {
    Reading(Body),
    Reopening(Reopening),
    /// Gave up: every read after says why again.
    Failed(io::ErrorKind, String),
}

/// Reads a body and, when it breaks, goes on with the rest from where it broke.
pub struct Resuming<O> {
    reopen: O,
    /// Names the object in messages.
    name: String,
    /// Bytes handed on so far: where the rest starts.
    offset: u64,
    /// The object's length, when the first response gave it.
    length: Option<u64>,
    retry: Retry,
    /// Attempts since the last byte arrived.
    attempts: u32,
    /// What broke the body last.
    broke: String,
    state: State,
}

impl<O: Reopen> Resuming<O> {
    pub fn new(reopen: O, name: String, length: Option<u64>, body: Body, retry: Retry) -> Self {
        Self {
            reopen,
            name,
            offset: 0,
            length,
            retry,
            attempts: 0,
            broke: String::new(),
            state: State::Reading(body),
        }
    }

    /// The bytes of the object from `offset` to `end`, asked for first: a part of it. A
    /// first answer that does not come is asked for again like a broken body.
    pub fn part(reopen: O, name: String, offset: u64, end: u64, retry: Retry) -> Self {
        let first = reopen.rest_from(offset);
        Self {
            reopen,
            name,
            offset,
            length: Some(end),
            retry,
            attempts: 0,
            broke: format!("asking for the bytes from {offset} on"),
            state: State::Reopening(first),
        }
    }

    /// The body broke with `why`: asks for the rest, or gives up once the attempts are spent.
    fn broken(&mut self, why: String) {
        self.broke = why;
        if self.attempts >= self.retry.attempts {
            let message = format!(
                "{}: the download broke at byte {} and {} attempts to resume it failed: {}",
                self.name, self.offset, self.attempts, self.broke
            );
            self.failed(io::ErrorKind::ConnectionAborted, message);
            return;
        }
        self.attempts += 1;
        tracing::warn!(
            "{}: the download broke at byte {} ({}); resuming, attempt {} of {}",
            self.name,
            self.offset,
            self.broke,
            self.attempts,
            self.retry.attempts
        );
        let wait = self.retry.wait(self.attempts);
        let rest = self.reopen.rest_from(self.offset);
        self.state = State::Reopening(Box::pin(async move {
            tokio::time::sleep(wait).await;
            rest.await
        }));
    }

    fn failed(&mut self, kind: io::ErrorKind, message: String) {
        self.state = State::Failed(kind, message);
    }
}

impl<O: Reopen + Unpin> AsyncRead for Resuming<O> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let this = &mut *self;
        loop {
            match &mut this.state {
                State::Reading(body) => {
                    let before = buf.filled().len();
                    let result = std::task::ready!(Pin::new(body).poll_read(cx, buf));
                    let read = (buf.filled().len() - before) as u64;
                    let whole = this
                        .length
                        .is_some_and(|length| this.offset + read >= length);
                    match result {
                        Ok(()) if read > 0 => {
                            this.offset += read;
                            this.attempts = 0;
                            return Poll::Ready(Ok(()));
                        }
                        Ok(()) => match this.length {
                            Some(length) if this.offset < length => this.broken(format!(
                                "the body ended at byte {} of {length}",
                                this.offset
                            )),
                            _ => return Poll::Ready(Ok(())),
                        },
                        // Nothing is left to ask for: the error is about the whole body
                        // (its checksum), not the connection.
                        Err(err) if whole => {
                            let message = format!("{}: {}", this.name, with_causes(&err));
                            // Invalid data: whoever reads it knows the object is corrupt.
                            this.failed(io::ErrorKind::InvalidData, message);
                        }
                        Err(err) => this.broken(with_causes(&err)),
                    }
                }
                State::Reopening(rest) => match std::task::ready!(rest.as_mut().poll(cx)) {
                    Ok(body) => this.state = State::Reading(body),
                    Err(ReopenError::Transient(why)) => this.broken(why),
                    Err(ReopenError::Final(why)) => {
                        let message = format!(
                            "{}: the download broke at byte {} ({}) and cannot resume: {why}",
                            this.name, this.offset, this.broke
                        );
                        this.failed(io::ErrorKind::Other, message);
                    }
                },
                State::Failed(kind, message) => {
                    return Poll::Ready(Err(io::Error::new(*kind, message.clone())));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;
    use tokio::io::AsyncReadExt;

    use super::*;

    /// How a body given by the fake ends.
    #[derive(Clone, Copy)]
    enum End {
        /// At the object's end.
        Whole,
        /// With a connection error after this many bytes, if the object is longer.
        BreakAfter(usize),
        /// With an error after the last byte, as the SDK's checksum check gives.
        FailAfterLast,
        /// Cleanly, but after this many bytes only.
        StopAfter(usize),
    }

    #[derive(Clone)]
    enum Answer {
        Body(End),
        Transient,
        Final(&'static str),
    }

    /// An object in memory that answers requests for its rest as told, and notes them.
    struct Fake {
        data: Bytes,
        answers: Mutex<VecDeque<Answer>>,
        /// The answer once the listed ones are used up.
        then: Answer,
        asked: Arc<Mutex<Vec<u64>>>,
    }

    fn body(data: &Bytes, from: usize, end: End) -> Body {
        let mut items: Vec<io::Result<Bytes>> = Vec::new();
        let until = match end {
            End::Whole | End::FailAfterLast => data.len(),
            End::BreakAfter(count) | End::StopAfter(count) => (from + count).min(data.len()),
        };
        if until > from {
            items.push(Ok(data.slice(from..until)));
        }
        match end {
            End::BreakAfter(_) if until < data.len() => items.push(Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "connection reset by peer",
            ))),
            End::FailAfterLast => items.push(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "checksum mismatch",
            ))),
            _ => {}
        }
        Box::new(tokio_util::io::StreamReader::new(futures::stream::iter(
            items,
        )))
    }

    impl Reopen for Fake {
        fn rest_from(&self, offset: u64) -> Reopening {
            self.asked.lock().expect("not poisoned").push(offset);
            let answer = self
                .answers
                .lock()
                .expect("not poisoned")
                .pop_front()
                .unwrap_or_else(|| self.then.clone());
            let result = match answer {
                Answer::Body(end) => Ok(body(&self.data, offset as usize, end)),
                Answer::Transient => Err(ReopenError::Transient("connection refused".into())),
                Answer::Final(why) => Err(ReopenError::Final(why.into())),
            };
            Box::pin(async move { result })
        }
    }

    const RETRY: Retry = Retry {
        attempts: 3,
        first_wait: Duration::ZERO,
    };

    fn data(len: usize) -> Bytes {
        (0..len)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>()
            .into()
    }

    /// Reads an object whose first body ends with `first`, the rest answered as listed.
    async fn read(
        data: &Bytes,
        first: End,
        answers: Vec<Answer>,
        then: Answer,
    ) -> (io::Result<Vec<u8>>, Vec<u64>) {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let fake = Fake {
            data: data.clone(),
            answers: Mutex::new(answers.into()),
            then,
            asked: asked.clone(),
        };
        let first = body(data, 0, first);
        let length = Some(data.len() as u64);
        let mut reader = Resuming::new(fake, "files.tar.zst".into(), length, first, RETRY);
        let mut out = Vec::new();
        let result = reader.read_to_end(&mut out).await.map(|_| out);
        let asked = asked.lock().expect("not poisoned").clone();
        (result, asked)
    }

    #[tokio::test]
    async fn a_broken_body_goes_on_from_the_byte_it_reached() {
        let data = data(10_000);
        let answers = vec![Answer::Body(End::BreakAfter(2000))];

        let (result, asked) = read(
            &data,
            End::BreakAfter(3000),
            answers,
            Answer::Body(End::Whole),
        )
        .await;

        assert_eq!(result.expect("read to the end"), data);
        assert_eq!(asked, [3000, 5000]);
    }

    #[tokio::test]
    async fn a_body_that_ends_short_of_its_length_goes_on_too() {
        let data = data(10_000);

        let (result, asked) = read(
            &data,
            End::StopAfter(3000),
            vec![],
            Answer::Body(End::Whole),
        )
        .await;

        assert_eq!(result.expect("read to the end"), data);
        assert_eq!(asked, [3000]);
    }

    #[tokio::test]
    async fn a_request_for_the_rest_without_an_answer_is_tried_again() {
        let data = data(10_000);
        let answers = vec![Answer::Transient, Answer::Transient];

        let (result, asked) = read(
            &data,
            End::BreakAfter(3000),
            answers,
            Answer::Body(End::Whole),
        )
        .await;

        assert_eq!(result.expect("read to the end"), data);
        assert_eq!(asked, [3000, 3000, 3000]);
    }

    #[tokio::test]
    async fn attempts_in_a_row_that_bring_nothing_give_up_naming_the_key_and_the_byte() {
        let data = data(10_000);

        let (result, asked) = read(
            &data,
            End::BreakAfter(3000),
            vec![],
            Answer::Body(End::BreakAfter(0)),
        )
        .await;

        let error = result.expect_err("gives up").to_string();
        assert!(error.contains("files.tar.zst"), "{error}");
        assert!(error.contains("at byte 3000"), "{error}");
        assert!(error.contains("3 attempts"), "{error}");
        assert!(error.contains("connection reset by peer"), "{error}");
        assert_eq!(asked, [3000, 3000, 3000]);
    }

    #[tokio::test]
    async fn a_body_that_breaks_often_but_always_brings_bytes_is_read_to_its_end() {
        let data = data(1000);

        let (result, asked) = read(
            &data,
            End::BreakAfter(100),
            vec![],
            Answer::Body(End::BreakAfter(100)),
        )
        .await;

        assert_eq!(result.expect("read to the end"), data);
        assert_eq!(asked, [100, 200, 300, 400, 500, 600, 700, 800, 900]);
    }

    #[tokio::test]
    async fn a_final_refusal_is_not_tried_again() {
        let data = data(10_000);

        let (result, asked) = read(
            &data,
            End::BreakAfter(3000),
            vec![],
            Answer::Final("the object changed while it was read"),
        )
        .await;

        let error = result.expect_err("fails").to_string();
        assert!(error.contains("files.tar.zst"), "{error}");
        assert!(error.contains("at byte 3000"), "{error}");
        assert!(error.contains("the object changed"), "{error}");
        assert_eq!(asked, [3000]);
    }

    #[tokio::test]
    async fn an_error_after_the_last_byte_is_reported_not_resumed() {
        let data = data(10_000);

        let (result, asked) =
            read(&data, End::FailAfterLast, vec![], Answer::Body(End::Whole)).await;

        let error = result.expect_err("fails").to_string();
        assert!(
            error.contains("files.tar.zst: checksum mismatch"),
            "{error}"
        );
        assert!(asked.is_empty(), "{asked:?}");
    }

    #[test]
    fn the_start_of_a_content_range_is_read() {
        assert_eq!(range_start("bytes 3000-9999/10000"), Some(3000));
        assert_eq!(range_start("bytes */10000"), None);
        assert_eq!(range_start("none"), None);
    }
}
