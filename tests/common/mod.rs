//! Test support: the whole app on port 0 with its own data directory, and a browser-like
//! client that keeps cookies.
#![allow(dead_code)]

pub mod databases;
pub mod fake_postgres;
pub mod frappe_site;
pub mod iam;
pub mod moto;
pub mod proxy;
pub mod run_log;
pub mod s3;
pub mod smtp;
pub mod tree;
pub mod watch;
pub mod webhooks;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use s3_backup::app::{self, Server};
use s3_backup::config::Config;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// Changes made to the configuration of a test's app, kept for its restarts.
type Adjust = std::sync::Arc<dyn Fn(&mut Config) + Send + Sync>;

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    data_dir: PathBuf,
    ca_file: Option<PathBuf>,
    adjust: Adjust,
    _temp: Option<tempfile::TempDir>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("http client")
}

async fn start_with(
    data_dir: &Path,
    smtp_ca_file: Option<PathBuf>,
    adjust: &Adjust,
) -> (SocketAddr, oneshot::Sender<()>, JoinHandle<()>) {
    let mut config = Config::new(([127, 0, 0, 1], 0).into(), data_dir);
    config.smtp_ca_file = smtp_ca_file;
    adjust(&mut config);
    config.shutdown_grace = std::time::Duration::from_secs(2);
    let state = app::open_state(config).await.expect("open app state");
    let server = Server::bind(state).await.expect("bind");
    let addr = server.local_addr().expect("bound address");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .run(async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
    });
    (addr, stop, task)
}

impl TestApp {
    /// A fresh app with no account.
    pub async fn spawn() -> TestApp {
        Self::spawn_trusting(None).await
    }

    /// A fresh app that trusts `smtp_ca_pem` for its SMTP server.
    pub async fn spawn_trusting(smtp_ca_pem: Option<&str>) -> TestApp {
        Self::spawn_configured(smtp_ca_pem, std::sync::Arc::new(|_: &mut Config| {})).await
    }

    /// A fresh app with its configuration changed by `adjust` (at every restart too).
    pub async fn spawn_with(adjust: impl Fn(&mut Config) + Send + Sync + 'static) -> TestApp {
        Self::spawn_configured(None, std::sync::Arc::new(adjust)).await
    }

