//! A PostgreSQL server impostor on 127.0.0.1, port 0: it answers every connection by asking
//! for the password in clear, and records every password a client sends it.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The SSLRequest code a client sends before its startup message.
const SSL_REQUEST: u32 = 80_877_103;

pub struct FakePostgres {
    pub port: u16,
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct Seen {
    connections: usize,
    passwords: Vec<String>,
}

impl FakePostgres {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let recorded = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    if let Ok(mut seen) = recorded.lock() {
                        seen.connections += 1;
                    }
                    if let Some(password) = ask_password(stream).await
                        && let Ok(mut seen) = recorded.lock()
                    {
                        seen.passwords.push(password);
                    }
                });
            }
        });
        Self { port, seen, task }
    }

    /// How many connections reached it.
    pub fn connections(&self) -> usize {
        self.seen
            .lock()
            .map(|seen| seen.connections)
            .unwrap_or_default()
    }

    /// Every password clients sent it.
    pub fn passwords(&self) -> Vec<String> {
        self.seen
            .lock()
            .map(|seen| seen.passwords.clone())
            .unwrap_or_default()
    }
}

impl Drop for FakePostgres {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Refuses TLS, reads the startup message, asks for a clear-text password and returns it.
async fn ask_password(mut stream: TcpStream) -> Option<String> {
    loop {
        let length = stream.read_u32().await.ok()?;
        let mut body = vec![0u8; usize::try_from(length).ok()?.checked_sub(4)?];
        stream.read_exact(&mut body).await.ok()?;
        if body.get(..4) == Some(&SSL_REQUEST.to_be_bytes()) {
            stream.write_all(b"N").await.ok()?;
            continue;
        }
        break;
    }
    // AuthenticationCleartextPassword.
    stream
        .write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3])
        .await
        .ok()?;
    if stream.read_u8().await.ok()? != b'p' {
        return None;
    }
    let length = stream.read_u32().await.ok()?;
    let mut body = vec![0u8; usize::try_from(length).ok()?.checked_sub(4)?];
    stream.read_exact(&mut body).await.ok()?;
    let password = body.split(|byte| *byte == 0).next()?;
    Some(String::from_utf8_lossy(password).into_owned())
}
