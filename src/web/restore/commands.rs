//! What a backup's page shows of each object: its names, and the shell commands that restore
//! it with standard tools (aws, sha256sum, age, zstd and the kind's own tool); for a Frappe
//! site, the `bench restore` command that takes its objects.

use crate::backup::S3Target;
use crate::backup::manifest::{Manifest, SitePartKind, StoredObject};

pub(super) fn object_name(object: &StoredObject) -> &str {
    object.key.rsplit('/').next().unwrap_or(&object.key)
}

/// The name of the object as its download in clear is named: decrypted, and decompressed
/// unless it is a site's (handed over as bench names it).
pub(super) fn plain_name(object: &StoredObject) -> &str {
    let name = object_name(object);
    let name = name
        .strip_suffix(crate::backup::encryption::SUFFIX)
        .unwrap_or(name);
    if object.site.is_some() {
        return name;
    }
    name.strip_suffix(".zst").unwrap_or(name)
}

/// Quotes a word for a POSIX shell.
pub(super) fn quoted(word: &str) -> String {
    if word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:=@".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The commands that restore `object` with aws, sha256sum, age (when encrypted), zstd and
/// the kind's own tool.
pub(super) fn commands(target: &S3Target, object: &StoredObject) -> String {
    let stored = object_name(object);
    let plain = plain_name(object);
    // An encrypted object is decrypted first, to its `.zst`, with the identity file.
    let compressed = stored
        .strip_suffix(crate::backup::encryption::SUFFIX)
        .unwrap_or(stored);
    let name = compressed;
    let endpoint = target
        .endpoint
        .as_ref()
        .map(|url| {
            format!(
                " --endpoint-url {}",
                quoted(url.as_str().trim_end_matches('/'))
            )
        })
        .unwrap_or_default();
    let fetch = format!(
        "aws s3 cp{endpoint} --region {} {} {}",
        quoted(&target.region),
        quoted(&format!("s3://{}/{}", target.bucket, object.key)),
        quoted(stored)
    );
    let mut check = format!("echo '{}  {}' | sha256sum -c -", object.sha256, stored);
    if object.encryption.is_some() {
        check.push_str(&format!(
            "\nage -d -i key.txt -o {} {}",
            quoted(compressed),
            quoted(stored)
        ));
    }
    let source = quoted(&object.source);
    if let Some(part) = &object.site {
        let site = quoted(&part.site);
        let load = match part.part {
            SitePartKind::Database if part.db_type.as_deref() == Some("postgres") => format!(
                "createdb {source}_restored\ngunzip -c {} | psql -v ON_ERROR_STOP=1 --single-transaction -d {source}_restored",
                quoted(name)
            ),
            SitePartKind::Database => format!(
                "mariadb -e 'CREATE DATABASE {source}_restored'\ngunzip -c {} | mariadb {source}_restored",
                quoted(name)
            ),
            SitePartKind::PublicFiles | SitePartKind::PrivateFiles => format!(
                "mkdir -p {site}\ntar -x -f {} -C {site} --strip-components 2",
                quoted(name)
            ),
            SitePartKind::SiteConfig => format!(
                "# the site's configuration, with its secrets: copy what you need into sites/{site}/site_config.json"
            ),
        };
        return format!("{fetch}\n{check}\n{load}");
    }
    let load = match object.kind.as_str() {
        "postgres" => format!(
            "createdb {source}_restored\nzstd -dc {} | psql -v ON_ERROR_STOP=1 --single-transaction -d {source}_restored",
            quoted(name)
        ),
        "mysql" => format!(
            "# the dump recreates its database by name: restore it on a server where it does not exist\nzstd -dc {} | mariadb",
            quoted(name)
        ),
        "sqlite" => format!(
            "zstd -d {} -o {}\nsqlite3 {} 'PRAGMA integrity_check'",
            quoted(name),
            quoted(plain),
            quoted(plain)
        ),
        _ => format!(
            "mkdir {source}.restored\nzstd -dc {} | tar -x -C {source}.restored",
            quoted(name)
        ),
    };
    format!("{fetch}\n{check}\n{load}")
}

/// A site of a backup and the `bench` command that restores it from its objects.
pub(super) struct SiteRestore {
    pub site: String,
    pub source: String,
    pub command: String,
}

/// The `bench --site <site> restore` command of each site of `manifest`: its database, and
/// its files when they were backed up, by the names the objects have once decrypted.
pub(super) fn bench_commands(manifest: &Manifest) -> Vec<SiteRestore> {
    let mut sites: Vec<SiteRestore> = Vec::new();
    for object in &manifest.objects {
        let Some(part) = &object.site else { continue };
        if part.part != SitePartKind::Database {
            continue;
        }
        let of = |kind: SitePartKind| {
            manifest.objects.iter().find(|other| {
                other.source == object.source && other.site.as_ref().is_some_and(|p| p.part == kind)
            })
        };
        let mut command = format!(
            "bench --site {} restore {}",
            quoted(&part.site),
            quoted(plain_name(object))
        );
        if let Some(files) = of(SitePartKind::PublicFiles) {
            command.push_str(&format!(
                " --with-public-files {}",
                quoted(plain_name(files))
            ));
        }
        if let Some(files) = of(SitePartKind::PrivateFiles) {
            command.push_str(&format!(
                " --with-private-files {}",
                quoted(plain_name(files))
            ));
        }
        sites.push(SiteRestore {
            site: part.site.clone(),
            source: object.source.clone(),
            command,
        });
    }
    sites
}
