//! A store of one JSON file per identity in a private folder.

use std::any::Any;
use std::fs::{self, File};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use super::{CredentialStore, LockAttempt, LockGuard, PersistedCredential, Saved, StoreLock};
use crate::provider::private_fs;
use crate::{AuthError, Credential, Identity};

/// How long a [`FileStore`] acquisition lock is leased: 30 s. The holder renews it every third
/// of that while it works; a holder that is stalled (stopped, swapped out, suspended) past it
/// loses the lock to a waiter, and its later write is refused.
pub const DEFAULT_FILE_LEASE: Duration = Duration::from_secs(30);

/// How old a temporary file must be before a later write deletes it as a crashed writer's
/// leftover: 1 minute.
pub const STALE_TEMPORARY_AGE: Duration = Duration::from_secs(60);

/// Keeps each credential in `<folder>/<identity storage key>.json`.
///
/// - The folder is created owner-only (0700) and each file is owner-only (0600) on Unix.
/// - A write goes to a temporary file in the same folder, is flushed to disk and renamed over the
///   old file, so a crash leaves either the old or the new credential, never half of one. A
///   temporary file a crashed writer left behind is deleted by the next write of the same
///   identity once it is [`STALE_TEMPORARY_AGE`] old.
/// - A folder that is not the user's own, or that group or others may write, is refused: no
///   entry is read from it or written to it ([`check_folder`](Self::check_folder)).
/// - Files are opened without trust ([`private_fs`]): a symbolic link, FIFO, another user's
///   file, a file group or others may read or write, or one over 1 MiB is ignored with a
///   warning, never followed or waited on. The same goes for the lock files.
/// - A file that cannot be read or parsed, or that a newer version wrote, is reported through
///   `tracing` and treated as absent.
/// - [`try_lock`](CredentialStore::try_lock) takes a leased lock, so processes sharing the
///   folder acquire one at a time. The lease (holder, deadline) is recorded in `<key>.lease`,
///   changed only under a short advisory lock on that file; the holder also keeps an advisory
///   lock on `<key>.lock` while it holds, so a holder that dies frees the lock at once, and one
///   that stalls frees it when its lease ([`DEFAULT_FILE_LEASE`]) lapses.
/// - [`save_under`](CredentialStore::save_under) writes only while its lock's lease is still
///   the recorded one, and no save replaces a credential with one that expires earlier.
/// - File names carry only the hash of the non-secret identity.
///
/// # Example
///
/// Two processes on one machine (here two caches): the second reuses what the first stored and
/// asks the provider for nothing.
///
/// ```
/// # use std::collections::BTreeMap;
/// # use std::time::{Duration, SystemTime};
/// # use auth_core::{AuthError, Credential, CredentialSource, Identity, SecretString, ExposeSecret};
/// # struct MySource(Identity);
/// # #[async_trait::async_trait]
/// # impl CredentialSource for MySource {
/// #     fn identity(&self) -> &Identity { &self.0 }
/// #     async fn acquire(&self, _: Option<&Credential>) -> Result<Credential, AuthError> {
/// #         self.restore("t0ken".into(), SystemTime::now() + Duration::from_secs(3600), &BTreeMap::new())
/// #     }
/// #     fn restore(&self, token: SecretString, expires_at: SystemTime, _: &BTreeMap<String, SecretString>)
/// #         -> Result<Credential, AuthError> {
/// #         let header = format!("Bearer {}", token.expose_secret());
/// #         Credential::new(token, expires_at).with_header("example", http::header::AUTHORIZATION, &header)
/// #     }
/// # }
/// # fn my_source() -> MySource { MySource(Identity::new("example", ["account-1"])) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::sync::Arc;
/// use auth_core::CredentialCache;
/// use auth_core::store::FileStore;
///
/// let folder = tempfile::tempdir().unwrap(); // yours: FileStore::default_folder()
/// let store = Arc::new(FileStore::new(folder.path()));
///
/// let first = CredentialCache::builder(my_source()).store(store.clone()).build();
/// first.get().await?;
/// assert_eq!(first.acquisitions(), 1);
///
/// let second = CredentialCache::builder(my_source()).store(store).build();
/// second.get().await?;
/// assert_eq!((second.acquisitions(), second.store_hits()), (0, 1));
/// # Ok::<(), AuthError>(()) }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct FileStore {
    folder: PathBuf,
    lease: Duration,
}

