//! The interface language: chosen from `?lang=`, then a remembered cookie, then
//! Accept-Language; English otherwise.

use axum::extract::{FromRequestParts, Request};
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::convert::Infallible;

pub use crate::lang::Lang;

const COOKIE_NAME: &str = "lang";

/// The value of the cookie `name` among a request's `Cookie` headers.
pub(crate) fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

fn query_lang(query: Option<&str>) -> Option<Lang> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == COOKIE_NAME)
        .and_then(|(_, v)| Lang::from_code(&v))
}

/// Middleware: settles the language of the request and remembers an explicit choice.
pub async fn negotiate(mut request: Request, next: Next) -> Response {
    let chosen = query_lang(request.uri().query());
    let lang = chosen
        .or_else(|| cookie_value(request.headers(), COOKIE_NAME).and_then(Lang::from_code))
        .or_else(|| {
            request
                .headers()
                .get(ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::negotiate)
        })
        .unwrap_or(Lang::EN);
    request.extensions_mut().insert(lang);
    let mut response = next.run(request).await;
    if let Some(lang) = chosen {
        let cookie = format!(
            "{COOKIE_NAME}={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly",
            lang.code()
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Lang>().copied().unwrap_or(Lang::EN))
    }
}