    async fn spawn_configured(smtp_ca_pem: Option<&str>, adjust: Adjust) -> TestApp {
        let temp = tempfile::tempdir().expect("temp dir");
        let data_dir = temp.path().join("data");
        let ca_file = smtp_ca_pem.map(|pem| {
            let path = temp.path().join("smtp-ca.pem");
            std::fs::write(&path, pem).expect("write CA file");
            path
        });
        let (addr, stop, task) = start_with(&data_dir, ca_file.clone(), &adjust).await;
        TestApp {
            addr,
            client: client(),
            data_dir,
            ca_file,
            adjust,
            _temp: Some(temp),
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// A fresh app configured as if served behind an HTTPS reverse proxy.
    pub async fn spawn_behind_https() -> TestApp {
        Self::spawn_with(|config| config.behind_https = true).await
    }

    /// A fresh app whose admin account exists and is logged in.
    pub async fn spawn_logged_in() -> TestApp {
        Self::logged_in(TestApp::spawn().await).await
    }

    /// Creates the admin account on a fresh app, which logs it in.
    pub async fn logged_in(app: TestApp) -> TestApp {
        let response = app
            .post_form(
                "/setup",
                &[
                    ("username", ADMIN),
                    ("password", ADMIN_PASSWORD),
                    ("password_confirm", ADMIN_PASSWORD),
                ],
            )
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.url().path(), "/");
        app
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The app's database, opened beside it: to arrange what no page can (a run left
    /// running by a process that died).
    pub async fn pool(&self) -> sqlx::SqlitePool {
        let config = Config::new(([127, 0, 0, 1], 0).into(), &self.data_dir);
        s3_backup::db::open(&config.database_path())
            .await
            .expect("open the app's database")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops the server and starts a new one on the same data directory; cookies are kept.
    pub async fn restart(&mut self) {
        self.shutdown().await;
        let (addr, stop, task) =
            start_with(&self.data_dir, self.ca_file.clone(), &self.adjust).await;
        self.addr = addr;
        self.stop = Some(stop);
        self.task = Some(task);
    }

    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task ends");
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_with(&self, path: &str, header: (&str, &str)) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header(header.0, header.1)
            .send()
            .await
            .expect("GET")
    }

    pub async fn get_text(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("body")
    }

    /// The CSRF token of the form on `path`.
    pub async fn csrf(&self, path: &str) -> String {
        csrf_in(&self.get_text(path).await)
    }

    /// Submits a form the way a browser does: with the page's CSRF token.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let form_page = match path {
            "/logout" | "/backups/run" => "/settings",
            p if p.ends_with("/delete") || p.starts_with("/sources") => "/sources",
            p if p.starts_with("/tokens") => "/tokens",
            p if p.starts_with("/notifications") => "/notifications",
            p if p.starts_with("/settings") => "/settings",
            // A decrypted download is asked for from its backup's page.
            p if p.contains("/objects/") => p.split("/objects/").next().unwrap_or(p),
            p if p.starts_with("/email-account") => "/email-account",
            // A restore or verification is started from its backup's page, a run cancelled
            // or started again from its own.
            p => ["/run", "/verify", "/cancel", "/again"]
                .iter()
                .find_map(|action| p.strip_suffix(action))
                .unwrap_or(p),
        };
        let token = self.csrf(form_page).await;
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts exactly these fields (no token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("POST")
    }

    /// Saves settings that back up to `bucket` of `s3` under `prefix`, manual runs only.
    pub async fn save_s3_settings(&self, s3: &s3::TestS3, bucket: &str, prefix: &str) {
        self.save_s3_settings_with(s3, bucket, prefix, &[]).await;
    }

    /// The same, with `extra` fields added (or replacing those of the same name).
    pub async fn save_s3_settings_with(
        &self,
        s3: &s3::TestS3,
        bucket: &str,
        prefix: &str,
        extra: &[(&str, &str)],
    ) {
        self.save_settings_at(&s3.endpoint, bucket, prefix, extra)
            .await;
    }

    /// The same, for any S3 server at `endpoint` (the in-process one's credentials).
    pub async fn save_settings_at(
        &self,
        endpoint: &url::Url,
        bucket: &str,
        prefix: &str,
        extra: &[(&str, &str)],
    ) {
        let endpoint = endpoint.as_str().trim_end_matches('/').to_owned();
        let base = [
            ("access_key_id", s3::ACCESS_KEY),
            ("secret_access_key", s3::SECRET_KEY),
            ("bucket", bucket),
            ("endpoint_url", endpoint.as_str()),
            ("region", s3::REGION),
            ("path_style", "on"),
            ("backup_path", prefix),
            ("frequency", "none"),
            ("backup_time", "02:00"),
            ("backup_weekday", "monday"),
            ("backup_monthday", "1"),
            ("timezone", "UTC"),
            ("backup_files", "on"),
            ("backup_limit", "0"),
        ];
        let mut fields: Vec<(&str, &str)> = base
            .into_iter()
            .filter(|(name, _)| !extra.iter().any(|(other, _)| other == name))
            .collect();
        fields.extend_from_slice(extra);
        assert_eq!(self.post_form("/settings", &fields).await.status(), 200);
    }

    /// Adds a directory source.
    pub async fn add_directory_source(&self, name: &str, dir: &Path) {
        let location = dir.to_str().expect("utf-8 path");
        let response = self
            .post_form(
                "/sources",
                &[
                    ("name", name),
                    ("kind", "directory"),
                    ("location", location),
                ],
            )
            .await;
        assert!(response.status().is_success(), "{}", response.status());
    }

    /// Follows the run's progress endpoint until it is no longer running.
    pub async fn wait_until_done(&self, run_page: &str) -> String {
        assert!(
            run_page
                .trim_start_matches("/backups/")
                .parse::<i64>()
                .is_ok(),
            "not a run's page: {run_page}"
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            assert!(
                std::time::Instant::now() < deadline,
                "{run_page} still running after 2 minutes"
            );
            let progress: serde_json::Value = self
                .get(&format!("{run_page}/progress"))
                .await
                .json()
                .await
                .expect("progress JSON");
            let status = progress["status"].as_str().unwrap_or_default().to_owned();
            if status != "running" {
                return status;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Follows the run's progress JSON until `ready` holds for it; returns that answer.
    pub async fn progress_when(
        &self,
        run_page: &str,
        ready: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let mut poll = tokio::time::interval(std::time::Duration::from_millis(50));
        loop {
            poll.tick().await;
            let progress: serde_json::Value = self
                .get(&format!("{run_page}/progress"))
                .await
                .json()
                .await
                .expect("progress JSON");
            if ready(&progress) {
                return progress;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{run_page}: still not there after a minute: {progress}"
            );
        }
    }

    /// Follows a run through the JSON API with `token` until it is no longer running;
    /// returns the run as the API gives it.
    pub async fn wait_until_api_run_done(&self, location: &str, token: &str) -> serde_json::Value {
        assert!(
            location.starts_with("/api/v1/runs/"),
            "not a run: {location}"
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let client = reqwest::Client::new();
        loop {
            assert!(
                std::time::Instant::now() < deadline,
                "{location} still running after 2 minutes"
            );
            let response = client
                .get(self.url(location))
                .bearer_auth(token)
                .send()
                .await
                .expect("GET the run");
            assert_eq!(response.status(), 200, "{location}");
            let run: serde_json::Value = response.json().await.expect("run JSON");
            if run["status"] != "running" {
                return run;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Every byte of the data directory's database files.
    pub fn database_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(&self.data_dir).expect("data dir") {
            let path = entry.expect("entry").path();
            if path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("s3-backup.sqlite3"))
            {
                all.extend(std::fs::read(&path).expect("read db file"));
            }
        }
        all
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("page has a CSRF token") + marker.len();
    let end = html[start..].find('"').expect("token ends") + start;
    html[start..end].to_owned()
}

/// The text of the field error shown for `name`, if any.
pub fn field_error(html: &str, name: &str) -> Option<String> {
    let marker = format!("id=\"e-{name}\">");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find("</p>")? + start;
    let text = html[start..end]
        .split('>')
        .next_back()
        .unwrap_or("")
        .trim()
        .to_owned();
    Some(text)
}

/// The value attribute of the input named `name`.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" type=");
    let start = html.find(&marker)?;
    let rest = &html[start..];
    let v = rest.find("value=\"")? + "value=\"".len();
    let end = rest[v..].find('"')? + v;
    Some(rest[v..end].to_owned())
}
