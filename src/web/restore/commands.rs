//! What a backup's page shows of each object: its names, and the shell commands that restore
//! it with standard tools (aws, sha256sum, age, zstd and the kind's own tool).

use crate::backup::S3Target;
use crate::backup::manifest::StoredObject;

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
