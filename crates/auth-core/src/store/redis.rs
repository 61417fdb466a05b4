//! A store in Redis (feature `redis`): one credential for a whole fleet.

use std::any::Any;
use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use base64::Engine;
use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands, RedisError};
use tokio::sync::Mutex;

use super::{CredentialStore, LockAttempt, LockGuard, PersistedCredential, Saved, StoreLock};
use crate::{AuthError, Credential, Identity};

/// How long an acquisition lock is leased before Redis frees it. Default 30 s (a token
/// endpoint's whole timeout); the holder renews it every third of that while it works, so only a
/// holder that died or stalled loses it.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// How long a stored credential outlives its own expiry in Redis, so provider state such as a
/// Waves refresh token survives the access token: 7 days.
pub const RETENTION_AFTER_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// Keeps credentials in Redis under `<prefix><identity storage key>`, and the acquisition lock
/// under `<prefix><key>:lock` (`SET NX PX`, released only by its holder). Key names carry only
/// the hash of the non-secret identity. Unreadable entries are reported and treated as absent.
///
/// - `redis://[USER:PASSWORD@]HOST[:PORT][/DB]`, or `rediss://…` for TLS (rustls; the system's
///   roots, plus a PEM file's with [`open_with_roots`](Self::open_with_roots)).
/// - Writes are atomic Lua scripts: [`save_under`](CredentialStore::save_under) writes only while
///   the lock is still this holder's (fencing), and no write replaces a credential with one that
///   expires earlier.
/// - A dropped connection is opened again on the next call.
///
/// # Example
///
/// Every machine of a fleet opens the same store; one of them authenticates, the rest reuse its
/// credential:
///
/// ```no_run
/// # use auth_core::{AuthError, Credential, CredentialSource, Identity};
/// # struct MySource(Identity);
/// # #[async_trait::async_trait]
/// # impl CredentialSource for MySource {
/// #     fn identity(&self) -> &Identity { &self.0 }
/// #     async fn acquire(&self, _: Option<&Credential>) -> Result<Credential, AuthError> {
/// #         Err(AuthError::config("example", "this example never acquires"))
/// #     }
/// # }
/// # fn my_source() -> MySource { MySource(Identity::new("example", ["account-1"])) }
/// # async fn run() -> Result<(), AuthError> {
/// use std::sync::Arc;
/// use auth_core::{AuthClient, CredentialCache};
/// use auth_core::store::RedisStore;
///
/// let password = std::env::var("REDIS_PASSWORD").unwrap_or_default();
/// let store = RedisStore::open(&format!("rediss://app:{password}@redis.internal:6380/0"))?
///     .with_prefix("my-service:");
/// let cache = CredentialCache::builder(my_source()).store(Arc::new(store)).build();
/// let client = AuthClient::new(cache)?;
/// # Ok(()) }
/// ```
pub struct RedisStore {
    client: redis::Client,
    connection: Mutex<Option<MultiplexedConnection>>,
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

/// Whether `error` is an outage (unreachable, timed out, connection dropped) rather than a
/// refusal of this configuration (TLS not trusted, not a TLS server, password refused).
fn is_outage(error: &RedisError) -> bool {
    error.is_timeout() || error.is_connection_refusal() || error.is_connection_dropped()
}

fn redis_error(action: &str, error: &RedisError) -> AuthError {
    // RedisError's text never includes the connection password.
    let hint = if error.is_io_error() && !is_outage(error) {
        " (with rediss://, check that the server speaks TLS and that its certificate's CA is \
         trusted: the system's roots, or a PEM file given as extra roots with RedisStore::open_with_roots)"
    } else if error.kind() == redis::ErrorKind::AuthenticationFailed {
        " (check the user and password in the store URL)"
    } else {
        ""
    };
    AuthError::store_connection(format!("Redis: could not {action}: {error}{hint}"))
}

fn url_error(error: &RedisError) -> AuthError {
    let kind = if error.kind() == redis::ErrorKind::InvalidClientConfig {
        "invalid URL"
    } else {
        error.category()
    };
    AuthError::store(format!(
        "the Redis URL is not valid ({kind}); expected redis://[USER:PASSWORD@]HOST[:PORT][/DB] or rediss://…"
    ))
}

impl RedisStore {
    /// A store at `url` (`redis://[USER:PASSWORD@]HOST[:PORT][/DB]`, or `rediss://` for TLS with
    /// the system's roots) with key prefix `propusk:` and a 30 s lease. Connects on first use.
    pub fn open(url: &str) -> Result<Self, AuthError> {
        let client = redis::Client::open(url).map_err(|error| url_error(&error))?;
        Ok(Self::with_client(client))
    }