impl FileStore {
    /// A store in `folder` (created on first write).
    pub fn new(folder: impl Into<PathBuf>) -> Self {
        Self {
            folder: folder.into(),
            lease: DEFAULT_FILE_LEASE,
        }
    }

    /// Uses another lease for the acquisition lock. Default [`DEFAULT_FILE_LEASE`]; at least
    /// 100 ms.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(100));
        self
    }

    /// The platform's user cache folder plus `propusk` (`~/.cache/propusk` on Linux).
    pub fn default_folder() -> Option<PathBuf> {
        dirs::cache_dir().map(|dir| dir.join("propusk"))
    }

    /// The folder it writes to.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// The file that holds `identity`'s credential.
    pub fn path_for(&self, identity: &Identity) -> PathBuf {
        self.folder.join(format!("{}.json", identity.storage_key()))
    }

    /// The file that records who holds `identity`'s acquisition lock, and until when.
    pub fn lease_path_for(&self, identity: &Identity) -> PathBuf {
        self.folder
            .join(format!("{}.lease", identity.storage_key()))
    }

    /// Whether a live lease on `identity`'s acquisition lock is recorded (a held lock).
    pub fn is_locked(&self, identity: &Identity) -> bool {
        fs::read_to_string(self.lease_path_for(identity))
            .ok()
            .and_then(|text| LeaseRecord::parse(&text))
            .is_some_and(|record| record.until_ms > now_ms())
    }

    /// Refuses a folder that is not the user's own or that others may write (see
    /// [`private_fs`]): a configuration error naming the folder and the fix. A missing folder
    /// passes (it is created 0700 on first write).
    pub fn check_folder(&self) -> Result<(), AuthError> {
        private_fs::check_folder(&self.folder)
            .map(|_| ())
            .map_err(|refusal| AuthError::store(refusal.to_string()))
    }

    fn read(&self, identity: &Identity) -> Result<Option<Credential>, AuthError> {
        self.check_folder()?;
        let path = self.path_for(identity);
        let bytes = match private_fs::read_file(&path, private_fs::MAX_FILE_BYTES) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Ok(None),
            Err(problem) => {
                tracing::warn!(path = %path.display(), %problem, "credential file ignored; authenticating as if it were absent");
                return Ok(None);
            }
        };
        let parsed = serde_json::from_slice::<PersistedCredential>(&bytes)
            .map_err(|error| format!("not valid credential JSON ({})", error.classify_name()))
            .and_then(|entry| entry.into_credential(identity.provider()));
        match parsed {
            Ok(credential) => Ok(Some(credential)),
            Err(problem) => {
                tracing::warn!(path = %path.display(), %problem, "credential file unusable; treated as absent");
                Ok(None)
            }
        }
    }

    /// Deletes `identity`'s temporary files older than [`STALE_TEMPORARY_AGE`]: a write that is
    /// still going on is never that old. Failures are ignored; the next write tries again.
    fn remove_stale_temporaries(&self, identity: &Identity) {
        let Ok(entries) = fs::read_dir(&self.folder) else {
            return;
        };
        let prefix = format!(".{}.", identity.storage_key());
        let now = SystemTime::now();
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !(name.starts_with(&prefix) && name.ends_with(".tmp")) {
                continue;
            }
            let stale = entry
                .metadata()
                .and_then(|metadata| metadata.modified())
                .is_ok_and(|modified| {
                    now.duration_since(modified)
                        .is_ok_and(|age| age >= STALE_TEMPORARY_AGE)
                });
            if stale {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    fn write(&self, identity: &Identity, credential: &Credential) -> io::Result<()> {
        create_private_folder(&self.folder)?;
        let bytes = PersistedCredential::from_credential(identity.provider(), credential).to_json();
        let target = self.path_for(identity);
        let temporary = self.folder.join(format!(
            ".{}.{}.tmp",
            identity.storage_key(),
            fastrand::u64(..)
        ));
        let result = (|| {
            let mut file = private_fs::new_file_options().open(&temporary)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            fs::rename(&temporary, &target)?;
            // Make the rename itself durable.
            if let Ok(folder) = File::open(&self.folder) {
                let _ = folder.sync_all();
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temporary);
        } else {
            self.remove_stale_temporaries(identity);
        }
        result
    }
}

/// Who holds an identity's lock and until when, as recorded in `<key>.lease`:
/// `<holder> <until, Unix ms> <1 if the holder also keeps the advisory lock on <key>.lock>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LeaseRecord {
    holder: u64,
    until_ms: u64,
    flocked: bool,
}

impl LeaseRecord {
    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split_ascii_whitespace();
        Some(Self {
            holder: parts.next()?.parse().ok()?,
            until_ms: parts.next()?.parse().ok()?,
            flocked: parts.next()? == "1",
        })
    }

    fn render(&self) -> String {
        format!(
            "{} {} {}\n",
            self.holder,
            self.until_ms,
            u8::from(self.flocked)
        )
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn expires_at_ms(credential: &Credential) -> u64 {
    credential
        .expires_at()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Opens a lock or lease file without trust (see [`private_fs::open_lock_file`]): a symbolic
/// link is never followed and a FIFO never waited on; such a file is an error, so the store
/// counts as unavailable rather than blocking.
fn open_private(path: &Path) -> io::Result<File> {
    private_fs::open_lock_file(path).map_err(|problem| {
        io::Error::other(format!(
            "the lock file {} is ignored: {problem}",
            path.display()
        ))
    })
}

impl FileStore {
    /// Runs `critical` with the lease record of `identity`, under a short advisory lock on the
    /// lease file; `critical` answers the record to leave there (`None`: keep it as it is).
    fn with_lease_record<T>(
        &self,
        identity: &Identity,
        critical: impl FnOnce(Option<LeaseRecord>) -> io::Result<(T, Option<Option<LeaseRecord>>)>,
    ) -> io::Result<T> {
        create_private_folder(&self.folder)?;
        let mut file = open_private(&self.lease_path_for(identity))?;
        file.lock()?;
        let mut text = String::new();
        // A damaged record (not text, cut short) counts as no record: its lease is void.
        let _ = file.read_to_string(&mut text);
        let (answer, replace) = critical(LeaseRecord::parse(&text))?;
        if let Some(record) = replace {
            file.set_len(0)?;
            file.rewind()?;
            if let Some(record) = record {
                file.write_all(record.render().as_bytes())?;
            }
        }
        Ok(answer)
    }

    /// The stored credential's expiry, read quietly: an unusable entry (broken, another
    /// provider's, a newer format) counts as none, and the reads that serve it report it.
    fn stored_expiry_ms(&self, identity: &Identity) -> Option<u64> {
        let bytes =
            private_fs::read_file(&self.path_for(identity), private_fs::MAX_FILE_BYTES).ok()??;
        let entry = serde_json::from_slice::<PersistedCredential>(&bytes).ok()?;
        let expiry = entry.expires_at_ms;
        entry
            .into_credential(identity.provider())
            .ok()
            .map(|_| expiry)
    }

    /// Writes `credential` unless the stored one expires later; call inside the lease critical
    /// section so the check and the write are one step for every process.
    fn write_unless_older(
        &self,
        identity: &Identity,
        credential: &Credential,
    ) -> io::Result<Saved> {
        let stored = self.stored_expiry_ms(identity);
        if !super::may_replace(stored, expires_at_ms(credential)) {
            return Ok(Saved::KeptNewer);
        }
        self.write(identity, credential)?;
        Ok(Saved::Written)
    }

    fn try_lock_blocking(&self, identity: &Identity) -> io::Result<Option<FileLeaseHeld>> {
        create_private_folder(&self.folder)?;
        let lock_path = self.folder.join(format!("{}.lock", identity.storage_key()));
        let lock_file = open_private(&lock_path)?;
        let flock = match lock_file.try_lock() {
            Ok(()) => Some(lock_file),
            Err(fs::TryLockError::WouldBlock) => None,
            Err(fs::TryLockError::Error(error)) => return Err(error),
        };
        let holds_flock = flock.is_some();
        let lease_ms = self.lease.as_millis() as u64;
        let holder = self.with_lease_record(identity, |record| {
            let now = now_ms();
            // A live lease counts, except one recorded by an advisory-lock holder when that
            // advisory lock is free now: that holder died.
            let live = record.filter(|r| r.until_ms > now && !(r.flocked && holds_flock));
            if live.is_some() {
                return Ok((None, None));
            }
            let ours = LeaseRecord {
                holder: fastrand::u64(1..),
                until_ms: now + lease_ms,
                flocked: holds_flock,
            };
            Ok((Some(ours.holder), Some(Some(ours))))
        })?;
        Ok(holder.map(|holder| FileLeaseHeld { holder, flock }))
    }

    /// Renews `holder`'s lease; `false` when it is no longer the recorded holder.
    fn renew_blocking(&self, identity: &Identity, holder: u64) -> io::Result<bool> {
        let lease_ms = self.lease.as_millis() as u64;
        self.with_lease_record(identity, |record| match record {
            Some(mut record) if record.holder == holder => {
                record.until_ms = now_ms() + lease_ms;
                Ok((true, Some(Some(record))))
            }
            _ => Ok((false, None)),
        })
    }

    fn release_blocking(&self, identity: &Identity, holder: u64) -> io::Result<()> {
        self.with_lease_record(identity, |record| match record {
            Some(record) if record.holder == holder => Ok(((), Some(None))),
            _ => Ok(((), None)),
        })
    }

    fn save_under_blocking(
        &self,
        identity: &Identity,
        holder: u64,
        credential: &Credential,
    ) -> io::Result<Saved> {
        self.with_lease_record(identity, |record| {
            let held = record.is_some_and(|r| r.holder == holder && r.until_ms > now_ms());
            if !held {
                return Ok((Saved::LostLock, None));
            }
            Ok((self.write_unless_older(identity, credential)?, None))
        })
    }
}

struct FileLeaseHeld {
    holder: u64,
    /// The advisory lock on `<key>.lock` (when it was free to take); closing it releases it.
    flock: Option<File>,
}

/// A held [`FileStore`] lock: its lease is renewed by a task until released.
struct FileLease {
    store: FileStore,
    identity: Identity,
    holder: u64,
    /// Kept open while held: closing it releases the advisory lock on `<key>.lock`.
    _flock: Option<File>,
    renewal: tokio::task::JoinHandle<()>,
}

impl Drop for FileLease {
    fn drop(&mut self) {
        self.renewal.abort();
    }
}

#[async_trait]
impl LockGuard for FileLease {
    async fn release(self: Box<Self>) {
        self.renewal.abort();
        let store = self.store.clone();
        let identity = self.identity.clone();
        let holder = self.holder;
        let released =
            tokio::task::spawn_blocking(move || store.release_blocking(&identity, holder)).await;
        if !matches!(released, Ok(Ok(()))) {
            tracing::warn!("could not release the file store's lock; it lapses with its lease");
        }
        // `self` (with the advisory lock's file) is dropped here, after the record is cleared.
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "missing or wrong-typed field",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

/// Creates the folder 0700 when missing; a folder that is not the user's own is refused with
/// `PermissionDenied` carrying the refusal (folder and fix).
fn create_private_folder(folder: &Path) -> io::Result<()> {
    private_fs::create_folder(folder)?
        .map_err(|refusal| io::Error::new(io::ErrorKind::PermissionDenied, refusal))
}

fn store_error(action: &str, folder: &Path, error: io::Error) -> AuthError {
    AuthError::store(format!(
        "could not {action} in {}: {error}; check that the folder is writable by this user, or choose another folder for the store",
        folder.display()
    ))
}

#[async_trait]
impl CredentialStore for FileStore {
    async fn load(&self, identity: &Identity) -> Result<Option<Credential>, AuthError> {
        let store = self.clone();
        let identity = identity.clone();
        tokio::task::spawn_blocking(move || store.read(&identity))
            .await
            .unwrap_or(Ok(None))
    }

    async fn save(&self, identity: &Identity, credential: &Credential) -> Result<Saved, AuthError> {
        let store = self.clone();
        let identity = identity.clone();
        let credential = credential.clone();
        tokio::task::spawn_blocking(move || {
            store.with_lease_record(&identity, |_| {
                Ok((store.write_unless_older(&identity, &credential)?, None))
            })
        })
        .await
        .map_err(|_| AuthError::store("the writing task was cancelled"))?
        .map_err(|error| store_error("save a credential", &self.folder, error))
    }

    async fn save_under(
        &self,
        lock: &StoreLock,
        identity: &Identity,
        credential: &Credential,
    ) -> Result<Saved, AuthError> {
        let Some(lease) = lock.guard::<FileLease>() else {
            return self.save(identity, credential).await;
        };
        let store = self.clone();
        let identity = identity.clone();
        let credential = credential.clone();
        let holder = lease.holder;
        tokio::task::spawn_blocking(move || {
            store.save_under_blocking(&identity, holder, &credential)
        })
        .await
        .map_err(|_| AuthError::store("the writing task was cancelled"))?
        .map_err(|error| store_error("save a credential", &self.folder, error))
    }

    async fn remove(&self, identity: &Identity) -> Result<(), AuthError> {
        self.check_folder()?;
        match fs::remove_file(self.path_for(identity)) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(store_error("remove a credential", &self.folder, error)),
        }
    }

    async fn try_lock(&self, identity: &Identity) -> Result<LockAttempt, AuthError> {
        let store = self.clone();
        let id = identity.clone();
        let held = match tokio::task::spawn_blocking(move || store.try_lock_blocking(&id)).await {
            Ok(Ok(held)) => held,
            Ok(Err(error)) => {
                // An unwritable or unreadable folder: this store cannot coordinate anyone.
                return Ok(LockAttempt::Unavailable(store_error(
                    "lock",
                    &self.folder,
                    error,
                )));
            }
            Err(_) => return Err(AuthError::store("the locking task was cancelled")),
        };
        let Some(FileLeaseHeld { holder, flock }) = held else {
            return Ok(LockAttempt::Busy);
        };
        let renewal = {
            let store = self.clone();
            let identity = identity.clone();
            let every = self.lease / 3;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let store = store.clone();
                    let identity = identity.clone();
                    let renewed = tokio::task::spawn_blocking(move || {
                        store.renew_blocking(&identity, holder)
                    })
                    .await;
                    if !matches!(renewed, Ok(Ok(true))) {
                        tracing::warn!("lost the file store lock's lease");
                        return;
                    }
                }
            })
        };
        Ok(LockAttempt::Taken(StoreLock::new(FileLease {
            store: self.clone(),
            identity: identity.clone(),
            holder,
            _flock: flock,
            renewal,
        })))
    }

    fn lease(&self) -> Duration {
        self.lease
    }
}
