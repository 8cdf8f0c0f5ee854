//! A PostgreSQL or MariaDB object restored into a database: by default a new one beside the
//! source, `<db>_restored_<stamp>`, created here and removed again if the load fails; an
//! existing one only when asked to replace it, and only once the object is known sound.

use super::stream::Origin;
use super::{Reading, RestoreError, mariadb, postgres};
use crate::backup::download::Form;
use crate::backup::manifest::StoredObject;
use crate::settings::{DatabaseUrl, SourceKind};

/// The longest database name both servers keep whole.
const NAME_LIMIT: usize = 63;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Postgres,
    Mariadb,
}

/// The server and database an object goes to.
pub struct Target {
    pub server: Server,
    pub url: DatabaseUrl,
}

impl Target {
    /// `to` when given, else a new database named after the source's on its server.
    pub fn choose(
        kind: SourceKind,
        source: Option<&DatabaseUrl>,
        to: Option<&str>,
        source_name: &str,
        stamp: &str,
    ) -> Result<Self, RestoreError> {
        let server = match kind {
            SourceKind::Postgres => Server::Postgres,
            _ => Server::Mariadb,
        };
        let url = match (to, source) {
            (Some(to), _) => {
                let url =
                    DatabaseUrl::parse(kind, to).map_err(|reason| RestoreError::DatabaseTo {
                        to: super::without_password(to),
                        reason,
                        example: match server {
                            Server::Postgres => "postgresql://user@host:5432/database",
                            Server::Mariadb => "mysql://user@host:3306/database",
                        },
                    })?;
                // The source's password goes with it to the same server and user only.
                match source.and_then(|source| source.password().map(|p| (source, p))) {
                    Some((source, password))
                        if url.password().is_none()
                            && url
                                .destination()
                                .may_receive_password_of(&source.destination()) =>
                    {
                        url.with_password(password)
                    }
                    _ => url,
                }
            }
            (None, Some(source)) => {
                let name = format!("{}_restored_{stamp}", source.database());
                if name.len() > NAME_LIMIT {
                    return Err(RestoreError::NameTooLong(name));
                }
                source.with_database(&name)
            }
            (None, None) => return Err(RestoreError::NeedsTo(source_name.to_owned())),
        };
        Ok(Self { server, url })
    }

    /// Database `name` on the server of `server`, for a test restore.
    pub fn scratch(kind: SourceKind, server: &DatabaseUrl, name: &str) -> Self {
        Self {
            server: match kind {
                SourceKind::Postgres => Server::Postgres,
                _ => Server::Mariadb,
            },
            url: server.with_database(name),
        }
    }

    /// The same server, database `name`.
    pub fn with_name(&self, name: &str) -> Self {
        Self {
            server: self.server,
            url: self.url.with_database(name),
        }
    }

    /// Whether `other` is on the same server, reached the same way.
    pub fn same_server(&self, other: &Target) -> bool {
        self.server == other.server && self.url.with_database("") == other.url.with_database("")
    }

    /// Every table with its exact row count.
    pub async fn row_counts(&self) -> Result<Vec<(String, u64)>, RestoreError> {
        match self.server {
            Server::Postgres => postgres::row_counts(&self.url, &self.name()).await,
            Server::Mariadb => mariadb::row_counts(&self.url, &self.name()).await,
        }
    }

    /// The databases of this server whose name starts with `prefix`.
    pub async fn named_like(&self, prefix: &str) -> Result<Vec<String>, RestoreError> {
        match self.server {
            Server::Postgres => postgres::named_like(&self.url, prefix).await,
            Server::Mariadb => mariadb::named_like(&self.url, prefix).await,
        }
    }

    pub fn name(&self) -> String {
        self.url.database()
    }

    pub async fn exists(&self) -> Result<bool, RestoreError> {
        match self.server {
            Server::Postgres => postgres::exists(&self.url, &self.name()).await,
            Server::Mariadb => mariadb::exists(&self.url, &self.name()).await,
        }
    }

    pub async fn create(&self) -> Result<(), RestoreError> {
        match self.server {
            Server::Postgres => postgres::create(&self.url, &self.name()).await,
            Server::Mariadb => mariadb::create(&self.url, &self.name()).await,
        }
    }

    pub async fn drop(&self) -> Result<(), RestoreError> {
        match self.server {
            Server::Postgres => postgres::drop(&self.url, &self.name()).await,
            Server::Mariadb => mariadb::drop(&self.url, &self.name()).await,
        }
    }
}

/// Restores `object` into `target`; returns the target, masked, for the report. A
/// database created here is dropped again if the load fails or is cancelled.
pub async fn restore(
    reading: &Reading<'_>,
    object: &StoredObject,
    target: &Target,
    replace: bool,
) -> Result<String, RestoreError> {
    let origin = Origin::of(reading.s3, object);
    reading.readable(object)?;
    let existed = target.exists().await?;
    if existed {
        if !replace {
            return Err(RestoreError::DatabaseExists(target.url.masked()));
        }
        // Nothing of the database is touched before the object is known to be as stored.
        reading.unless_cancelled(reading.check(object)).await?;
    } else {
        target.create().await?;
    }
    // Cancelling drops the load, which kills the client: the server rolls its transaction
    // back (PostgreSQL) or stops where it was (MariaDB, which `replace` warns about).
    let loaded = reading
        .unless_cancelled(load(reading, object, target, &origin, existed))
        .await;
    if let Err(failure) = loaded {
        if !existed && let Err(left) = target.drop().await {
            return Err(RestoreError::LeftBehind {
                failure: Box::new(failure),
                left: Box::new(left),
            });
        }
        return Err(failure);
    }
    Ok(target.url.masked())
}

pub async fn load(
    reading: &Reading<'_>,
    object: &StoredObject,
    target: &Target,
    origin: &Origin,
    replace: bool,
) -> Result<(), RestoreError> {
    let mut reader = reading.open(object, Form::Plain).await?;
    let name = target.name();
    match target.server {
        Server::Postgres => postgres::load(&target.url, &name, origin, &mut reader, replace).await,
        Server::Mariadb => mariadb::load(&target.url, &name, origin, &mut reader).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_whose_name_a_tool_would_read_as_an_option_is_refused_with_why() {
        let refused = Target::choose(
            SourceKind::Mysql,
            None,
            Some("mysql://root@localhost/--result-file%3D%2Ftmp%2Fx.sql"),
            "crm",
            "202612011200",
        );

        let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("cannot start with"), "{message}");
    }
}
