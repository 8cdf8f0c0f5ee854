//! moto in server mode, an S3 server out of the test process that behaves like another
//! provider (its own checksum reporting, Object Lock, storage classes, server-side
//! encryption): one server per test on a free port of 127.0.0.1, killed when dropped.
//! A test that needs it fails when it is missing (scripts/test-setup.sh installs it).

use std::process::Stdio;
use std::time::{Duration, Instant};

use s3_backup::backup::S3Target;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// moto accepts any credentials; these only have to be well formed.
pub const ACCESS_KEY: &str = "AKIAMOTOTEST";
pub const SECRET_KEY: &str = "moto-test-secret";
pub const REGION: &str = "us-east-1";

/// How long moto may take to start (a cold Python start on a loaded machine).
const START_DEADLINE: Duration = Duration::from_secs(60);

pub struct Moto {
    pub endpoint: url::Url,
    /// Reads back what the app stored.
    pub client: aws_sdk_s3::Client,
    child: Child,
}

impl Moto {
    /// A fresh, empty moto server, answering when this returns.
    pub async fn start() -> Moto {
        let port = free_port();
        let mut child = command(port)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("moto_server does not start ({err}): {}", HOW_TO_INSTALL));
        let stderr = child.stderr.take().expect("moto's stderr is piped");
        // moto logs every request on stderr: it is read to the end so that it never blocks,
        // and its first lines are kept to explain a failed start.
        let (first_lines, mut first_lines_rx) = tokio::sync::watch::channel(String::new());
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut kept = 0;
            while let Ok(Some(line)) = lines.next_line().await {
                if kept < 40 {
                    kept += 1;
                    first_lines.send_modify(|text| {
                        text.push_str(&line);
                        text.push('\n');
                    });
                }
            }
        });
        let endpoint = url::Url::parse(&format!("http://127.0.0.1:{port}")).expect("endpoint URL");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if http.get(endpoint.as_str()).send().await.is_ok() {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "moto_server exited ({status}) before answering:\n{}",
                    first_lines_rx.borrow().as_str()
                );
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer on {endpoint} within {START_DEADLINE:?}:\n{}",
                first_lines_rx.borrow().as_str()
            );
            // Wakes on moto's next line of output (it logs when it starts listening), or
            // after a short while to try again.
            let _ =
                tokio::time::timeout(Duration::from_millis(100), first_lines_rx.changed()).await;
        }
        let client = s3_backup::backup::s3::client(&target_at(&endpoint, "any", ""));
        Moto {
            endpoint,
            client,
            child,
        }
    }

    /// A target for `bucket` on this server, path-style, under `prefix`.
    pub fn target(&self, bucket: &str, prefix: &str) -> S3Target {
        target_at(&self.endpoint, bucket, prefix)
    }

    /// A new bucket with a unique name.
    pub async fn new_bucket(&self) -> String {
        let name = format!("backups-{}", rand::random::<u32>());
        self.client
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .expect("create bucket on moto");
        name
    }

    /// A new bucket with Object Lock enabled (and so versioning), without a default
    /// retention.
    pub async fn new_locked_bucket(&self) -> String {
        let name = format!("locked-{}", rand::random::<u32>());
        self.client
            .create_bucket()
            .bucket(&name)
            .object_lock_enabled_for_bucket(true)
            .send()
            .await
            .expect("create a bucket with Object Lock on moto");
        name
    }

    /// A new bucket with Object Lock whose objects written without a lock of their own are
    /// locked for `days` in `mode` (moto takes it only while the bucket is empty).
    pub async fn new_bucket_with_default_retention(
        &self,
        mode: aws_sdk_s3::types::ObjectLockRetentionMode,
        days: i32,
    ) -> String {
        use aws_sdk_s3::types::{
            DefaultRetention, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRule,
        };
        let name = self.new_locked_bucket().await;
        let rule = ObjectLockRule::builder()
            .default_retention(DefaultRetention::builder().mode(mode).days(days).build())
            .build();
        self.client
            .put_object_lock_configuration()
            .bucket(&name)
            .object_lock_configuration(
                ObjectLockConfiguration::builder()
                    .object_lock_enabled(ObjectLockEnabled::Enabled)
                    .rule(rule)
                    .build(),
            )
            .send()
            .await
            .expect("set a default retention on moto");
        name
    }

    /// Every key under `prefix`, sorted.
    pub async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let listing = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .send()
            .await
            .expect("list objects on moto");
        let mut keys: Vec<String> = listing
            .contents()
            .iter()
            .filter_map(|object| object.key().map(str::to_owned))
            .collect();
        keys.sort();
        keys
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

const HOW_TO_INSTALL: &str =
    "moto is needed by this test: run scripts/test-setup.sh (pip install 'moto[server]')";

/// `moto_server`, or moto's module through python3 where only the module is installed.
fn command(port: u16) -> Command {
    let port = port.to_string();
    if on_path("moto_server") {
        let mut command = Command::new("moto_server");
        command.args(["-H", "127.0.0.1", "-p", &port]);
        command
    } else {
        let found = std::process::Command::new("python3")
            .args(["-c", "import moto.server"])
            .output()
            .map(|output| output.status.success())
            .unwrap_or(false);
        assert!(found, "{HOW_TO_INSTALL}");
        let mut command = Command::new("python3");
        command.args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port]);
        command
    }
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
}

/// A port free at the time of asking (moto takes a port number, not a bound socket).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free local port")
        .port()
}

fn target_at(endpoint: &url::Url, bucket: &str, prefix: &str) -> S3Target {
    S3Target {
        endpoint: Some(endpoint.clone()),
        region: REGION.to_owned(),
        bucket: bucket.to_owned(),
        access_key_id: ACCESS_KEY.to_owned(),
        secret_access_key: SECRET_KEY.to_owned(),
        path_style: true,
        prefix: prefix.to_owned(),
        max_parts: S3Target::DEFAULT_MAX_PARTS,
        storage: Default::default(),
    }
}
