//! Debian's Chromium, headless, driven through a chromedriver this test starts on a free
//! port and kills when it is done; helpers that read like what a person does on a page.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long a page may take to show what a test waits for.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// A chromedriver process; killed, with the browsers it started, when dropped.
struct Chromedriver {
    child: Child,
    url: String,
}

impl Chromedriver {
    async fn start() -> Chromedriver {
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: apt-get install -y chromium chromium-driver"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so the browsers it starts go with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{CHROMEDRIVER} does not start ({e}): apt-get install -y chromium-driver")
            });
        let mut driver = Chromedriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        driver.wait_ready().await;
        driver
    }

    /// Polls /status until chromedriver says it is ready.
    async fn wait_ready(&mut self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + TIMEOUT;
        let mut poll = tokio::time::interval(Duration::from_millis(20));
        loop {
            poll.tick().await;
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("chromedriver exited at start: {status}");
            }
            let ready = match http.get(format!("{}/status", self.url)).send().await {
                Ok(response) => response
                    .json::<Value>()
                    .await
                    .is_ok_and(|v| v["value"]["ready"] == json!(true)),
                Err(_) => false,
            };
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "chromedriver is not ready");
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and any Chromium a failed test left open.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The interface language the browser asks for.
#[derive(Clone, Copy)]
pub enum Lang {
    English,
    French,
}

/// One headless Chromium with a fresh profile.
pub struct Browser {
    pub client: Client,
    // Dropped in this order: the browser's processes go before its profile directory.
    _driver: Chromedriver,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start(lang: Lang) -> Browser {
        Self::start_with(lang, true).await
    }

    /// A browser whose pages run no script, as some readers' do.
    pub async fn start_without_javascript(lang: Lang) -> Browser {
        Self::start_with(lang, false).await
    }

    async fn start_with(lang: Lang, javascript: bool) -> Browser {
        let driver = Chromedriver::start().await;
        let profile = tempfile::tempdir().expect("profile directory");
        let (lang_arg, accept) = match lang {
            Lang::English => ("en-US", "en-US,en"),
            Lang::French => ("fr", "fr-FR,fr"),
        };
        let mut caps = Capabilities::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--window-size=1280,1000",
                    format!("--lang={lang_arg}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {
                    "intl.accept_languages": accept,
                    // 1 allows scripts, 2 blocks them.
                    "profile.managed_default_content_settings.javascript":
                        if javascript { 1 } else { 2 },
                },
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .expect("a Chromium session");
        Browser {
            client,
            _driver: driver,
            _profile: profile,
        }
    }

    /// Ends the session, which closes Chromium.
    pub async fn close(self) {
        let Browser {
            client,
            _driver,
            _profile,
        } = self;
        client.close().await.expect("close the browser");
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("open the page");
    }

