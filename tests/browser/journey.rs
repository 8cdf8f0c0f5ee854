//! The whole way through, in French: first-run setup, the settings tested and saved, sources
//! added, a backup started and followed to its end, the history, the run's objects, a
//! restore from the bucket's catalogue, logout.

use std::path::Path;

use crate::common::TestApp;
use crate::common::s3::{ACCESS_KEY, REGION, SECRET_KEY, TestS3};
use crate::driver::{Browser, Lang, publish};

/// A directory with a few files and a SQLite database made with the sqlite3 tool.
fn sources(dir: &Path) -> (String, String) {
    let files = dir.join("fichiers");
    std::fs::create_dir_all(files.join("factures")).expect("mkdir");
    std::fs::write(
        files.join("factures/f-042.txt"),
        "Facture n°42 — 1 234,56 €",
    )
    .expect("write");
    std::fs::write(files.join("lisez-moi.md"), "# Pièces jointes\n").expect("write");
    std::fs::write(files.join("logo.svg"), "<svg/>").expect("write");
    let db = dir.join("erp.sqlite3");
    let status = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("CREATE TABLE clients (nom TEXT); INSERT INTO clients VALUES ('Élodie'), ('Noël');")
        .status()
        .expect("the sqlite3 tool is installed");
    assert!(status.success(), "sqlite3 made the database");
    let path = |p: &Path| p.to_str().expect("UTF-8 path").to_owned();
    (path(&files), path(&db))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sets_up_backs_up_and_checks_the_history_in_french() {
    let app = TestApp::spawn().await;
    let s3 = TestS3::start().await;
    let bucket = s3.new_bucket().await;
    let dir = tempfile::tempdir().expect("source directory");
    let (files, db) = sources(dir.path());
    let browser = Browser::start(Lang::French).await;

    // First run: every page leads to the account creation, in the browser's language.
    browser.goto(&app.url("/")).await;
    assert_eq!(browser.path().await, "/setup");
    assert_eq!(browser.attr("html", "lang").await.as_deref(), Some("fr"));
    browser
        .find_text("h1", "Créer le compte administrateur")
        .await;
    browser.fill("#f-username", "admin").await;
    browser
        .fill("#f-password", "une phrase de passe solide")
        .await;
    browser
        .fill("#f-password_confirm", "une phrase de passe solide")
        .await;
    browser.click_text("button", "Créer le compte").await;
    browser.find_text(".notice", "vous êtes connecté").await;
    // The overview leads, with the steps to take first.
    assert_eq!(browser.path().await, "/");
    browser.find_text("#health", "pas encore configurées").await;
    browser
        .click_text("#checklist a", "Ouvrir les paramètres")
        .await;
    assert_eq!(browser.path().await, "/settings");
    assert!(
        browser
            .text("h1")
            .await
            .contains("Paramètres de sauvegarde S3")
    );

    // The settings, against the S3 server.
    let endpoint = s3.endpoint.as_str().trim_end_matches('/').to_owned();
    browser.check("#f-enabled", true).await;
    browser.fill("#f-access_key_id", ACCESS_KEY).await;
    browser.fill("#f-secret_access_key", SECRET_KEY).await;
    browser.fill("#f-notify_email", "ops@example.fr").await;
    browser.fill("#f-bucket", &bucket).await;
    browser.fill("#f-endpoint_url", &endpoint).await;
    browser.fill("#f-region", REGION).await;
    browser.check("#f-path_style", true).await;
    browser.fill("#f-backup_path", "erp").await;
    browser.select("#f-frequency", "daily").await;
    browser.check("#f-backup_files", true).await;
    browser.fill("#f-backup_limit", "7").await;

    browser.click_text("button", "Tester la connexion").await;
    let result = browser
        .find_text("#connection-result", "Le bucket est joignable")
        .await;
    assert_eq!(
        result.attr("role").await.expect("role").as_deref(),
        Some("status")
    );
    assert_eq!(
        browser.path().await,
        "/settings",
        "the answer comes without leaving the page"
    );
    assert_eq!(
        browser.focused().await,
        "connection-result",
        "the answer is read out"
    );
    // What was typed is still there, the secret included: nothing to type again.
    assert_eq!(browser.value("#f-bucket").await, bucket);
    assert_eq!(browser.value("#f-secret_access_key").await, SECRET_KEY);

    browser.click_text("button", "Enregistrer").await;
    browser
        .find_text(".notice[role=status]", "Enregistré.")
        .await;
    assert_eq!(browser.path().await, "/settings");
    assert!(browser.is_checked("#f-enabled").await);
    assert_eq!(browser.value("#f-access_key_id").await, ACCESS_KEY);
    assert_eq!(
        browser.value("#f-secret_access_key").await,
        "",
        "never shown back"
    );
    assert!(
        browser
            .text("#h-secret_access_key")
            .await
            .contains("Une clé secrète est enregistrée")
    );
    assert_eq!(browser.value("#f-notify_email").await, "ops@example.fr");
    assert_eq!(browser.value("#f-bucket").await, bucket);
    assert_eq!(browser.value("#f-endpoint_url").await, endpoint);
    assert_eq!(browser.value("#f-region").await, REGION);
    assert!(browser.is_checked("#f-path_style").await);
    assert_eq!(browser.value("#f-backup_path").await, "erp");
    assert_eq!(browser.value("#f-frequency").await, "daily");
    assert_eq!(browser.value("#f-backup_limit").await, "7");
    let shot = browser.screenshot("settings").await;
    publish(&shot, "settings");

    // The sources.
    browser.click_text("nav a", "Sources").await;
    browser.find_text("h1", "Sources").await;
    for (name, kind, location) in [("fichiers", "directory", &files), ("erp", "sqlite", &db)] {
        browser.fill("#f-name", name).await;
        browser.select("#f-kind", kind).await;
        browser.fill("#f-location", location).await;
        browser.click_text("button", "Ajouter").await;
        browser.find_text(".notice", "Source ajoutée.").await;
        browser.find_text("table.sources td", location).await;
    }

    // Backup now, followed on the run's page until it ends. The S3 server holds every
    // request meanwhile, so the page is seen while the run is under way.
    browser.click_text("nav a", "Historique").await;
    s3.hooks.hold();
    browser.click_text("button", "Sauvegarder maintenant").await;
    browser
        .find_text(".notice", "La sauvegarde a démarré")
        .await;
    let run_page = browser.path().await;
    assert!(
        run_page.starts_with("/backups/"),
        "on the run's page: {run_page}"
    );
    browser
        .find_text("#run-status.status-running", "En cours")
        .await;
    browser.find_text("section.live h2", "Avancement").await;
    s3.hooks.open();
    // The page's script polls the progress and reloads itself when the run ends.
    browser
        .find_text("#run-status.status-success", "Réussie")
        .await;
    assert_eq!(
        browser.count("section.live").await,
        0,
        "no progress once done"
    );

    // The history shows it as a success.
    browser.click_text("a", "Retour à l'historique").await;
    browser.find_text("h1", "Historique des sauvegardes").await;
    let status = browser
        .text("table.runs tbody tr:first-child .status-success")
        .await;
    assert_eq!(status, "Réussie");
    assert_eq!(
        browser
            .text("table.runs tbody tr:first-child .run-trigger")
            .await,
        "manuel",
        "started by hand, not named after the button"
    );
    let shot = browser.screenshot("history").await;
    publish(&shot, "history");

    // The run's page lists what was stored.
    browser.click("table.runs tbody tr:first-child a").await;
    browser.find_text("h1", "Sauvegarde du").await;
    assert_eq!(browser.path().await, run_page);
    let objects = browser.text("main table").await;
    for object in ["fichiers.tar.zst", "erp.sqlite3.zst"] {
        assert!(objects.contains(object), "{object} listed in:\n{objects}");
    }
    let keys = s3.keys(&bucket, "erp/").await;
    for object in ["fichiers.tar.zst", "erp.sqlite3.zst", "manifest.json"] {
        assert!(
            keys.iter().any(|k| k.ends_with(object)),
            "{object} in {keys:?}"
        );
    }
    browser.screenshot("run").await;

    // The backup comes back from the browser: the catalogue read from the bucket, the
    // backup's page, a restore of the files into a new directory beside them, followed to
    // its end on its run's page.
    browser.click_text("nav a", "Restauration").await;
    browser.find_text("h1", "Sauvegardes dans le bucket").await;
    browser.click("table a[href^='/restore/']").await;
    browser.find_text("h1", "Sauvegarde").await;
    browser
        .click_text("form.restore-form button", "Restaurer fichiers")
        .await;
    browser
        .find_text(".notice", "La restauration a commencé")
        .await;
    browser
        .find_text("#run-status.status-success", "Réussie")
        .await;
    browser.find_text("h1", "Restauration du").await;
    let restored = std::fs::read_dir(dir.path())
        .expect("read dir")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("fichiers.restored-"))
        })
        .expect("a new directory beside the source");
    assert_eq!(
        std::fs::read_to_string(restored.join("factures/f-042.txt")).expect("restored"),
        "Facture n°42 — 1 234,56 €"
    );
    browser.click_text("a", "Retour à l'historique").await;
    assert!(
        browser
            .text("table.runs tbody tr:first-child")
            .await
            .contains("Restauration")
    );
    browser.screenshot("restore").await;

    // Logout: back to the login page, and the settings are out of reach.
    browser.click_text("header button", "Se déconnecter").await;
    browser.find_text("h1", "Connexion").await;
    assert_eq!(browser.path().await, "/login");
    browser.goto(&app.url("/settings")).await;
    browser.find_text("h1", "Connexion").await;
    assert_eq!(browser.path().await, "/login");

    browser.close().await;
}
