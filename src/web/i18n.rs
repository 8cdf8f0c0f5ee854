//! The interface language: chosen from `?lang=`, then a remembered cookie, then
//! Accept-Language; English otherwise.

use axum::extract::{FromRequestParts, Request};
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::convert::Infallible;

const COOKIE_NAME: &str = "lang";

/// A supported language, with its translations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lang(&'static str);

impl Lang {
    pub const EN: Lang = Lang("en");
    pub const FR: Lang = Lang("fr");

    pub fn from_code(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Self::EN),
            "fr" => Some(Self::FR),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        self.0
    }

    /// The text of `key` in this language.
    pub fn t(&self, key: &str) -> String {
        rust_i18n::t!(key, locale = self.0).into_owned()
    }

    /// The text of `key` with its `%{detail}` placeholder filled.
    pub fn td(&self, key: &str, detail: &str) -> String {
        rust_i18n::t!(key, locale = self.0, detail = detail).into_owned()
    }

    /// The other language, offered by the switch in the page header.
    pub fn other(self) -> Lang {
        if self == Self::FR { Self::EN } else { Self::FR }
    }

    /// Picks the preferred supported language of an Accept-Language header.
    pub fn negotiate(accept_language: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for item in accept_language.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let primary = tag.split('-').next().unwrap_or("");
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::from_code(primary)
                && quality > 0.0
                && best.is_none_or(|(q, _)| quality > q)
            {
                best = Some((quality, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_prefers_highest_quality_supported() {
        assert_eq!(Lang::negotiate("fr-FR,fr;q=0.9,en;q=0.8"), Some(Lang::FR));
        assert_eq!(Lang::negotiate("de-DE,en;q=0.5,fr;q=0.7"), Some(Lang::FR));
        assert_eq!(Lang::negotiate("en-GB"), Some(Lang::EN));
        assert_eq!(Lang::negotiate("de, es"), None);
        assert_eq!(Lang::negotiate("fr;q=0"), None);
    }
}
