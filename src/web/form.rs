//! What a form shows: the values to put back in its fields and the message beside each.

use std::collections::HashMap;

use crate::settings::Invalid;
use crate::web::i18n::Lang;

#[derive(Debug, Default, Clone)]
pub struct FormState {
    values: HashMap<String, String>,
    errors: Vec<(String, String)>,
    /// Where the fields' labels are in the catalogs: `<labels>.<field>`.
    labels: Option<&'static str>,
}

impl FormState {
    pub fn new() -> Self {
        Self::default()
    }

    /// A form whose error summary names each field by its label, `<labels>.<field>` in
    /// the catalogs.
    pub fn labelled(labels: &'static str) -> Self {
        Self {
            labels: Some(labels),
            ..Self::default()
        }
    }

    /// The lines of the error summary: "Bucket name: use lower-case letters…".
    pub fn summary(&self, lang: &Lang) -> Vec<(String, String)> {
        let lang = *lang;
        self.errors
            .iter()
            .map(|(field, message)| {
                let label = self.labels.map(|labels| {
                    let key = format!("{labels}.{field}");
                    (lang.t(&key), key)
                });
                let line = match label {
                    Some((label, key)) if !label.ends_with(&key) => {
                        let separator = if lang == Lang::FR { " : " } else { ": " };
                        format!("{label}{separator}{message}")
                    }
                    _ => message.clone(),
                };
                (field.clone(), line)
            })
            .collect()
    }

    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.values.insert(name.to_owned(), value.into());
    }

    pub fn set_flag(&mut self, name: &str, on: bool) {
        if on {
            self.set(name, "on");
        } else {
            self.values.remove(name);
        }
    }

    pub fn value(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    pub fn checked(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// Whether a `<select>` option is the chosen one.
    pub fn is(&self, name: &str, option: &str) -> bool {
        self.value(name) == option
    }

    pub fn error(&self, name: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, message)| message.as_str())
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// The errors in the order of the form, for the summary at its top.
    pub fn errors(&self) -> &[(String, String)] {
        &self.errors
    }

    pub fn add_error(&mut self, name: &str, message: String) {
        if self.error(name).is_none() {
            self.errors.push((name.to_owned(), message));
        }
    }

    /// Parses one field, recording its message on failure.
    pub fn check<T>(&mut self, lang: Lang, name: &str, parsed: Result<T, Invalid>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(invalid) => {
                self.add_error(name, invalid.message(lang.code()));
                None
            }
        }
    }
}
