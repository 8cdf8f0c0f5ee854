use crate::common::{TestApp, field_error};

#[tokio::test]
async fn a_french_browser_gets_french_pages() {
    let app = TestApp::spawn_logged_in().await;
    let html = app
        .get_with("/settings", ("accept-language", "fr-FR,fr;q=0.9,en;q=0.5"))
        .await
        .text()
        .await
        .expect("body");
    assert!(html.contains("<html lang=\"fr\">"));
    assert!(html.contains("Paramètres de sauvegarde S3"));
    assert!(html.contains("Activer la sauvegarde automatique"));
}

#[tokio::test]
async fn the_language_switch_is_remembered() {
    let app = TestApp::spawn_logged_in().await;
    let html = app.get_text("/settings?lang=fr").await;
    assert!(html.contains("Enregistrer"));
    let html = app.get_text("/sources").await;
    assert!(html.contains("Ajouter une source"));
    let html = app.get_text("/sources?lang=en").await;
    assert!(html.contains("Add a source"));
}

#[tokio::test]
async fn validation_messages_are_translated() {
    let app = TestApp::spawn_logged_in().await;
    app.get("/settings?lang=fr").await;
    let r = app
        .post_form("/settings", &[("bucket", "Acme"), ("frequency", "none")])
        .await;
    let html = r.text().await.expect("body");
    let message = field_error(&html, "bucket").expect("message");
    assert!(message.contains("majuscules"), "{message}");
}
