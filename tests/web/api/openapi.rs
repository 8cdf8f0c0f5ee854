//! The OpenAPI document against the live API: it describes exactly the routes served, and
//! every answer — successes and refusals — fits the schema documented for its status.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;

use super::schema::validate;
use super::{Answer, configured, create_token, get, post};
use crate::common::TestApp;
use crate::common::s3::TestS3;

/// Each answer checked against the document, remembering which documented responses were
/// seen.
struct Checker {
    doc: Value,
    seen: BTreeSet<(String, String, String)>,
}

impl Checker {
    fn follow<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let pointer = reference.strip_prefix('#').expect("local");
                self.doc.pointer(pointer).expect("the reference resolves")
            }
            None => value,
        }
    }

    /// Checks `answer` to `method` `path` (as the document writes it) against its schema.
    fn check(&mut self, method: &str, path: &str, answer: &Answer) {
        let status = answer.status.as_u16().to_string();
        let operation = &self.doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is documented");
        let response = operation["responses"].get(&status).unwrap_or_else(|| {
            panic!(
                "{method} {path} does not document {status}: {}",
                answer.body
            )
        });
        let response = self.follow(response).clone();
        let schema = &response["content"]["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "{method} {path} {status} has a JSON schema"
        );
        let problems = validate(&self.doc, schema, &answer.body);
        assert!(
            problems.is_empty(),
            "{method} {path} {status}: {problems:#?}\n{}",
            answer.body
        );
        for header in response["headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(h, _)| h)
        {
            assert!(
                answer.header(header).is_some(),
                "{method} {path} {status} documents the header {header}"
            );
        }
        self.seen
            .insert((method.to_owned(), path.to_owned(), status));
    }

    /// Every documented response but the server's own failures.
    fn documented(&self) -> BTreeSet<(String, String, String)> {
        let mut all = BTreeSet::new();
        for (path, item) in self.doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("path item") {
                for status in operation["responses"]
                    .as_object()
                    .expect("responses")
                    .keys()
                {
                    if status != "500" {
                        all.insert((method.clone(), path.clone(), status.clone()));
                    }
                }
            }
        }
        all
    }
}

async fn document(app: &TestApp) -> Value {
    let response = super::script()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200, "no token needed");
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    response.json().await.expect("JSON")
}

