//! A store in Redis (feature `redis`): one credential for a whole fleet.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use tokio::sync::OnceCell;

use super::{CredentialStore, PersistedCredential, StoreLock};
use crate::{AuthError, Credential, Identity};

/// How long an acquisition lock is leased before Redis frees it. Default 30 s (a token
/// endpoint's whole timeout); the holder renews it every third of that while it works, so only a
/// holder that died loses it.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// How long a stored credential outlives its own expiry in Redis, so provider state such as a
/// Waves refresh token survives the access token: 7 days.
pub const RETENTION_AFTER_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// Keeps credentials in Redis under `<prefix><identity storage key>`, and the acquisition lock
/// under `<prefix><key>:lock` (`SET NX PX`, released only by its holder). Key names carry only
/// the hash of the non-secret identity. Unreadable entries are reported and treated as absent.
pub struct RedisStore {
    client: redis::Client,
    connection: OnceCell<MultiplexedConnection>,
    prefix: String,
    lease: Duration,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password: show only where it points.
        let info = self.client.get_connection_info();
        f.debug_struct("RedisStore")
            .field("address", &info.addr().to_string())
            .field("prefix", &self.prefix)
            .field("lease", &self.lease)
            .finish()
    }
}

fn redis_error(action: &str, error: redis::RedisError) -> AuthError {
    // RedisError's text never includes the connection password.
    AuthError::store(format!("Redis: could not {action}: {error}"))
}

impl RedisStore {
    /// A store at `url` (`redis://[:password@]host[:port][/db]`) with key prefix `propusk:` and a
    /// 30 s lease. Connects on first use. TLS (`rediss://`) is not built in: reach Redis over a
    /// private network or a TLS tunnel.
    pub fn open(url: &str) -> Result<Self, AuthError> {
        if url.starts_with("rediss://") {
            return Err(AuthError::store(
                "rediss:// (Redis over TLS) is not built into propusk; use redis:// over a private network or a TLS tunnel",
            ));
        }
        let client = redis::Client::open(url).map_err(|error| {
            AuthError::store(format!(
                "the Redis URL is not valid ({}); expected redis://host:port[/db]",
                error.kind_name()
            ))
        })?;
        Ok(Self {
            client,
            connection: OnceCell::new(),
            prefix: "propusk:".to_owned(),
            lease: DEFAULT_LEASE,
        })
    }

    /// Uses another key prefix. Default `propusk:`.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Uses another lease for the acquisition lock. Default [`DEFAULT_LEASE`].
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(100));
        self
    }

    fn key(&self, identity: &Identity) -> String {
        format!("{}{}", self.prefix, identity.storage_key())
    }

    async fn connection(&self) -> Result<MultiplexedConnection, AuthError> {
        self.connection
            .get_or_try_init(|| async {
                self.client
                    .get_multiplexed_async_connection()
                    .await
                    .map_err(|error| redis_error("connect", error))
            })
            .await
            .cloned()
    }
}

trait KindName {
    fn kind_name(&self) -> &'static str;
}

impl KindName for redis::RedisError {
    fn kind_name(&self) -> &'static str {
        if self.is_connection_refusal() {
            "connection refused"
        } else {
            "invalid URL"
        }
    }
}

const RELEASE: &str = r#"if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end"#;
const RENEW: &str = r#"if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) else return 0 end"#;

/// Holds the Redis lock; renews it while held and releases it when dropped.
struct RedisLease {
    renewal: tokio::task::JoinHandle<()>,
    connection: MultiplexedConnection,
    key: String,
    holder: String,
}

impl Drop for RedisLease {
    fn drop(&mut self) {
        self.renewal.abort();
        let mut connection = self.connection.clone();
        let key = std::mem::take(&mut self.key);
        let holder = std::mem::take(&mut self.holder);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let released: Result<i64, _> = redis::Script::new(RELEASE)
                    .key(&key)
                    .arg(&holder)
                    .invoke_async(&mut connection)
                    .await;
                if let Err(error) = released {
                    tracing::warn!(%error, "could not release the Redis lock; it lapses with its lease");
                }
            });
        }
    }
}

#[async_trait]
impl CredentialStore for RedisStore {
    async fn load(&self, identity: &Identity) -> Result<Option<Credential>, AuthError> {
        let mut connection = self.connection().await?;
        let value: Option<Vec<u8>> = connection
            .get(self.key(identity))
            .await
            .map_err(|error| redis_error("read a credential", error))?;
        let Some(bytes) = value else {
            return Ok(None);
        };
        let parsed = serde_json::from_slice::<PersistedCredential>(&bytes)
            .map_err(|_| "not valid credential JSON".to_owned())
            .and_then(|entry| entry.into_credential(identity.provider()));
        match parsed {
            Ok(credential) => Ok(Some(credential)),
            Err(problem) => {
                tracing::warn!(key = %self.key(identity), %problem, "stored credential unusable; treated as absent");
                Ok(None)
            }
        }
    }

    async fn save(&self, identity: &Identity, credential: &Credential) -> Result<(), AuthError> {
        let mut connection = self.connection().await?;
        let bytes = PersistedCredential::from_credential(identity.provider(), credential).to_json();
        let keep = credential
            .expires_at()
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
            + RETENTION_AFTER_EXPIRY;
        let _: () = connection
            .pset_ex(self.key(identity), bytes, keep.as_millis() as u64)
            .await
            .map_err(|error| redis_error("save a credential", error))?;
        Ok(())
    }

    async fn remove(&self, identity: &Identity) -> Result<(), AuthError> {
        let mut connection = self.connection().await?;
        let _: () = connection
            .del(self.key(identity))
            .await
            .map_err(|error| redis_error("remove a credential", error))?;
        Ok(())
    }

    async fn lock(&self, identity: &Identity) -> Result<StoreLock, AuthError> {
        let mut connection = self.connection().await?;
        let key = format!("{}:lock", self.key(identity));
        let holder = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let lease_ms = self.lease.as_millis() as u64;
        let mut wait = Duration::from_millis(20);
        loop {
            let taken: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(&holder)
                .arg("NX")
                .arg("PX")
                .arg(lease_ms)
                .query_async(&mut connection)
                .await
                .map_err(|error| redis_error("take the acquisition lock", error))?;
            if taken.is_some() {
                break;
            }
            // Another member of the fleet is acquiring: wait, then the cache reads its result.
            tokio::time::sleep(wait + Duration::from_millis(fastrand::u64(0..20))).await;
            wait = (wait * 2).min(Duration::from_millis(250));
        }
        let renewal = {
            let mut connection = connection.clone();
            let key = key.clone();
            let holder = holder.clone();
            let every = self.lease / 3;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let renewed: Result<i64, _> = redis::Script::new(RENEW)
                        .key(&key)
                        .arg(&holder)
                        .arg(lease_ms)
                        .invoke_async(&mut connection)
                        .await;
                    if !matches!(renewed, Ok(1)) {
                        tracing::warn!("lost the Redis acquisition lock's lease");
                        return;
                    }
                }
            })
        };
        Ok(StoreLock::new(RedisLease {
            renewal,
            connection,
            key,
            holder,
        }))
    }
}
