//! Our own CSS and script, built into the binary so the app works offline from one file.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::app::AppState;

const CSS: &str = include_str!("../../static/app.css");
const JS: &str = include_str!("../../static/app.js");
const ICON: &str = include_str!("../../static/favicon.svg");

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/static/app.css",
            get(|| async { asset("text/css; charset=utf-8", CSS) }),
        )
        .route(
            "/static/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", JS) }),
        )
        .route(
            "/static/favicon.svg",
            get(|| async { asset("image/svg+xml", ICON) }),
        )
        .route(
            "/favicon.ico",
            get(|| async { asset("image/svg+xml", ICON) }),
        )
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}

#[cfg(test)]
mod tests {
    /// A block left open swallows every rule after it into itself (a media query, say):
    /// the browser then drops them without a word.
    #[test]
    fn every_block_of_the_stylesheet_is_closed() {
        let mut depth = 0usize;
        for (number, line) in super::CSS.lines().enumerate() {
            for c in line.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth = depth
                            .checked_sub(1)
                            .unwrap_or_else(|| panic!("line {}: `}}` closes nothing", number + 1));
                    }
                    _ => {}
                }
            }
            if line.starts_with("/*") {
                assert_eq!(
                    depth,
                    0,
                    "line {}: a section starts inside a block",
                    number + 1
                );
            }
        }
        assert_eq!(depth, 0, "a block is left open at the end");
    }
}
