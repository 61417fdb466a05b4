//! A store of one JSON file per identity in a private folder.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{CredentialStore, PersistedCredential, StoreLock};
use crate::{AuthError, Credential, Identity};

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

    fn read(&self, identity: &Identity) -> Option<Credential> {
        let path = self.path_for(identity);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return None,
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "credential file unreadable; treated as absent");
                return None;
            }
        };
        let parsed = serde_json::from_slice::<PersistedCredential>(&bytes)
            .map_err(|error| format!("not valid credential JSON ({})", error.classify_name()))
            .and_then(|entry| entry.into_credential(identity.provider()));
        match parsed {
            Ok(credential) => Some(credential),
            Err(problem) => {
                tracing::warn!(path = %path.display(), %problem, "credential file unusable; treated as absent");
                None
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
            let mut file = private_file_options().open(&temporary)?;
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

fn create_private_folder(folder: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(folder)
}

fn private_file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
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
        Ok(tokio::task::spawn_blocking(move || store.read(&identity))
            .await
            .unwrap_or(None))
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
            let mut options = OpenOptions::new();
            options.read(true).write(true).create(true).truncate(false);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let file = options.open(&path)?;
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
