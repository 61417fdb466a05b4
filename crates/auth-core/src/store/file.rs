//! A store of one JSON file per identity in a private folder.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{CredentialStore, PersistedCredential, StoreLock};
use crate::{AuthError, Credential, Identity, private_fs};

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
/// - [`lock`](CredentialStore::lock) takes an advisory lock on `<key>.lock`, so processes sharing
///   the folder acquire one at a time.
/// - File names carry only the hash of the non-secret identity.
#[derive(Debug, Clone)]
pub struct FileStore {
    folder: PathBuf,
}

impl FileStore {
    /// A store in `folder` (created on first write).
    pub fn new(folder: impl Into<PathBuf>) -> Self {
        Self {
            folder: folder.into(),
        }
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
        "could not {action} in {}: {error}; check that the folder is writable by this user, or choose another with --cache-dir / PROPUSK_CACHE_DIR",
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

    async fn save(&self, identity: &Identity, credential: &Credential) -> Result<(), AuthError> {
        let store = self.clone();
        let identity = identity.clone();
        let credential = credential.clone();
        tokio::task::spawn_blocking(move || store.write(&identity, &credential))
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

    async fn lock(&self, identity: &Identity) -> Result<StoreLock, AuthError> {
        let folder = self.folder.clone();
        let path = folder.join(format!("{}.lock", identity.storage_key()));
        let locked = tokio::task::spawn_blocking(move || -> io::Result<File> {
            create_private_folder(&folder)?;
            // Never a symbolic link followed or a FIFO waited on (see `private_fs`).
            let file = private_fs::open_lock_file(&path).map_err(|problem| {
                io::Error::other(format!(
                    "the lock file {} is ignored: {problem}",
                    path.display()
                ))
            })?;
            file.lock()?;
            Ok(file)
        })
        .await
        .map_err(|_| AuthError::store("the locking task was cancelled"))?
        .map_err(|error| store_error("lock", &self.folder, error))?;
        // Closing the file releases the advisory lock.
        Ok(StoreLock::new(locked))
    }
}