#[tokio::test]
async fn the_document_describes_every_live_route_and_nothing_else() {
    let app = TestApp::spawn_logged_in().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .keys()
                .map(|method| (method.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let served: BTreeSet<(String, String)> = s3_backup::web::api::routes()
        .into_iter()
        .map(|(method, path)| (method.as_str().to_owned(), path))
        .collect();
    assert_eq!(documented, served);
    // And the router answers each of them (no 404 or 405 of its own).
    let token = create_token(&app, "reader", "read").await;
    for (method, path) in &served {
        let live = path.replace("{id}", "1");
        let request = match method.as_str() {
            "GET" => super::script().get(app.url(&live)),
            "POST" => super::script().post(app.url(&live)),
            other => panic!("{other}"),
        };
        let response = request.bearer_auth(&token).send().await.expect("call");
        let status = response.status();
        let body: Value = response.json().await.expect("JSON");
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        if status == StatusCode::NOT_FOUND {
            assert_ne!(
                body["error"]["message"], "The API has nothing at this address.",
                "{method} {path}"
            );
        }
    }
}

#[tokio::test]
async fn every_live_answer_fits_its_documented_schema() {
    let app = TestApp::spawn_logged_in().await;
    let mut checker = Checker {
        doc: document(&app).await,
        seen: BTreeSet::new(),
    };
    let token = create_token(&app, "ops", "operate").await;
    let reader = create_token(&app, "reader", "read").await;
    let operate = Some(token.as_str());

    // Nothing configured yet.
    let answer = post(&app, "/api/v1/backups", operate).await;
    checker.check("post", "/api/v1/backups", &answer);
    let answer = post(&app, "/api/v1/verify", operate).await;
    checker.check("post", "/api/v1/verify", &answer);
    let answer = get(&app, "/api/v1/status", operate).await;
    checker.check("get", "/api/v1/status", &answer);
    let answer = get(&app, "/api/v1/runs", operate).await;
    checker.check("get", "/api/v1/runs", &answer);

    // A backup in progress, refused a second time, then done.
    let s3 = TestS3::start().await;
    let dir = configured(&app, &s3).await;
    s3.hooks.hold();
    let started = post(&app, "/api/v1/backups", operate).await;
    checker.check("post", "/api/v1/backups", &started);
    let location = started.header("location").expect("Location").to_owned();
    let running = get(&app, &location, operate).await;
    checker.check("get", "/api/v1/runs/{id}", &running);
    let answer = post(&app, "/api/v1/backups", operate).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    checker.check("post", "/api/v1/backups", &answer);
    let answer = post(&app, "/api/v1/verify", operate).await;
    checker.check("post", "/api/v1/verify", &answer);
    let answer = get(&app, "/api/v1/status", operate).await;
    assert_eq!(answer.body["in_progress"], true);
    checker.check("get", "/api/v1/status", &answer);
    s3.hooks.open();
    app.wait_until_api_run_done(&location, &token).await;
    let done = get(&app, &location, operate).await;
    assert_eq!(done.body["status"], "success");
    checker.check("get", "/api/v1/runs/{id}", &done);

    // A verification, and a failed backup with its failed source.
    let verify = post(&app, "/api/v1/verify", operate).await;
    checker.check("post", "/api/v1/verify", &verify);
    let location = verify.header("location").expect("Location").to_owned();
    app.wait_until_api_run_done(&location, &token).await;
    checker.check(
        "get",
        "/api/v1/runs/{id}",
        &get(&app, &location, operate).await,
    );
    std::fs::remove_dir_all(dir.path().join("files")).expect("remove the source");
    let failed = super::backup_to_end(&app, &token).await;
    let failed = get(&app, &format!("/api/v1/runs/{}", failed["id"]), operate).await;
    checker.check("get", "/api/v1/runs/{id}", &failed);
    for query in [
        "",
        "?limit=1",
        "?status=failed",
        "?status=success&limit=100",
    ] {
        let answer = get(&app, &format!("/api/v1/runs{query}"), operate).await;
        checker.check("get", "/api/v1/runs", &answer);
    }
    let answer = get(&app, "/api/v1/status", operate).await;
    assert_eq!(answer.body["state"], "failed");
    checker.check("get", "/api/v1/status", &answer);

    // Refusals.
    for (method, path, live) in [
        ("get", "/api/v1/status", "/api/v1/status"),
        ("get", "/api/v1/runs", "/api/v1/runs"),
        ("get", "/api/v1/runs/{id}", "/api/v1/runs/1"),
        ("post", "/api/v1/backups", "/api/v1/backups"),
        ("post", "/api/v1/verify", "/api/v1/verify"),
    ] {
        let answer = match method {
            "get" => get(&app, live, None).await,
            _ => post(&app, live, None).await,
        };
        checker.check(method, path, &answer);
        if method == "post" {
            checker.check(method, path, &post(&app, live, Some(&reader)).await);
        }
    }
    let answer = get(&app, "/api/v1/runs/99999", operate).await;
    checker.check("get", "/api/v1/runs/{id}", &answer);
    let answer = get(&app, "/api/v1/runs?limit=0", operate).await;
    checker.check("get", "/api/v1/runs", &answer);
    let answer = get(&app, "/api/v1/openapi.json", None).await;
    checker.check("get", "/api/v1/openapi.json", &answer);

    let missed: Vec<_> = checker
        .documented()
        .difference(&checker.seen)
        .cloned()
        .collect();
    assert!(
        missed.is_empty(),
        "documented answers never seen: {missed:?}"
    );
}
