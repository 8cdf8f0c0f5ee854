//! How the database tools (dump on backup, client on restore) are told where to connect:
//! options from the parsed URL, and the password in the environment, never on the command
//! line.

use crate::settings::DatabaseUrl;

/// The environment that carries a password to a tool.
pub type Envs = Vec<(&'static str, String)>;

/// `--host`, `--port`, `--socket` and `--user` for `mariadb` and `mariadb-dump`, and
/// `MYSQL_PWD`.
pub fn mysql(url: &DatabaseUrl) -> (Vec<String>, Envs) {
    let mut args = Vec::new();
    if !url.host().is_empty() {
        args.push(format!("--host={}", url.host()));
    }
    if let Some(port) = url.port() {
        args.push(format!("--port={port}"));
    }
    if let Some(socket) = url.query("socket") {
        args.push(format!("--socket={socket}"));
    }
    if let Some(user) = url.username() {
        args.push(format!("--user={user}"));
    }
    (args, password_env(url, "MYSQL_PWD"))
}

/// `PGPASSWORD` for `pg_dump` and `psql` (the rest of the connection is the URL).
pub fn postgres(url: &DatabaseUrl) -> Envs {
    password_env(url, "PGPASSWORD")
}

fn password_env(url: &DatabaseUrl, variable: &'static str) -> Envs {
    url.password()
        .map(|password| vec![(variable, password.to_owned())])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::SourceKind;

    #[test]
    fn the_password_goes_to_the_environment_only() {
        let url = DatabaseUrl::parse(
            SourceKind::Mysql,
            "mysql://erp:s%3Acret@127.0.0.1:3307/dokos?socket=/run/mysqld/mysqld.sock",
        )
        .expect("a URL");
        let (args, envs) = mysql(&url);
        assert_eq!(
            args,
            [
                "--host=127.0.0.1",
                "--port=3307",
                "--socket=/run/mysqld/mysqld.sock",
                "--user=erp"
            ]
        );
        assert_eq!(envs, [("MYSQL_PWD", "s:cret".to_owned())]);
        assert!(args.iter().all(|arg| !arg.contains("cret")));
        let plain = DatabaseUrl::parse(SourceKind::Postgres, "postgresql://u@h/db").expect("a URL");
        assert!(postgres(&plain).is_empty());
    }
}
