//! Checks that every message key the parsers use has an English and a French text.

use std::collections::BTreeSet;
use std::path::Path;

use super::Invalid;

/// The catalogs that hold refusals: the settings', and the Frappe site's among its other
/// texts.
const CATALOGS: [&str; 2] = [
    include_str!("../../locales/validation.yml"),
    include_str!("../../locales/frappe.yml"),
];

/// Keys of the catalogs' refusals (`invalid.…`), each with the languages it is translated
/// into.
fn catalog() -> Vec<(String, BTreeSet<String>)> {
    let mut entries: Vec<(String, BTreeSet<String>)> = Vec::new();
    for line in CATALOGS.iter().flat_map(|catalog| catalog.lines()) {
        if line.starts_with("_version") || line.trim().is_empty() {
            continue;
        }
        if let Some(key) = line.strip_suffix(':').filter(|_| !line.starts_with(' ')) {
            entries.push((key.to_owned(), BTreeSet::new()));
        } else if let Some((locale, _)) = line.trim_start().split_once(':') {
            let entry = entries
                .last_mut()
                .expect("a translation line follows a key");
            entry.1.insert(locale.to_owned());
        }
    }
    entries.retain(|(key, _)| key.starts_with("invalid."));
    entries
}

/// Every `"invalid.…"` string literal in the settings sources (tests included).
fn keys_used_in_sources() -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src/settings")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("settings sources are readable") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source file is text");
            for piece in text.split("\"invalid.").skip(1) {
                if let Some((rest, _)) = piece.split_once('"') {
                    let key = format!("invalid.{rest}");
                    let well_formed = !rest.is_empty()
                        && rest
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_');
                    if well_formed {
                        keys.insert(key);
                    }
                }
            }
        }
    }
    keys
}

#[test]
fn every_key_in_the_catalog_is_in_english_and_french() {
    let both: BTreeSet<String> = ["en", "fr"].map(String::from).into();
    for (key, locales) in catalog() {
        assert_eq!(locales, both, "{key} must have exactly en and fr");
    }
}

#[test]
fn every_key_used_is_in_the_catalog_and_every_key_in_the_catalog_is_used() {
    let in_catalog: BTreeSet<String> = catalog().into_iter().map(|(key, _)| key).collect();
    let used = keys_used_in_sources();
    let missing: Vec<_> = used.difference(&in_catalog).collect();
    let unused: Vec<_> = in_catalog.difference(&used).collect();
    assert!(missing.is_empty(), "keys without a message: {missing:?}");
    assert!(unused.is_empty(), "messages no parser uses: {unused:?}");
}

#[test]
fn every_message_is_translated_and_fills_its_detail() {
    for (key, _) in catalog() {
        let key: &'static str = Box::leak(key.into_boxed_str());
        let invalid = Invalid::with_detail(key, "DETAIL");
        let (en, fr) = (invalid.message("en"), invalid.message("fr"));
        assert_ne!(
            en, fr,
            "{key}: the French text is missing or copied from English"
        );
        assert!(!en.contains("%{"), "{key}: unfilled placeholder in {en}");
        assert!(!fr.contains("%{"), "{key}: unfilled placeholder in {fr}");
        assert_eq!(
            en.contains("DETAIL"),
            fr.contains("DETAIL"),
            "{key}: detail in one language only"
        );
    }
}
