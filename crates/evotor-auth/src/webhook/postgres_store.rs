//! (feature `postgres`) A [`WebhookStore`] in PostgreSQL, so that several receivers behind one
//! load balancer share their users, tokens and applied events.
//!
//! tokio-postgres (with the deadpool pool) rather than sqlx: a handful of fixed statements need
//! neither a query DSL, macros nor a database at compile time, and it builds much lighter.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use auth_core::AuthError;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tokio_postgres::NoTls;

use super::TokenDigest;
use super::store::{UserTokenRecord, WebhookStore};
use crate::UserId;
use crate::tokens::CloudTokenStore;

/// The schema version this build creates and reads.
pub const SCHEMA_VERSION: i32 = 1;

/// Connections per receiver: 16.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// The migration to [`SCHEMA_VERSION`] 1: every statement is idempotent.
const MIGRATION_1: &str = "
CREATE TABLE IF NOT EXISTS evotor_schema (version integer NOT NULL);
CREATE TABLE IF NOT EXISTS evotor_users (
    user_id text PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS evotor_user_tokens (
    digest text PRIMARY KEY,
    user_id text NOT NULL,
    issued_at_ms bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS evotor_user_tokens_by_user ON evotor_user_tokens (user_id);
CREATE TABLE IF NOT EXISTS evotor_cloud_tokens (
    user_id text PRIMARY KEY,
    token text NOT NULL
);
CREATE TABLE IF NOT EXISTS evotor_events (
    event_key text PRIMARY KEY,
    applied_at_ms bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS evotor_events_by_time ON evotor_events (applied_at_ms);
";

/// Any number: the advisory lock that serialises migrations of receivers starting together.
const MIGRATION_LOCK: i64 = 0x6576_6f74_6f72_0001;

/// Keeps the receiver's state in PostgreSQL tables `evotor_users`, `evotor_user_tokens`
/// (SHA-256 digests only), `evotor_cloud_tokens` and `evotor_events`.
///
/// - [`connect`](Self::connect) creates the schema when it is missing (a migration, under an
///   advisory lock so that receivers starting together do not race) and refuses a schema a
///   newer version wrote.
/// - Every operation is one statement or one transaction; [`replace_user_tokens`] holds a
///   per-user advisory lock, so concurrent verifies on any number of receivers leave exactly one
///   valid token.
/// - The URL is `postgres://USER:PASSWORD@HOST:PORT/DB`; the password never appears in an error,
///   a log or `Debug`. The connection is plain TCP (no TLS): keep the database on a private
///   network or loopback.
///
/// [`replace_user_tokens`]: WebhookStore::replace_user_tokens
#[derive(Clone)]
pub struct PostgresWebhookStore {
    pool: Pool,
    target: String,
}

impl fmt::Debug for PostgresWebhookStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresWebhookStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// `user@host:port/db`, never the password.
fn describe(config: &tokio_postgres::Config) -> String {
    let user = config.get_user().unwrap_or("?");
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or(user);
    format!("postgres://{user}@{host}:{port}/{db}")
}

impl PostgresWebhookStore {
    /// Connects to `url` (`postgres://USER:PASSWORD@HOST:PORT/DB`), creates or checks the
    /// schema, and keeps a pool of [`DEFAULT_POOL_SIZE`] connections.
    pub async fn connect(url: &SecretString) -> Result<Self, AuthError> {
        let mut config = tokio_postgres::Config::from_str(url.expose_secret()).map_err(|_| {
            AuthError::store(
                "the PostgreSQL store URL is not valid; write it as postgres://USER:PASSWORD@HOST:PORT/DB",
            )
        })?;
        if config.get_user().is_none() {
            return Err(AuthError::store(
                "the PostgreSQL store URL names no user; write it as postgres://USER:PASSWORD@HOST:PORT/DB",
            ));
        }
        config.connect_timeout(Duration::from_secs(10));
        config.application_name("propusk-evotor");
        let target = describe(&config);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(DEFAULT_POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|error| AuthError::store(format!("{target}: {error}")))?;
        let store = Self { pool, target };
        store.migrate().await?;
        Ok(store)
    }

    /// Where it connects, without the password.
    pub fn target(&self) -> &str {
        &self.target
    }

    fn error(&self, action: &str, error: impl fmt::Display) -> AuthError {
        AuthError::store(format!(
            "PostgreSQL store {}: could not {action}: {error}",
            self.target
        ))
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, AuthError> {
        self.pool
            .get()
            .await
            .map_err(|error| self.error("connect", error))
    }

    async fn migrate(&self) -> Result<(), AuthError> {
        let mut client = self.client().await?;
        let transaction = client
            .transaction()
            .await
            .map_err(|error| self.error("start the migration", error))?;
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(|error| self.error("lock the schema", error))?;
        transaction
            .batch_execute(MIGRATION_1)
            .await
            .map_err(|error| self.error("create the schema", error))?;
        let found: Option<i32> = transaction
            .query_opt("SELECT max(version) FROM evotor_schema", &[])
            .await
            .map_err(|error| self.error("read the schema version", error))?
            .and_then(|row| row.get(0));
        match found {
            None => {
                transaction
                    .execute(
                        "INSERT INTO evotor_schema (version) VALUES ($1)",
                        &[&SCHEMA_VERSION],
                    )
                    .await
                    .map_err(|error| self.error("record the schema version", error))?;
            }
            Some(version) if version > SCHEMA_VERSION => {
                return Err(AuthError::store(format!(
                    "PostgreSQL store {}: the schema is version {version}, written by a newer version of evotor-auth (this build knows {SCHEMA_VERSION}); upgrade this receiver",
                    self.target
                )));
            }
            Some(_) => {}
        }
        transaction
            .commit()
            .await
            .map_err(|error| self.error("finish the migration", error))
    }
}

/// The advisory-lock key of a user: the first 8 bytes of the SHA-256 of the id.
fn user_lock(user_id: &UserId) -> i64 {
    let digest = Sha256::digest(user_id.as_str().as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

fn millis(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[async_trait]
impl CloudTokenStore for PostgresWebhookStore {
    async fn cloud_token(&self, user_id: &UserId) -> Result<Option<SecretString>, AuthError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT token FROM evotor_cloud_tokens WHERE user_id = $1",
                &[&user_id.as_str()],
            )
            .await
            .map_err(|error| self.error("read a Cloud token", error))?;
        Ok(row.map(|row| SecretString::from(row.get::<_, String>(0))))
    }

    async fn save_cloud_token(
        &self,
        user_id: &UserId,
        token: SecretString,
    ) -> Result<(), AuthError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO evotor_cloud_tokens (user_id, token) VALUES ($1, $2)
                 ON CONFLICT (user_id) DO UPDATE SET token = EXCLUDED.token",
                &[&user_id.as_str(), &token.expose_secret()],
            )
            .await
            .map_err(|error| self.error("store a Cloud token", error))?;
        Ok(())
    }
}

#[async_trait]
impl WebhookStore for PostgresWebhookStore {
    async fn register_user(&self, user_id: &UserId) -> Result<bool, AuthError> {
        let inserted = self
            .client()
            .await?
            .execute(
                "INSERT INTO evotor_users (user_id) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&user_id.as_str()],
            )
            .await
            .map_err(|error| self.error("register a user", error))?;
        Ok(inserted == 1)
    }

    async fn is_registered(&self, user_id: &UserId) -> Result<bool, AuthError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT 1 FROM evotor_users WHERE user_id = $1",
                &[&user_id.as_str()],
            )
            .await
            .map_err(|error| self.error("look a user up", error))?;
        Ok(row.is_some())
    }

    async fn save_user_token(
        &self,
        digest: &TokenDigest,
        record: UserTokenRecord,
    ) -> Result<(), AuthError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO evotor_user_tokens (digest, user_id, issued_at_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (digest) DO UPDATE SET user_id = EXCLUDED.user_id, issued_at_ms = EXCLUDED.issued_at_ms",
                &[
                    &digest.to_hex(),
                    &record.user_id.as_str(),
                    &millis(record.issued_at_ms),
                ],
            )
            .await
            .map_err(|error| self.error("store a user token", error))?;
        Ok(())
    }

    async fn replace_user_tokens(
        &self,
        digest: &TokenDigest,
        record: UserTokenRecord,
    ) -> Result<(), AuthError> {
        let mut client = self.client().await?;
        let failed = |error| self.error("replace a user's tokens", error);
        let transaction = client.transaction().await.map_err(failed)?;
        // Serialises replacements for this user across every receiver: the DELETE of the next
        // one then sees the row this one inserts.
        transaction
            .execute(
                "SELECT pg_advisory_xact_lock($1)",
                &[&user_lock(&record.user_id)],
            )
            .await
            .map_err(failed)?;
        transaction
            .execute(
                "DELETE FROM evotor_user_tokens WHERE user_id = $1",
                &[&record.user_id.as_str()],
            )
            .await
            .map_err(failed)?;
        transaction
            .execute(
                "INSERT INTO evotor_user_tokens (digest, user_id, issued_at_ms) VALUES ($1, $2, $3)",
                &[
                    &digest.to_hex(),
                    &record.user_id.as_str(),
                    &millis(record.issued_at_ms),
                ],
            )
            .await
            .map_err(failed)?;
        transaction.commit().await.map_err(failed)
    }

    async fn find_user_token(
        &self,
        digest: &TokenDigest,
    ) -> Result<Option<UserTokenRecord>, AuthError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT user_id, issued_at_ms FROM evotor_user_tokens WHERE digest = $1",
                &[&digest.to_hex()],
            )
            .await
            .map_err(|error| self.error("look a user token up", error))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let user_id = UserId::parse(row.get::<_, &str>(0)).map_err(|problem| {
            AuthError::store(format!(
                "PostgreSQL store {}: a stored user id {problem}; the table evotor_user_tokens is damaged",
                self.target
            ))
        })?;
        let issued_at_ms = u64::try_from(row.get::<_, i64>(1)).unwrap_or(0);
        Ok(Some(UserTokenRecord {
            user_id,
            issued_at_ms,
        }))
    }

    async fn revoke_user_token(&self, digest: &TokenDigest) -> Result<bool, AuthError> {
        let removed = self
            .client()
            .await?
            .execute(
                "DELETE FROM evotor_user_tokens WHERE digest = $1",
                &[&digest.to_hex()],
            )
            .await
            .map_err(|error| self.error("revoke a user token", error))?;
        Ok(removed > 0)
    }

    async fn revoke_user_tokens(&self, user_id: &UserId) -> Result<usize, AuthError> {
        let removed = self
            .client()
            .await?
            .execute(
                "DELETE FROM evotor_user_tokens WHERE user_id = $1",
                &[&user_id.as_str()],
            )
            .await
            .map_err(|error| self.error("revoke a user's tokens", error))?;
        Ok(usize::try_from(removed).unwrap_or(usize::MAX))
    }

    async fn event_applied(&self, key: &str) -> Result<bool, AuthError> {
        let row = self
            .client()
            .await?
            .query_opt("SELECT 1 FROM evotor_events WHERE event_key = $1", &[&key])
            .await
            .map_err(|error| self.error("look an event up", error))?;
        Ok(row.is_some())
    }

    async fn mark_event_applied(
        &self,
        key: &str,
        now_ms: u64,
        retention: Duration,
    ) -> Result<(), AuthError> {
        let client = self.client().await?;
        let failed = |error| self.error("record an applied event", error);
        let horizon = millis(now_ms.saturating_sub(retention.as_millis() as u64));
        client
            .execute(
                "DELETE FROM evotor_events WHERE applied_at_ms < $1",
                &[&horizon],
            )
            .await
            .map_err(failed)?;
        client
            .execute(
                "INSERT INTO evotor_events (event_key, applied_at_ms) VALUES ($1, $2)
                 ON CONFLICT (event_key) DO UPDATE SET applied_at_ms = EXCLUDED.applied_at_ms",
                &[&key, &millis(now_ms)],
            )
            .await
            .map_err(failed)?;
        Ok(())
    }
}