    /// The path of the page shown.
    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("current URL")
            .path()
            .to_owned()
    }

    /// The element matching `css`, once the page shows it.
    pub async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(TIMEOUT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!("no {css} on {}: {e}", self.path().await),
        }
    }

    /// Waits until an element matching `css` contains `text`, and returns it.
    pub async fn find_text(&self, css: &str, text: &str) -> Element {
        let deadline = Instant::now() + TIMEOUT;
        let mut poll = tokio::time::interval(Duration::from_millis(100));
        loop {
            poll.tick().await;
            for element in self
                .client
                .find_all(Locator::Css(css))
                .await
                .unwrap_or_default()
            {
                if element.text().await.is_ok_and(|t| t.contains(text)) {
                    return element;
                }
            }
            if Instant::now() > deadline {
                let body = self.text("body").await;
                panic!("no {css} with {text:?} on {}:\n{body}", self.path().await);
            }
        }
    }

    /// How many elements match `css` now, without waiting.
    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .expect("find elements")
            .len()
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css).await.attr(name).await.expect("attribute")
    }

    /// The current value of a form field (what the user sees, not the HTML attribute).
    pub async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default()
    }

    pub async fn is_checked(&self, css: &str) -> bool {
        self.find(css).await.is_selected().await.expect("checked")
    }

    /// Replaces what a text field holds by typing `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear the field");
        if !text.is_empty() {
            field.send_keys(text).await.expect("type into the field");
        }
    }

    pub async fn check(&self, css: &str, on: bool) {
        if self.is_checked(css).await != on {
            self.click(css).await;
        }
    }

    pub async fn select(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .expect("choose an option");
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("click");
    }

    /// Clicks the button or link whose text contains `text`.
    pub async fn click_text(&self, css: &str, text: &str) {
        self.find_text(css, text)
            .await
            .click()
            .await
            .expect("click");
    }

    /// Runs `script` in the page and returns what it returns.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .expect("script runs")
    }

    /// Presses one key, sent to whatever has the focus.
    pub async fn press(&self, key: Key) {
        let key: char = key.into();
        self.keys(&key.to_string()).await;
    }

    /// Types `text` into whatever has the focus, key by key.
    pub async fn keys(&self, text: &str) {
        let mut actions = KeyActions::new("keyboard".into());
        for c in text.chars() {
            actions = actions
                .then(KeyAction::Down { value: c })
                .then(KeyAction::Up { value: c });
        }
        self.client
            .perform_actions(actions)
            .await
            .expect("keyboard input");
    }

    /// Presses `key` while `modifier` is held (e.g. Shift+Tab, Ctrl+A).
    pub async fn chord(&self, modifier: Key, key: char) {
        let modifier: char = modifier.into();
        let actions = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: modifier })
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key })
            .then(KeyAction::Up { value: modifier });
        self.client
            .perform_actions(actions)
            .await
            .expect("keyboard input");
    }

    /// The id (or tag and text) of the focused element.
    pub async fn focused(&self) -> String {
        self.js("const e = document.activeElement; \
             return e.id || (e.tagName.toLowerCase() + ':' + e.textContent.trim());")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Makes the page's viewport `width` CSS pixels wide and `height` tall, as a phone's
    /// or a wide screen's (a window cannot be made narrower than 500 px), until changed.
    pub async fn set_viewport(&self, width: u32, height: u32) {
        let metrics = json!({
            "width": width,
            "height": height,
            "deviceScaleFactor": 1,
            "mobile": false,
        });
        self.client
            .issue_cmd(Cdp {
                command: "Emulation.setDeviceMetricsOverride",
                params: metrics,
            })
            .await
            .expect("set the viewport");
        let inner = self.js("return window.innerWidth;").await;
        assert_eq!(inner.as_u64(), Some(u64::from(width)), "viewport width");
    }

    /// Saves the whole page as `target/screenshots/<name>.png` and returns the file.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        // The window is made as tall as the page (its frame included), from the top.
        let sizes = self
            .js("window.scrollTo(0, 0); \
                 return [document.documentElement.scrollHeight, \
                         window.outerHeight - window.innerHeight];")
            .await;
        let page = sizes[0].as_u64().unwrap_or(1000);
        let frame = sizes[1].as_u64().unwrap_or(0);
        let height = u32::try_from((page + frame).clamp(1000, 6000)).unwrap_or(1000);
        self.client
            .set_window_size(1280, height)
            .await
            .expect("resize for a full-page screenshot");
        let png = self.client.screenshot().await.expect("screenshot");
        self.client
            .set_window_size(1280, 1000)
            .await
            .expect("restore the window size");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        let file = dir.join(format!("{name}.png"));
        std::fs::write(&file, png).expect("write the screenshot");
        file
    }
}

/// A Chrome DevTools command, sent through chromedriver.
#[derive(Debug)]
struct Cdp {
    command: &'static str,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/goog/cdp/execute"))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        let body = json!({ "cmd": self.command, "params": self.params });
        (axum::http::Method::POST, Some(body.to_string()))
    }
}

/// `target/screenshots`, beside the directory cargo gives integration tests.
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap_or_else(|| Path::new("target"))
        .join("screenshots")
}

/// With `S3BACKUP_UPDATE_SCREENSHOTS=1`, also copies a screenshot into docs/screenshots.
pub fn publish(file: &Path, name: &str) {
    if std::env::var_os("S3BACKUP_UPDATE_SCREENSHOTS").is_none() {
        return;
    }
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&docs).expect("docs/screenshots");
    std::fs::copy(file, docs.join(format!("{name}.png"))).expect("copy the screenshot");
}
