//! The history through the API: newest first, limited, filtered by status; one run by
//! id; parameters that cannot be taken refused with 400.

use s3_backup::db::runs::{self, Outcome, Stored, Trigger};
use s3_backup::lang::Message;

use super::{create_token, get};
use crate::common::TestApp;

/// Records `statuses` as backups, oldest first, straight in the app's history.
async fn history(app: &TestApp, statuses: &[&str]) -> Vec<i64> {
    let pool = app.pool().await;
    let mut ids = Vec::new();
    for (n, status) in statuses.iter().enumerate() {
        let id = runs::create(&pool, Trigger::Scheduled, None)
            .await
            .expect("run");
        let stored = Stored {
            folder: format!("erp/2026-11-0{}T020000Z/", n + 1),
            total_bytes: 1000,
            object_count: 2,
            warning: None,
        };
        let outcome = match *status {
            "success" => Some(Outcome::Success(stored)),
            "partial" => Some(Outcome::Partial {
                stored,
                error: Message::new("run.error.unknown"),
            }),
            "failed" => Some(Outcome::Failed {
                error: Message::new("run.error.unknown"),
                folder: None,
            }),
            _ => None,
        };
        if let Some(outcome) = outcome {
            assert!(runs::finish(&pool, id, &outcome).await.expect("finish"));
        }
        ids.push(id);
    }
    pool.close().await;
    ids
}

fn ids(body: &serde_json::Value) -> Vec<i64> {
    body["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|run| run["id"].as_i64().expect("id"))
        .collect()
}

#[tokio::test]
async fn runs_are_listed_newest_first_limited_and_filtered_by_status() {
    let app = TestApp::spawn_logged_in().await;
    let token = create_token(&app, "monitoring", "read").await;
    let made = history(&app, &["success", "failed", "partial", "success", "failed"]).await;
    let newest_first: Vec<i64> = made.iter().rev().copied().collect();

    let all = get(&app, "/api/v1/runs", Some(&token)).await;
    assert_eq!(all.status, 200);
    assert_eq!(ids(&all.body), newest_first);
    let two = get(&app, "/api/v1/runs?limit=2", Some(&token)).await;
    assert_eq!(ids(&two.body), newest_first[..2]);
    let failed = get(&app, "/api/v1/runs?status=failed", Some(&token)).await;
    assert_eq!(ids(&failed.body), vec![made[4], made[1]]);
    assert!(failed.body["runs"][0]["error"].is_string());
    let one_success = get(&app, "/api/v1/runs?status=success&limit=1", Some(&token)).await;
    assert_eq!(ids(&one_success.body), vec![made[3]]);
    let none = get(&app, "/api/v1/runs?status=running", Some(&token)).await;
    assert_eq!(ids(&none.body), Vec::<i64>::new());
}

#[tokio::test]
async fn a_run_is_found_by_its_id_and_an_unknown_one_is_404() {
    let app = TestApp::spawn_logged_in().await;
    let token = create_token(&app, "monitoring", "read").await;
    let made = history(&app, &["partial"]).await;
    let run = get(&app, &format!("/api/v1/runs/{}", made[0]), Some(&token)).await;
    assert_eq!(run.status, 200);
    assert_eq!(run.body["status"], "partial");
    assert_eq!(run.body["trigger"], "scheduled");
    assert_eq!(run.body["total_bytes"], 1000);
    assert_eq!(run.body["folder"], "erp/2026-11-01T020000Z/");
    assert_eq!(run.body["progress"], serde_json::Value::Null);
    let unknown = get(&app, &format!("/api/v1/runs/{}", made[0] + 1), Some(&token)).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.error_code(), "not_found");
}

#[tokio::test]
async fn parameters_that_cannot_be_taken_get_400_saying_which() {
    let app = TestApp::spawn_logged_in().await;
    let token = create_token(&app, "monitoring", "read").await;
    for (query, says) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-3", "limit"),
        ("limit=many", "limit"),
        ("status=done", "status"),
        ("status=SUCCESS", "status"),
        ("page=2", "page"),
    ] {
        let refused = get(&app, &format!("/api/v1/runs?{query}"), Some(&token)).await;
        assert_eq!(refused.status, 400, "{query}");
        assert_eq!(refused.error_code(), "bad_request");
        let message = refused.body["error"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains(says), "{query}: {message}");
    }
    let most = get(&app, "/api/v1/runs?limit=100", Some(&token)).await;
    assert_eq!(most.status, 200);
}