    /// Like [`open`](Self::open), for a `rediss://` URL, trusting the certificates in
    /// `extra_roots_pem` (PEM) besides the system's roots.
    pub fn open_with_roots(url: &str, extra_roots_pem: &[u8]) -> Result<Self, AuthError> {
        if !url.starts_with("rediss://") {
            return Err(AuthError::store(
                "extra root certificates apply to rediss:// (TLS) URLs only",
            ));
        }
        let extra = String::from_utf8_lossy(extra_roots_pem);
        if !extra.contains("-----BEGIN CERTIFICATE-----") {
            return Err(AuthError::store(
                "the extra root certificates hold no PEM certificate (-----BEGIN CERTIFICATE-----)",
            ));
        }
        let mut roots = String::new();
        for certificate in rustls_native_certs::load_native_certs().certs {
            roots.push_str(&pem_certificate(certificate.as_ref()));
        }
        roots.push_str(&extra);
        let client = redis::Client::build_with_tls(
            url,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(roots.into_bytes()),
            },
        )
        .map_err(|error| {
            if error.kind() == redis::ErrorKind::InvalidClientConfig {
                url_error(&error)
            } else {
                AuthError::store(format!(
                    "the extra root certificates are not valid PEM certificates: {error}"
                ))
            }
        })?;
        Ok(Self::with_client(client))
    }

    fn with_client(client: redis::Client) -> Self {
        Self {
            client,
            connection: Mutex::new(None),
            prefix: "propusk:".to_owned(),
            lease: DEFAULT_LEASE,
        }
    }

    /// Uses another key prefix. Default `propusk:`.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Uses another lease for the acquisition lock. Default [`DEFAULT_LEASE`]; at least 100 ms.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(100));
        self
    }

    /// The key that holds `identity`'s credential.
    pub fn key(&self, identity: &Identity) -> String {
        format!("{}{}", self.prefix, identity.storage_key())
    }

    /// The key that holds `identity`'s acquisition lock while it is held.
    pub fn lock_key(&self, identity: &Identity) -> String {
        format!("{}:lock", self.key(identity))
    }

    async fn connection(&self) -> Result<MultiplexedConnection, RedisError> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let connection = match self.client.get_multiplexed_async_connection().await {
            Ok(connection) => connection,
            Err(error) if error.is_timeout() && self.answers_in_plain_text().await => {
                return Err(RedisError::from((
                    redis::ErrorKind::InvalidClientConfig,
                    "the server answers in plain text, not TLS",
                    "use redis:// for it, or the server's TLS port".to_owned(),
                )));
            }
            Err(error) => return Err(error),
        };
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// Whether a `rediss://` server that let the TLS handshake time out is a plain-text Redis
    /// (it waits for the end of a command line, so the handshake only times out): it answers
    /// an inline `PING` with a RESP reply.
    async fn answers_in_plain_text(&self) -> bool {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let redis::ConnectionAddr::TcpTls { host, port, .. } =
            self.client.get_connection_info().addr()
        else {
            return false;
        };
        let probe = async {
            let mut stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
            stream.write_all(b"PING\r\n").await?;
            let mut first = [0u8; 1];
            stream.read_exact(&mut first).await?;
            Ok::<_, std::io::Error>(matches!(first[0], b'+' | b'-'))
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(1), probe).await,
            Ok(Ok(true))
        )
    }

    /// Passes `result` on; a connection that broke is forgotten, so the next call connects
    /// again (after a failover, say).
    async fn settle<T>(&self, result: Result<T, RedisError>) -> Result<T, RedisError> {
        if let Err(error) = &result
            && (is_outage(error) || error.is_unrecoverable_error())
        {
            *self.connection.lock().await = None;
        }
        result
    }

    async fn write(
        &self,
        identity: &Identity,
        credential: &Credential,
        holder: Option<(&str, &str)>,
    ) -> Result<Saved, AuthError> {
        let entry = PersistedCredential::from_credential(identity.provider(), credential);
        let expires_at_ms = entry.expires_at_ms;
        let keep = credential
            .expires_at()
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
            + RETENTION_AFTER_EXPIRY;
        let key = self.key(identity);
        let (lock_key, holder) = holder.unwrap_or(("", ""));
        let answer = async {
            let mut connection = self.connection().await?;
            let answer: Result<i64, RedisError> = redis::Script::new(SAVE)
                .key(&key)
                .key(lock_key)
                .arg(entry.to_json())
                .arg(keep.as_millis() as u64)
                .arg(expires_at_ms)
                .arg(holder)
                .arg(identity.provider())
                .arg(super::persisted::FORMAT_VERSION)
                .invoke_async(&mut connection)
                .await;
            self.settle(answer).await
        }
        .await
        .map_err(|error| redis_error("save a credential", &error))?;
        Ok(match answer {
            1 => Saved::Written,
            0 => Saved::LostLock,
            _ => Saved::KeptNewer,
        })
    }
}

