//! PostgreSQL: `pg_dump` as plain SQL without owners or privileges, so `psql -f` restores it
//! into any database. The password travels in PGPASSWORD, never on the command line.

use super::{SourceStream, command};
use crate::backup::error::BackupError;
use crate::backup::job::SourceSpec;

pub fn open(spec: &SourceSpec) -> Result<SourceStream, BackupError> {
    let (url, password) = split_password(&spec.location);
    let args = vec![
        "--format=plain".to_owned(),
        "--no-owner".to_owned(),
        "--no-privileges".to_owned(),
        format!("--dbname={url}"),
    ];
    let mut envs = Vec::new();
    if let Some(password) = password {
        envs.push(("PGPASSWORD", password));
    }
    command::spawn(&spec.name, &["pg_dump"], &args, &envs)
}

/// The connection URL without its password, and the (decoded) password.
fn split_password(location: &str) -> (String, Option<String>) {
    match url::Url::parse(location) {
        Ok(mut url) => {
            let password = url.password().map(|raw| {
                percent_encoding::percent_decode_str(raw)
                    .decode_utf8_lossy()
                    .into_owned()
            });
            if password.is_some() {
                // Cannot fail: a URL with a password can have it removed.
                let _ = url.set_password(None);
            }
            (url.to_string(), password)
        }
        Err(_) => (location.to_owned(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_leaves_the_url() {
        let (url, password) =
            split_password("postgres://app:p%40ss@db.example:5433/erp?sslmode=require");
        assert_eq!(url, "postgres://app@db.example:5433/erp?sslmode=require");
        assert_eq!(password.as_deref(), Some("p@ss"));
        let (url, password) = split_password("postgresql://localhost/erp");
        assert_eq!(url, "postgresql://localhost/erp");
        assert_eq!(password, None);
    }
}
