//! The JSON API under `/api/v1`, for scripts and monitoring: Bearer tokens only (never the
//! browser's session, so no CSRF either), one JSON error shape, and an OpenAPI document
//! that lists exactly the operations the router serves.

pub mod auth;
pub mod error;
mod operations;
mod runs;
mod status;

use axum::Router;
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::app::AppState;
use auth::Access;

/// Where the router is mounted.
pub const MOUNT: &str = "/api";

/// The OpenAPI 3.1 description of every operation, served as it is.
pub const OPENAPI: &str = include_str!("openapi.json");

/// One operation: its method, its path under `MOUNT` (as OpenAPI writes it), who may call
/// it, and its handler.
struct Operation {
    method: Method,
    path: &'static str,
    access: Access,
    handler: MethodRouter<AppState>,
}

fn operation<H, T>(method: Method, path: &'static str, access: Access, handler: H) -> Operation
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
    Operation {
        method,
        path,
        access,
        handler: on(filter, handler),
    }
}

fn operations() -> Vec<Operation> {
    vec![
        operation(Method::GET, "/v1/status", Access::Read, status::show),
        operation(Method::GET, "/v1/runs", Access::Read, runs::list),
        operation(Method::GET, "/v1/runs/{id}", Access::Read, runs::show),
        operation(
            Method::POST,
            "/v1/backups",
            Access::Operate,
            operations::backup,
        ),
        operation(
            Method::POST,
            "/v1/verify",
            Access::Operate,
            operations::verify,
        ),
        operation(Method::GET, "/v1/openapi.json", Access::Public, openapi),
    ]
}

/// Every operation the router serves, as (method, full path): what the OpenAPI document
/// must describe, no more, no less.
pub fn routes() -> Vec<(Method, String)> {
    operations()
        .into_iter()
        .map(|op| (op.method, format!("{MOUNT}{}", op.path)))
        .collect()
}

/// The API, to be nested at `MOUNT`, outside the session, CSRF and login layers.
pub fn router(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    for op in operations() {
        let guarded = op.handler.route_layer(from_fn_with_state(
            (state.clone(), op.access),
            auth::require,
        ));
        router = router.route(op.path, guarded);
    }
    router
        .fallback(error::not_found)
        .layer(from_fn(error::json_errors))
}

async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_openapi_document_is_json_and_describes_every_route() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).expect("valid JSON");
        for (method, path) in super::routes() {
            let method = method.as_str().to_lowercase();
            assert!(
                doc["paths"][&path].get(&method).is_some(),
                "{method} {path} is documented"
            );
        }
    }
}
