//! Every page, in its normal and its error states, checked in the browser: each field has a
//! label, ids are unique, what aria attributes point to exists, controls have a name, and
//! error messages are tied to their fields under a focused summary that is announced.

use crate::common::s3::{ACCESS_KEY, REGION, SECRET_KEY, TestS3};
use crate::common::{ADMIN, ADMIN_PASSWORD, TestApp};
use crate::driver::{Browser, Lang};
use crate::input_errors::log_in;

/// The page's accessibility problems, one line each (none: an empty list).
const AUDIT: &str = r#"
const problems = [];
const byId = id => document.getElementById(id);
if (!document.documentElement.lang) problems.push("no lang on <html>");
if (document.querySelectorAll("h1").length !== 1) problems.push("not exactly one h1");
document.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(field => {
  const name = field.name || field.outerHTML;
  if (!field.id) { problems.push("field without id: " + name); return; }
  const labels = document.querySelectorAll('label[for="' + CSS.escape(field.id) + '"]');
  if (labels.length !== 1) problems.push(labels.length + " label[for] for " + field.id);
  else if (!labels[0].textContent.trim()) problems.push("empty label for " + field.id);
});
const seen = new Set();
document.querySelectorAll("[id]").forEach(e => {
  if (seen.has(e.id)) problems.push("duplicate id " + e.id);
  seen.add(e.id);
});
document.querySelectorAll("[aria-describedby], [aria-labelledby]").forEach(e => {
  for (const attr of ["aria-describedby", "aria-labelledby"]) {
    for (const id of (e.getAttribute(attr) || "").split(/\s+/).filter(Boolean)) {
      if (!byId(id)) problems.push(attr + " of " + (e.id || e.tagName) + " names missing " + id);
    }
  }
});
const summary = byId("error-summary");
if (summary && summary.getAttribute("role") !== "alert") problems.push("error summary without role=alert");
if (summary && document.activeElement !== summary) problems.push("error summary not focused");
document.querySelectorAll(".field-error").forEach(m => {
  if (!m.id || !document.querySelector('[aria-describedby~="' + m.id + '"]')) {
    problems.push("message not tied to its field: " + m.textContent.trim());
  }
});
document.querySelectorAll("a[href^='#']").forEach(a => {
  const id = a.getAttribute("href").slice(1);
  if (id && !byId(id)) problems.push("link to missing #" + id);
});
document.querySelectorAll("button, a[href]").forEach(e => {
  if (!e.textContent.trim() && !e.getAttribute("aria-label")) problems.push("control without a name: " + e.outerHTML);
});
return problems;
"#;

