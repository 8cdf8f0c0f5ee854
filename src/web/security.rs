//! Response headers that keep browsers strict: no inline script, no framing, no sniffing,
//! and HTTPS only when the app is served over it.

use axum::extract::{Request, State};

use crate::app::AppState;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; \
                   frame-ancestors 'none'";

const HEADERS: [(HeaderName, &str); 5] = [
    (header::CONTENT_SECURITY_POLICY, CSP),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "same-origin"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=()",
    ),
];

/// Behind HTTPS, browsers are also told to come back over HTTPS only (a year, as usual).
const HSTS: &str = "max-age=31536000";

pub async fn headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let map = response.headers_mut();
    if state.config.behind_https {
        map.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    for (name, value) in HEADERS {
        map.insert(name, HeaderValue::from_static(value));
    }
    if !map.contains_key(header::CACHE_CONTROL) {
        map.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
