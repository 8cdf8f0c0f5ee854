//! The languages the app speaks (pages and mail alike), and messages stored as a key with
//! parameters so that each reader sees them in their own language.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A supported language, with its translations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

    /// `fr` gives French; anything else English.
    pub fn from_code_or_default(code: &str) -> Lang {
        Self::from_code(code).unwrap_or(Self::EN)
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

    /// The text of `key` with each `%{name}` placeholder replaced by its value.
    pub fn tp(&self, key: &str, params: &[(&str, &str)]) -> String {
        let mut text = rust_i18n::t!(key, locale = self.0).into_owned();
        for (name, value) in params {
            text = text.replace(&format!("%{{{name}}}"), value);
        }
        text
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

impl Default for Lang {
    fn default() -> Self {
        Self::EN
    }
}

/// The value of a message's placeholder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Param {
    /// A value shown as it is: a name, a size, a key.
    Text(String),
    /// Catalog keys (field labels, say), each translated, joined with commas.
    Labels { labels: Vec<String> },
}

impl Param {
    fn render(&self, lang: Lang) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Labels { labels } => labels
                .iter()
                .map(|key| lang.t(key))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// A sentence to show someone later, in their language: a catalog key, its parameters,
/// and optionally a detail quoted as is (a tool's output, an S3 error code) under it.
///
/// Stored as JSON; text stored before messages had keys reads back as a plain detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub key: Cow<'static, str>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<(String, Param)>,
    /// Raw text from outside the app, never translated; shown quoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Message {
    pub fn new(key: &'static str) -> Self {
        Self {
            key: Cow::Borrowed(key),
            params: Vec::new(),
            detail: None,
        }
    }

    /// A message whose key is made at run time (a field's label, say).
    pub fn new_owned(key: String) -> Self {
        Self {
            key: Cow::Owned(key),
            params: Vec::new(),
            detail: None,
        }
    }

    /// Adds a `%{name}` parameter. Parameters are values (names, sizes, keys), never
    /// sentences: those are messages of their own.
    pub fn with(mut self, name: &str, value: impl fmt::Display) -> Self {
        self.params
            .push((name.to_owned(), Param::Text(value.to_string())));
        self
    }

    /// Adds a `%{name}` parameter made of catalog keys, translated when shown.
    pub fn with_labels(mut self, name: &str, keys: impl IntoIterator<Item = String>) -> Self {
        self.params.push((
            name.to_owned(),
            Param::Labels {
                labels: keys.into_iter().collect(),
            },
        ));
        self
    }

    /// Adds raw text from outside the app, shown quoted under the sentence.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        if !detail.trim().is_empty() {
            self.detail = Some(detail);
        }
        self
    }

    /// The sentence in `lang`, without the detail.
    pub fn sentence(&self, lang: Lang) -> String {
        let values: Vec<(&str, String)> = self
            .params
            .iter()
            .map(|(name, value)| (name.as_str(), value.render(lang)))
            .collect();
        let params: Vec<(&str, &str)> = values
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        lang.tp(&self.key, &params)
    }

    /// The sentence followed by the quoted detail, on one line.
    pub fn render(&self, lang: Lang) -> String {
        match &self.detail {
            Some(detail) => {
                let (open, close) = if lang == Lang::FR {
                    ("« ", " »")
                } else {
                    ("\u{201c}", "\u{201d}")
                };
                format!("{} {open}{}{close}", self.sentence(lang), detail.trim())
            }
            None => self.sentence(lang),
        }
    }

    /// The JSON kept in the database.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| self.key.to_string())
    }

    /// Reads what `to_stored` wrote; older plain text becomes an untranslated detail.
    pub fn from_stored(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_else(|_| Self::new("message.legacy").detail(text))
    }
}

/// English, for logs (tracing) and the command line.
impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Lang::EN))
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

    #[test]
    fn a_message_round_trips_through_storage_and_reads_in_each_language() {
        let message = Message::new("message.test")
            .with("name", "erp")
            .detail("pg_dump: error: connection refused");
        let stored = Message::from_stored(&message.to_stored());
        assert_eq!(stored, message);
        assert_ne!(stored.sentence(Lang::EN), stored.sentence(Lang::FR));
        assert!(stored.render(Lang::FR).contains("« pg_dump: error"));
    }

    #[test]
    fn plain_text_stored_earlier_reads_as_a_quoted_detail() {
        let old = Message::from_stored("listing s3://b/x: SignatureDoesNotMatch");
        assert_eq!(
            old.detail.as_deref(),
            Some("listing s3://b/x: SignatureDoesNotMatch")
        );
    }

    /// Every catalog, for the completeness check.
    const CATALOGS: [(&str, &str); 10] = [
        ("app", include_str!("../locales/app.yml")),
        ("backup", include_str!("../locales/backup.yml")),
        ("frappe", include_str!("../locales/frappe.yml")),
        ("mail_setup", include_str!("../locales/mail_setup.yml")),
        ("history", include_str!("../locales/history.yml")),
        ("notify", include_str!("../locales/notify.yml")),
        ("overview", include_str!("../locales/overview.yml")),
        ("run", include_str!("../locales/run.yml")),
        (
            "source_checks",
            include_str!("../locales/source_checks.yml"),
        ),
        ("validation", include_str!("../locales/validation.yml")),
    ];

    #[test]
    fn every_text_of_every_catalog_is_in_english_and_french() {
        for (name, catalog) in CATALOGS {
            let mut entries: Vec<(&str, Vec<&str>)> = Vec::new();
            for line in catalog.lines() {
                if line.starts_with("_version") || line.trim().is_empty() {
                    continue;
                }
                match line.strip_suffix(':').filter(|_| !line.starts_with(' ')) {
                    Some(key) => entries.push((key, Vec::new())),
                    None => {
                        let (locale, _) = line.trim_start().split_once(':').unwrap_or_default();
                        if let Some((_, locales)) = entries.last_mut() {
                            locales.push(locale);
                        }
                    }
                }
            }
            assert!(!entries.is_empty(), "{name}.yml has no entries");
            for (key, locales) in entries {
                assert_eq!(locales, ["en", "fr"], "{name}.yml: {key}");
                let (en, fr) = (Lang::EN.t(key), Lang::FR.t(key));
                assert!(!en.is_empty() && !fr.is_empty(), "{name}.yml: {key}");
                assert!(!fr.ends_with(key), "{name}.yml: {key} has no French text");
            }
        }
    }
}
