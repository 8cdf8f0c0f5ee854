//! What the bucket holds: the backup folders under the prefix, read from the bucket alone
//! (a new installation given only the bucket settings sees the backups another one made).

use std::collections::BTreeMap;

use aws_sdk_s3::Client;
use chrono::{DateTime, NaiveDateTime, Utc};

use super::error::S3Failure;
use super::folder::FOLDER_FORMAT;
use super::job::S3Target;
use super::manifest::{MANIFEST_NAME, PARTIAL_NAME};

/// One object of a backup folder, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// Its name inside the folder: `erp.sql.zst`.
    pub name: String,
    pub key: String,
    pub size: u64,
}

impl ListedObject {
    /// The source it holds, by the name the engine gives objects (`<source>.<ext>.zst`,
    /// `.zst.age` when encrypted); for a Frappe site's, named as bench names them
    /// (`<YYYYMMDD_HHMMSS>-<site_slug>-database.sql.gz`, …), the site's slug.
    pub fn source(&self) -> Option<&str> {
        let name = self.name.strip_suffix(super::encryption::SUFFIX);
        let name = name.unwrap_or(&self.name);
        if let Some(stem) = name.strip_suffix(".zst") {
            return ["sql", "sqlite3", "tar"]
                .iter()
                .find_map(|ext| stem.strip_suffix(&format!(".{ext}")));
        }
        let stem = SITE_PARTS.iter().find_map(|part| name.strip_suffix(part))?;
        let (stamp, slug) = stem.split_once('-')?;
        (stamp.len() == 15 && !slug.is_empty()).then_some(slug)
    }
}

/// How the names of a site's objects end, after its slug (the private files' first: their
/// ending holds the public files').
const SITE_PARTS: [&str; 4] = [
    "-database.sql.gz",
    "-private-files.tar",
    "-files.tar",
    "-site_config_backup.json",
];

/// One backup folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    /// The folder's name: its run's start time, `2026-11-24T020000Z`.
    pub name: String,
    /// Its key, prefix included, without trailing slash.
    pub key: String,
    pub started_at: DateTime<Utc>,
    /// It has a manifest: every object it lists was uploaded and checked.
    pub has_manifest: bool,
    /// Some of its run's sources failed.
    pub partial: bool,
    pub objects: Vec<ListedObject>,
}

impl Backup {
    /// A complete backup: with a manifest, and every source.
    pub fn is_complete(&self) -> bool {
        self.has_manifest && !self.partial
    }

    /// Bytes of the source objects (manifest and markers excluded).
    pub fn size(&self) -> u64 {
        self.source_objects().map(|object| object.size).sum()
    }

    /// The objects that hold a source.
    pub fn source_objects(&self) -> impl Iterator<Item = &ListedObject> {
        self.objects
            .iter()
            .filter(|object| object.source().is_some())
    }

    /// The sources it holds, in name order.
    pub fn sources(&self) -> Vec<&str> {
        let mut sources: Vec<&str> = self
            .source_objects()
            .filter_map(ListedObject::source)
            .collect();
        sources.sort_unstable();
        // A site is several objects.
        sources.dedup();
        sources
    }
}

/// Every backup folder under the target's prefix, newest first, with every key in it. Keys
/// that are not in a folder named like a run's start time are not this app's and are left
/// out.
pub async fn list(client: &Client, target: &S3Target) -> Result<Vec<Backup>, S3Failure> {
    let prefix = target.folder_prefix();
    let mut folders: BTreeMap<String, Backup> = BTreeMap::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(&target.bucket)
        .prefix(&prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| S3Failure::from_sdk(&err))?;
        for object in page.contents() {
            let Some(key) = object.key() else { continue };
            let Some((name, rest)) = key
                .strip_prefix(&prefix)
                .and_then(|relative| relative.split_once('/'))
            else {
                continue;
            };
            let Ok(started) = NaiveDateTime::parse_from_str(name, FOLDER_FORMAT) else {
                continue;
            };
            if rest.is_empty() {
                continue;
            }
            let backup = folders.entry(name.to_owned()).or_insert_with(|| Backup {
                name: name.to_owned(),
                key: target.key(name),
                started_at: started.and_utc(),
                has_manifest: false,
                partial: false,
                objects: Vec::new(),
            });
            backup.has_manifest |= rest == MANIFEST_NAME;
            backup.partial |= rest == PARTIAL_NAME;
            backup.objects.push(ListedObject {
                name: rest.to_owned(),
                key: key.to_owned(),
                size: object
                    .size()
                    .and_then(|s| u64::try_from(s).ok())
                    .unwrap_or(0),
            });
        }
    }
    Ok(folders.into_values().rev().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(name: &str, size: u64) -> ListedObject {
        ListedObject {
            name: name.to_owned(),
            key: format!("p/2026-11-24T020000Z/{name}"),
            size,
        }
    }

    #[test]
    fn objects_name_their_sources_and_the_manifest_is_not_counted() {
        let backup = Backup {
            name: "2026-11-24T020000Z".into(),
            key: "p/2026-11-24T020000Z".into(),
            started_at: Utc::now(),
            has_manifest: true,
            partial: false,
            objects: vec![
                object("erp.sql.zst", 100),
                object("app.sqlite3.zst", 20),
                object("files.tar.zst", 3),
                object("manifest.json", 900),
            ],
        };
        assert_eq!(backup.sources(), vec!["app", "erp", "files"]);
        assert_eq!(backup.size(), 123);
        assert!(backup.is_complete());
        assert_eq!(object("notes.txt", 1).source(), None);
        for name in [
            "20261102_030405-erp_example_com-database.sql.gz",
            "20261102_030405-erp_example_com-private-files.tar",
            "20261102_030405-erp_example_com-site_config_backup.json.age",
        ] {
            assert_eq!(object(name, 1).source(), Some("erp_example_com"), "{name}");
        }
        assert_eq!(object("erp-files.tar", 1).source(), None);
    }
}
