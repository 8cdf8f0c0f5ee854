//! Every page on a phone (360 and 390 px) and on a wide screen (1280 px): nothing makes the page
//! scroll sideways, whatever it holds (long paths, long errors, full tables).

use crate::common::s3::TestS3;
use crate::common::{ADMIN, ADMIN_PASSWORD, TestApp};
use crate::driver::{Browser, Lang};
use crate::input_errors::log_in;

/// The widths every page is checked at, in CSS pixels: a small phone, a common one, a
/// wide screen.
pub const WIDTHS: [u32; 3] = [360, 390, 1280];

/// Every page behind the login, by path. `{source}` is the first source's id, `{run}` the
/// latest run's and `{backup}` the newest backup's folder in the bucket. A new page goes
/// here; pages reached only by a form (the new key pair) are visited in the test itself.
pub const PAGES: &[&str] = &[
    "/settings",
    "/sources",
    "/sources/{source}",
    "/email-account",
    "/backups",
    "/backups/{run}",
    "/restore",
    "/restore/{backup}",
    "/notifications",
    "/tokens",
];

/// The elements wider than the viewport, or reaching past its right edge, when the page
/// scrolls sideways; nothing when it does not.
const OVERFLOW: &str = r##"
const width = window.innerWidth;
if (document.documentElement.scrollWidth <= width) return [];
const wide = [];
document.querySelectorAll("body *").forEach(e => {
  const box = e.getBoundingClientRect();
  if (box.right > width + 0.5 && e.getClientRects().length) {
    wide.push(e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
      (e.className && typeof e.className === "string" ? "." + e.className.split(" ").join(".") : "") +
      " right=" + Math.round(box.right));
  }
});
return ["scrollWidth " + document.documentElement.scrollWidth + " > " + width].concat(wide.slice(0, 8));
"##;

/// Checks the page shown at each width; what overflows goes into `problems`.
async fn check_widths(browser: &Browser, what: &str, problems: &mut Vec<String>) {
    for width in WIDTHS {
        browser.set_viewport(width, 900).await;
        let found = browser.js(OVERFLOW).await;
        let found: Vec<&str> = found
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        if !found.is_empty() {
            problems.push(format!(
                "{what} ({}) at {width} px: {}",
                browser.path().await,
                found.join("; ")
            ));
        }
    }
}

/// Opens `path` and waits for its heading.
async fn visit(browser: &Browser, app: &TestApp, path: &str) {
    browser.goto(&app.url(path)).await;
    browser.find("h1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_a_phone_and_a_wide_screen() {
    let app = TestApp::spawn().await;
    let browser = Browser::start(Lang::English).await;
    let mut problems = Vec::new();

    visit(&browser, &app, "/setup").await;
    browser
        .find_text("h1", "Create the administrator account")
        .await;
    check_widths(&browser, "setup", &mut problems).await;

    // An app with something on every page: a bucket, sources with long paths, a backup that
    // worked, one that failed with a long error, a channel and a token.
    let app = TestApp::logged_in(app).await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    app.save_s3_settings(&s3, &bucket, "erp").await;
    let dir = tempfile::tempdir().expect("dir");
    let long = dir
        .path()
        .join("srv/www/erp.example.com/private/files/attachments-of-the-accounting-department");
    std::fs::create_dir_all(&long).expect("mkdir");
    std::fs::write(
        long.join("invoice-2026-12-0001-with-a-long-name.pdf"),
        b"%PDF",
    )
    .expect("write");
    app.add_directory_source("files", &long).await;
    let run = app.post_form("/backups/run", &[]).await;
    let run_page = run.url().path().to_owned();
    assert_eq!(app.wait_until_done(&run_page).await, "success");
    let gone = dir
        .path()
        .join("a-directory-that-will-not-be-there-when-the-backup-runs");
    std::fs::create_dir(&gone).expect("mkdir");
    app.add_directory_source("uploads", &gone).await;
    std::fs::remove_dir(&gone).expect("rmdir");
    let failed = app.post_form("/backups/run", &[]).await;
    let failed_page = failed.url().path().to_owned();
    assert_eq!(app.wait_until_done(&failed_page).await, "partial");
    let channel = app
        .post_form(
            "/notifications",
            &[
                ("name", "team chat"),
                ("kind", "slack"),
                (
                    "url",
                    "https://hooks.example.com/services/T000/B000/averylongsecretpath",
                ),
                ("token", ""),
                ("events", "backup_failed"),
            ],
        )
        .await;
    assert!(channel.status().is_success(), "{}", channel.status());
    let token = app
        .post_form("/tokens", &[("name", "monitoring"), ("scope", "read")])
        .await;
    assert!(token.status().is_success(), "{}", token.status());

    log_in(&browser, &app).await;
    let sources = app.get_text("/sources").await;
    let source = sources
        .split("href=\"/sources/")
        .nth(1)
        .map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .expect("a source's edit link");
    let catalogue = app.get_text("/restore").await;
    let backup = catalogue
        .split("href=\"/restore/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a backup in the catalogue")
        .to_owned();
    let run = failed_page.trim_start_matches("/backups/");
    for page in PAGES {
        let path = page
            .replace("{source}", &source)
            .replace("{run}", run)
            .replace("{backup}", &backup);
        visit(&browser, &app, &path).await;
        check_widths(&browser, page, &mut problems).await;
    }

    // On a wide screen a long error leaves the dates of the history on one line.
    visit(&browser, &app, "/backups").await;
    browser.set_viewport(1280, 900).await;
    let wrapped = browser
        .js(
            "return Array.from(document.querySelectorAll('table.runs tbody tr > :first-child a'))\
             .filter(a => a.getClientRects().length > 1).map(a => a.textContent);",
        )
        .await;
    assert_eq!(wrapped, serde_json::json!([]), "dates wrapped at 1280 px");

    // The new key pair is the answer to a form.
    visit(&browser, &app, "/settings").await;
    browser.click_text("button", "Generate a key pair").await;
    browser.find_text("h1", "Your recovery key").await;
    check_widths(&browser, "a new key pair", &mut problems).await;

    // A form with errors on a phone: the summary and messages fit too.
    visit(&browser, &app, "/sources").await;
    browser.set_viewport(390, 900).await;
    browser.fill("#f-name", "Not A Name").await;
    browser.click_text("main button", "Add").await;
    browser.find("#error-summary").await;
    check_widths(&browser, "sources with errors", &mut problems).await;

    browser.click_text("header button", "Log out").await;
    browser.find_text("h1", "Log in").await;
    check_widths(&browser, "login", &mut problems).await;
    browser.fill("#f-username", ADMIN).await;
    browser.fill("#f-password", "not the password").await;
    browser.click_text("main button", "Log in").await;
    browser
        .find_text("[role=alert]", "Wrong user name or password")
        .await;
    check_widths(&browser, "login refused", &mut problems).await;
    browser.fill("#f-password", ADMIN_PASSWORD).await;

    assert!(
        problems.is_empty(),
        "pages that scroll sideways:\n{}",
        problems.join("\n")
    );
    browser.close().await;
}