pub async fn audit(browser: &Browser, what: &str, problems: &mut Vec<String>) {
    let found = browser.js(AUDIT).await;
    for problem in found.as_array().expect("a list") {
        problems.push(format!(
            "{what} ({}): {}",
            browser.path().await,
            problem.as_str().unwrap_or_default()
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_labels_its_fields_and_links_its_messages() {
    let app = TestApp::spawn().await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let browser = Browser::start(Lang::English).await;
    let mut problems = Vec::new();

    browser.goto(&app.url("/setup")).await;
    browser
        .find_text("h1", "Create the administrator account")
        .await;
    audit(&browser, "setup", &mut problems).await;
    browser.fill("#f-username", ADMIN).await;
    browser.fill("#f-password", "short").await;
    browser
        .click_text("main button", "Create the account")
        .await;
    browser.find("#error-summary").await;
    audit(&browser, "setup with errors", &mut problems).await;
    browser.fill("#f-password", ADMIN_PASSWORD).await;
    browser.fill("#f-password_confirm", ADMIN_PASSWORD).await;
    browser
        .click_text("main button", "Create the account")
        .await;
    browser.find_text(".notice", "logged in").await;
    browser.find("#checklist").await;
    audit(&browser, "overview before setup", &mut problems).await;

    browser.goto(&app.url("/settings")).await;
    browser.find_text("h1", "S3 Backup Settings").await;
    audit(&browser, "settings", &mut problems).await;
    browser.fill("#f-bucket", "Bad_Bucket").await;
    browser.select("#f-frequency", "daily").await;
    browser.fill("#f-backup_time", "").await;
    browser.select("#f-frequency", "cron").await;
    browser.fill("#f-cron", "every day").await;
    browser.click_text("button", "Save").await;
    browser.find("#error-summary").await;
    audit(&browser, "settings with errors", &mut problems).await;

    // Settings that work, then a source and a run, so every page has content.
    browser.goto(&app.url("/settings")).await;
    browser.fill("#f-access_key_id", ACCESS_KEY).await;
    browser.fill("#f-secret_access_key", SECRET_KEY).await;
    browser.fill("#f-bucket", &bucket).await;
    let endpoint = s3.endpoint.as_str().trim_end_matches('/').to_owned();
    browser.fill("#f-endpoint_url", &endpoint).await;
    browser.fill("#f-region", REGION).await;
    browser.check("#f-path_style", true).await;
    browser.click_text("button", "Test connection").await;
    browser
        .find_text("#connection-result", "The bucket is reachable")
        .await;
    audit(&browser, "settings with a connection test", &mut problems).await;
    browser.click_text("button", "Save").await;
    browser.find_text(".notice", "Saved.").await;
    audit(&browser, "settings saved", &mut problems).await;

    browser.click_text("nav a", "Sources").await;
    browser.find_text("h1", "Sources").await;
    audit(&browser, "sources, none yet", &mut problems).await;
    browser.fill("#f-name", "Not A Name").await;
    browser.click_text("main button", "Add").await;
    browser.find("#error-summary").await;
    audit(&browser, "sources with errors", &mut problems).await;
    let dir = tempfile::tempdir().expect("a directory to back up");
    std::fs::write(dir.path().join("a.txt"), "a").expect("write");
    browser.fill("#f-name", "files").await;
    browser.select("#f-kind", "directory").await;
    browser
        .fill("#f-location", dir.path().to_str().expect("UTF-8 path"))
        .await;
    browser.click_text("main button", "Add").await;
    browser.find_text(".notice", "Source added.").await;
    audit(&browser, "sources", &mut problems).await;
    browser.click_text("table.sources a", "Edit").await;
    browser.find_text("h1", "Edit a source").await;
    audit(&browser, "edit a source", &mut problems).await;

    browser.click_text("nav a", "Notifications").await;
    browser.find_text("h1", "Notification channels").await;
    audit(&browser, "notification channels, none yet", &mut problems).await;
    browser.fill("#f-url", "ftp://example.com/hook").await;
    browser.check("#f-events-backup_failed", false).await;
    browser.click_text("main button", "Add channel").await;
    browser.find("#error-summary").await;
    audit(&browser, "notification channels with errors", &mut problems).await;
    browser.fill("#f-name", "team chat").await;
    browser.select("#f-kind", "slack").await;
    browser
        .fill("#f-url", "https://hooks.example.com/services/T/B/x")
        .await;
    browser.check("#f-events-backup_failed", true).await;
    browser.click_text("main button", "Add channel").await;
    browser.find_text(".notice", "Channel added.").await;
    audit(&browser, "notification channels", &mut problems).await;

    browser.click_text("nav a", "E-mail account").await;
    browser.find_text("h1", "E-mail account").await;
    audit(&browser, "e-mail account", &mut problems).await;
    browser.fill("#f-smtp_host", "not a host!").await;
    browser.fill("#f-smtp_port", "99999").await;
    browser.click_text("main button", "Save").await;
    browser.find("#error-summary").await;
    audit(&browser, "e-mail account with errors", &mut problems).await;

    browser.click_text("nav a", "History").await;
    browser.find_text("h1", "Backup history").await;
    audit(&browser, "history, empty", &mut problems).await;
    browser.click_text("main button", "Backup now").await;
    browser.find_text("#run-status", "Success").await;
    audit(&browser, "a run", &mut problems).await;
    browser.click_text("a", "Back to the history").await;
    browser.find("table.runs").await;
    audit(&browser, "history", &mut problems).await;
    browser
        .goto(&app.url("/backups?status=done&kind=backup"))
        .await;
    browser.find("#error-summary").await;
    audit(
        &browser,
        "history with a filter it does not know",
        &mut problems,
    )
    .await;
    browser.click_text("nav a", "Overview").await;
    browser
        .find_text("#health", "the last backup succeeded")
        .await;
    audit(&browser, "overview after a backup", &mut problems).await;
    browser.click("details.chart-table summary").await;
    audit(
        &browser,
        "overview with a chart's table open",
        &mut problems,
    )
    .await;

    browser.click_text("nav a", "Restore").await;
    browser.find_text("h1", "Backups in the bucket").await;
    audit(&browser, "catalogue", &mut problems).await;
    browser.click("table a[href^='/restore/']").await;
    browser.find("form.restore-form").await;
    audit(&browser, "a backup's page", &mut problems).await;
    browser
        .click("form.restore-form input[value=elsewhere]")
        .await;
    browser
        .click_text("form.restore-form button", "Restore files")
        .await;
    browser
        .find_text("[role=alert]", "Name where to restore it.")
        .await;
    audit(&browser, "a restore refused", &mut problems).await;
    browser.click("form.restore-form input[value=new]").await;
    browser
        .click_text("form.restore-form button", "Restore files")
        .await;
    browser.find_text("#run-status", "Success").await;
    audit(&browser, "a restore", &mut problems).await;

    // Encryption: a key pair shown once, then a backup for a key the app does not hold, whose
    // page asks for the identity.
    browser.click_text("nav a", "Settings").await;
    browser.click_text("button", "Generate a key pair").await;
    browser.find_text("h1", "Your recovery key").await;
    audit(&browser, "a new key pair", &mut problems).await;
    browser
        .click_text("main button", "Encrypt backups with this key")
        .await;
    browser.find("#e-saved").await;
    audit(&browser, "a key pair not confirmed", &mut problems).await;
    browser.check("#f-saved", true).await;
    browser
        .click_text("main button", "Encrypt backups with this key")
        .await;
    browser
        .find_text(".notice", "New backups are encrypted")
        .await;
    audit(&browser, "settings encrypting", &mut problems).await;
    let office = s3_backup::settings::Identity::generate().recipients();
    browser.fill("#f-age_recipients", &office.to_string()).await;
    browser.click_text("button", "Save").await;
    browser.find_text(".notice", "Saved.").await;
    browser.click_text("main button", "Backup now").await;
    browser.find_text("#run-status", "Success").await;
    browser.click_text("nav a", "Restore").await;
    browser.click("table a[href^='/restore/']").await;
    browser.find("textarea[name=identity]").await;
    audit(&browser, "an encrypted backup's page", &mut problems).await;
    browser
        .click_text("form.restore-form button", "Restore files")
        .await;
    browser
        .find_text("[role=alert]", "paste the identity file")
        .await;
    audit(&browser, "an encrypted restore refused", &mut problems).await;

    browser.click_text("header button", "Log out").await;
    browser.find_text("h1", "Log in").await;
    audit(&browser, "login", &mut problems).await;
    browser.fill("#f-username", ADMIN).await;
    browser.fill("#f-password", "not the password").await;
    browser.click_text("main button", "Log in").await;
    browser
        .find_text("[role=alert]", "Wrong user name or password")
        .await;
    audit(&browser, "login refused", &mut problems).await;
    log_in(&browser, &app).await;

    assert!(
        problems.is_empty(),
        "accessibility problems:\n{}",
        problems.join("\n")
    );
    browser.close().await;
}