/// A DER certificate as PEM.
fn pem_certificate(der: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// Writes the credential (KEYS[1]) with ARGV[1] = JSON, ARGV[2] = time to keep (ms), ARGV[3] =
/// its expiry (Unix ms); when ARGV[4] (a holder) is not empty, only while the lock KEYS[2] holds
/// it. Answers 1 written, 0 the lock is not (or no longer) the holder's, -1 the stored
/// credential expires later and was kept. Only a usable stored entry counts (ARGV[5] the
/// provider, ARGV[6] the newest format this build reads), as the file store does.
const SAVE: &str = r#"
if ARGV[4] ~= "" and redis.call("GET", KEYS[2]) ~= ARGV[4] then return 0 end
local stored = redis.call("GET", KEYS[1])
if stored then
  local ok, entry = pcall(cjson.decode, stored)
  local usable = ok and type(entry) == "table" and entry["provider"] == ARGV[5]
    and tonumber(entry["format"]) and tonumber(entry["format"]) <= tonumber(ARGV[6])
  if usable and tonumber(entry["expires_at_ms"]) and tonumber(entry["expires_at_ms"]) > tonumber(ARGV[3]) then return -1 end
end
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
return 1
"#;
const RELEASE: &str = r#"if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end"#;
const RENEW: &str = r#"if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) else return 0 end"#;

/// Holds the Redis lock and renews it until released. Dropped without release, it only stops
/// renewing: the lock lapses with its lease.
struct RedisLease {
    renewal: tokio::task::JoinHandle<()>,
    connection: MultiplexedConnection,
    key: String,
    holder: String,
}

impl Drop for RedisLease {
    fn drop(&mut self) {
        self.renewal.abort();
    }
}

#[async_trait]
impl LockGuard for RedisLease {
    async fn release(self: Box<Self>) {
        self.renewal.abort();
        let mut connection = self.connection.clone();
        let released: Result<i64, _> = redis::Script::new(RELEASE)
            .key(&self.key)
            .arg(&self.holder)
            .invoke_async(&mut connection)
            .await;
        if let Err(error) = released {
            tracing::warn!(%error, "could not release the Redis lock; it lapses with its lease");
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[async_trait]
impl CredentialStore for RedisStore {
    async fn load(&self, identity: &Identity) -> Result<Option<Credential>, AuthError> {
        let key = self.key(identity);
        let value = async {
            let mut connection = self.connection().await?;
            let value: Result<Option<Vec<u8>>, RedisError> = connection.get(&key).await;
            self.settle(value).await
        }
        .await
        .map_err(|error| redis_error("read a credential", &error))?;
        let Some(bytes) = value else {
            return Ok(None);
        };
        let parsed = serde_json::from_slice::<PersistedCredential>(&bytes)
            .map_err(|_| "not valid credential JSON".to_owned())
            .and_then(|entry| entry.into_credential(identity.provider()));
        match parsed {
            Ok(credential) => Ok(Some(credential)),
            Err(problem) => {
                tracing::warn!(key = %key, %problem, "stored credential unusable; treated as absent");
                Ok(None)
            }
        }
    }

    async fn save(&self, identity: &Identity, credential: &Credential) -> Result<Saved, AuthError> {
        self.write(identity, credential, None).await
    }

    async fn save_under(
        &self,
        lock: &StoreLock,
        identity: &Identity,
        credential: &Credential,
    ) -> Result<Saved, AuthError> {
        match lock.guard::<RedisLease>() {
            Some(lease) => {
                self.write(identity, credential, Some((&lease.key, &lease.holder)))
                    .await
            }
            None => self.save(identity, credential).await,
        }
    }

    async fn remove(&self, identity: &Identity) -> Result<(), AuthError> {
        let key = self.key(identity);
        async {
            let mut connection = self.connection().await?;
            let removed: Result<(), RedisError> = connection.del(&key).await;
            self.settle(removed).await
        }
        .await
        .map_err(|error| redis_error("remove a credential", &error))
    }

    async fn try_lock(&self, identity: &Identity) -> Result<LockAttempt, AuthError> {
        let key = self.lock_key(identity);
        let holder = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let lease_ms = self.lease.as_millis() as u64;
        let taken = async {
            let mut connection = self.connection().await?;
            let taken: Result<Option<String>, RedisError> = redis::cmd("SET")
                .arg(&key)
                .arg(&holder)
                .arg("NX")
                .arg("PX")
                .arg(lease_ms)
                .query_async(&mut connection)
                .await;
            self.settle(taken).await.map(|taken| (taken, connection))
        }
        .await;
        let connection = match taken {
            Ok((Some(_), connection)) => connection,
            Ok((None, _)) => return Ok(LockAttempt::Busy),
            Err(error) if is_outage(&error) => {
                return Ok(LockAttempt::Unavailable(redis_error(
                    "take the acquisition lock",
                    &error,
                )));
            }
            Err(error) => return Err(redis_error("take the acquisition lock", &error)),
        };
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
        Ok(LockAttempt::Taken(StoreLock::new(RedisLease {
            renewal,
            connection,
            key,
            holder,
        })))
    }

    fn lease(&self) -> Duration {
        self.lease
    }
}
