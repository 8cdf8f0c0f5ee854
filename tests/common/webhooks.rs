//! An HTTP server in the test process that receives notification channels' requests,
//! records each one and answers as told: a status and body, or never.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;

#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Clone)]
enum Answer {
    Status(u16, String),
    Hang,
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    answers: Mutex<HashMap<String, Answer>>,
    arrived: tokio::sync::Notify,
}

pub struct Webhooks {
    pub addr: std::net::SocketAddr,
    shared: Arc<Shared>,
}

impl Webhooks {
    pub async fn start() -> Webhooks {
        let shared = Arc::new(Shared::default());
        let state = shared.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let shared = state.clone();
                async move {
                    let path = uri.path().to_owned();
                    shared.received.lock().expect("lock").push(Received {
                        method: method.to_string(),
                        path: path.clone(),
                        headers,
                        body: body.to_vec(),
                    });
                    shared.arrived.notify_waiters();
                    let answer = shared.answers.lock().expect("lock").get(&path).cloned();
                    match answer {
                        Some(Answer::Hang) => std::future::pending().await,
                        Some(Answer::Status(status, body)) => {
                            (StatusCode::from_u16(status).expect("a status"), body).into_response()
                        }
                        None => (StatusCode::OK, "ok").into_response(),
                    }
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the webhook receiver");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Webhooks { addr, shared }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests to `path` are answered `status` with `body`.
    pub fn answer(&self, path: &str, status: u16, body: &str) {
        self.shared
            .answers
            .lock()
            .expect("lock")
            .insert(path.to_owned(), Answer::Status(status, body.to_owned()));
    }

    /// Requests to `path` are never answered.
    pub fn hang(&self, path: &str) {
        self.shared
            .answers
            .lock()
            .expect("lock")
            .insert(path.to_owned(), Answer::Hang);
    }

    /// Every request received, in order.
    pub fn all(&self) -> Vec<Received> {
        self.shared.received.lock().expect("lock").clone()
    }

    pub fn received(&self, path: &str) -> Vec<Received> {
        self.all().into_iter().filter(|r| r.path == path).collect()
    }

    /// Waits (at most 30 s) until `count` requests have been received that `matches`.
    pub async fn wait_for(
        &self,
        count: usize,
        matches: impl Fn(&Received) -> bool,
    ) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let arrived = self.shared.arrived.notified();
            let found: Vec<Received> = self.all().into_iter().filter(|r| matches(r)).collect();
            if found.len() >= count {
                return found;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("expected {count} requests, received {:?}", self.all());
            }
        }
    }

    pub async fn wait_path(&self, path: &str, count: usize) -> Vec<Received> {
        self.wait_for(count, |r| r.path == path).await
    }
}
