//! A [`WebhookStore`] in a private folder, so users, tokens and applied events survive a
//! restart of the receiver.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth_core::AuthError;
use auth_core::provider::private_fs;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::TokenDigest;
use super::store::{State, UserTokenRecord, WebhookStore};
use crate::UserId;
use crate::tokens::CloudTokenStore;

/// The format version this build writes; a file with a higher one is refused, not overwritten.
pub const FORMAT_VERSION: u32 = 1;

/// Registered users and user-token digests.
pub const USERS_FILE: &str = "evotor-users.json";
/// Cloud tokens by user id (secrets: owner-only).
pub const CLOUD_TOKENS_FILE: &str = "evotor-cloud-tokens.json";
/// Keys of applied events with the time they were applied.
pub const EVENTS_FILE: &str = "evotor-events.json";
/// The lock file a receiver holds (exclusively) while it has the folder open.
pub const LOCK_FILE: &str = "evotor-receiver.lock";

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct UsersFile {
    format: u32,
    users: Vec<UserId>,
    user_tokens: BTreeMap<String, UserTokenRecord>,
}

#[derive(Serialize, Deserialize, Default)]
struct CloudTokensFile {
    format: u32,
    tokens: BTreeMap<UserId, String>,
}

#[derive(Serialize, Deserialize, Default)]
struct EventsFile {
    format: u32,
    events: BTreeMap<String, u64>,
}

trait Versioned {
    fn format(&self) -> u32;
}

impl Versioned for UsersFile {
    fn format(&self) -> u32 {
        self.format
    }
}

impl Versioned for CloudTokensFile {
    fn format(&self) -> u32 {
        self.format
    }
}

impl Versioned for EventsFile {
    fn format(&self) -> u32 {
        self.format
    }
}

/// Keeps the receiver's state in three JSON files in one folder:
/// [`USERS_FILE`], [`CLOUD_TOKENS_FILE`] and [`EVENTS_FILE`].
///
/// - The folder is created owner-only (0700), the files owner-only (0600) on Unix.
/// - Every change is written to a temporary file in the same folder, flushed and renamed over
///   the old one, so a crash leaves the old state or the new, never half of one.
/// - User tokens are stored as SHA-256 digests only; Cloud tokens as they must be sent.
/// - A damaged file, or one a newer version wrote, stops [`open`](Self::open) with an error
///   naming the file: this is the receiver's record of its users, not a cache to drop.
/// - One receiver writes a folder: [`open`](Self::open) takes an exclusive lock on
///   [`LOCK_FILE`] (held until the last clone is dropped), so a second receiver on the same
///   folder fails at start instead of overwriting the first one's users. Several receivers
///   share state through a database instead (feature `postgres`). Other processes read Cloud
///   tokens from the folder with [`FileCloudTokens`], which takes no lock.
/// - Event keys older than the retention (7 days by default) are dropped as new ones arrive.
#[derive(Clone)]
pub struct FileWebhookStore {
    folder: PathBuf,
    state: Arc<tokio::sync::Mutex<State>>,
    _lock: Arc<File>,
}

impl FileWebhookStore {
    /// Opens (or starts) the store in `folder`, locking it for this receiver. Fails, naming the
    /// folder, when another receiver holds it.
    pub fn open(folder: impl Into<PathBuf>) -> Result<Self, AuthError> {
        let folder = folder.into();
        private_fs::create_folder(&folder)
            .map_err(|error| store_error("create the store folder", &folder, error))?
            .map_err(|refusal| AuthError::store(refusal.to_string()))?;
        let lock = lock_folder(&folder)?;
        let users: UsersFile = read_file(&folder, USERS_FILE)?.unwrap_or_default();
        let cloud: CloudTokensFile = read_file(&folder, CLOUD_TOKENS_FILE)?.unwrap_or_default();
        let events: EventsFile = read_file(&folder, EVENTS_FILE)?.unwrap_or_default();
        let mut state = State {
            users: users.users.into_iter().collect(),
            ..State::default()
        };
        for (hex, record) in users.user_tokens {
            let digest = TokenDigest::from_hex(&hex).ok_or_else(|| {
                AuthError::store(format!(
                    "{} holds a user-token digest that is not 64 hex digits; the file is damaged",
                    folder.join(USERS_FILE).display()
                ))
            })?;
            state.user_tokens.insert(digest, record);
        }
        state.cloud_tokens = cloud
            .tokens
            .into_iter()
            .map(|(user, token)| (user, SecretString::from(token)))
            .collect();
        state.events = events.events;
        Ok(Self {
            folder,
            state: Arc::new(tokio::sync::Mutex::new(state)),
            _lock: Arc::new(lock),
        })
    }

    /// The folder it keeps its files in.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    async fn write<T: Serialize>(&self, name: &'static str, value: &T) -> Result<(), AuthError> {
        let bytes = serde_json::to_vec_pretty(value)
            .map_err(|error| AuthError::store(format!("could not encode {name}: {error}")))?;
        let folder = self.folder.clone();
        tokio::task::spawn_blocking(move || atomic_write(&folder, name, &bytes))
            .await
            .map_err(|_| AuthError::store("the writing task was cancelled"))?
            .map_err(|error| store_error(&format!("write {name}"), &self.folder, error))
    }

    async fn write_users(&self, state: &State) -> Result<(), AuthError> {
        let file = UsersFile {
            format: FORMAT_VERSION,
            users: state.users.iter().cloned().collect(),
            user_tokens: state
                .user_tokens
                .iter()
                .map(|(digest, record)| (digest.to_hex(), record.clone()))
                .collect(),
        };
        self.write(USERS_FILE, &file).await
    }

    async fn write_cloud_tokens(&self, state: &State) -> Result<(), AuthError> {
        let file = CloudTokensFile {
            format: FORMAT_VERSION,
            tokens: state
                .cloud_tokens
                .iter()
                .map(|(user, token)| (user.clone(), token.expose_secret().to_owned()))
                .collect(),
        };
        self.write(CLOUD_TOKENS_FILE, &file).await
    }

    async fn write_events(&self, state: &State) -> Result<(), AuthError> {
        let file = EventsFile {
            format: FORMAT_VERSION,
            events: state.events.clone(),
        };
        self.write(EVENTS_FILE, &file).await
    }
}

impl fmt::Debug for FileWebhookStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileWebhookStore")
            .field("folder", &self.folder)
            .finish_non_exhaustive()
    }
}

/// Reads the latest Cloud token from [`CLOUD_TOKENS_FILE`] in `folder`, each time.
async fn read_cloud_token(
    folder: &Path,
    user_id: &UserId,
) -> Result<Option<SecretString>, AuthError> {
    let folder = folder.to_owned();
    let file = tokio::task::spawn_blocking(move || {
        read_file::<CloudTokensFile>(&folder, CLOUD_TOKENS_FILE)
    })
    .await
    .map_err(|_| AuthError::store("the reading task was cancelled"))??;
    Ok(file.and_then(|mut file| file.tokens.remove(user_id).map(SecretString::from)))
}

/// The Cloud tokens a receiver's [`FileWebhookStore`] keeps, read by another process (the
/// client side, [`crate::EvotorSource`]): no lock, the file is read on every call, writing is
/// refused (only the receiver writes).
#[derive(Debug, Clone)]
pub struct FileCloudTokens {
    folder: PathBuf,
}

impl FileCloudTokens {
    /// Reads from the receiver's `folder`.
    pub fn open(folder: impl Into<PathBuf>) -> Self {
        Self {
            folder: folder.into(),
        }
    }
}

#[async_trait]
impl CloudTokenStore for FileCloudTokens {
    async fn cloud_token(&self, user_id: &UserId) -> Result<Option<SecretString>, AuthError> {
        read_cloud_token(&self.folder, user_id).await
    }

    async fn save_cloud_token(
        &self,
        _user_id: &UserId,
        _token: SecretString,
    ) -> Result<(), AuthError> {
        Err(AuthError::store(
            "the Cloud tokens of a receiver's folder are written by the receiver only",
        ))
    }
}

#[async_trait]
impl CloudTokenStore for FileWebhookStore {
    async fn cloud_token(&self, user_id: &UserId) -> Result<Option<SecretString>, AuthError> {
        read_cloud_token(&self.folder, user_id).await
    }

    async fn save_cloud_token(
        &self,
        user_id: &UserId,
        token: SecretString,
    ) -> Result<(), AuthError> {
        let mut state = self.state.lock().await;
        let previous = state.cloud_tokens.insert(user_id.clone(), token);
        let result = self.write_cloud_tokens(&state).await;
        if result.is_err() {
            match previous {
                Some(previous) => state.cloud_tokens.insert(user_id.clone(), previous),
                None => state.cloud_tokens.remove(user_id),
            };
        }
        result
    }
}

#[async_trait]
impl WebhookStore for FileWebhookStore {
    async fn register_user(&self, user_id: &UserId) -> Result<bool, AuthError> {
        let mut state = self.state.lock().await;
        if !state.users.insert(user_id.clone()) {
            return Ok(false);
        }
        if let Err(error) = self.write_users(&state).await {
            state.users.remove(user_id);
            return Err(error);
        }
        Ok(true)
    }

    async fn is_registered(&self, user_id: &UserId) -> Result<bool, AuthError> {
        Ok(self.state.lock().await.users.contains(user_id))
    }

    async fn save_user_token(
        &self,
        digest: &TokenDigest,
        record: UserTokenRecord,
    ) -> Result<(), AuthError> {
        let mut state = self.state.lock().await;
        let previous = state.user_tokens.insert(*digest, record);
        let result = self.write_users(&state).await;
        if result.is_err() {
            match previous {
                Some(previous) => state.user_tokens.insert(*digest, previous),
                None => state.user_tokens.remove(digest),
            };
        }
        result
    }

    async fn replace_user_tokens(
        &self,
        digest: &TokenDigest,
        record: UserTokenRecord,
    ) -> Result<(), AuthError> {
        let mut state = self.state.lock().await;
        let before = state.user_tokens.clone();
        state.replace_user_tokens(*digest, record);
        if let Err(error) = self.write_users(&state).await {
            state.user_tokens = before;
            return Err(error);
        }
        Ok(())
    }

    async fn find_user_token(
        &self,
        digest: &TokenDigest,
    ) -> Result<Option<UserTokenRecord>, AuthError> {
        Ok(self.state.lock().await.user_tokens.get(digest).cloned())
    }

    async fn revoke_user_token(&self, digest: &TokenDigest) -> Result<bool, AuthError> {
        let mut state = self.state.lock().await;
        let Some(removed) = state.user_tokens.remove(digest) else {
            return Ok(false);
        };
        if let Err(error) = self.write_users(&state).await {
            state.user_tokens.insert(*digest, removed);
            return Err(error);
        }
        Ok(true)
    }

    async fn revoke_user_tokens(&self, user_id: &UserId) -> Result<usize, AuthError> {
        let mut state = self.state.lock().await;
        let before = state.user_tokens.clone();
        let revoked = state.revoke_user(user_id);
        if revoked == 0 {
            return Ok(0);
        }
        if let Err(error) = self.write_users(&state).await {
            state.user_tokens = before;
            return Err(error);
        }
        Ok(revoked)
    }

    async fn event_applied(&self, key: &str) -> Result<bool, AuthError> {
        Ok(self.state.lock().await.events.contains_key(key))
    }

    async fn mark_event_applied(
        &self,
        key: &str,
        now_ms: u64,
        retention: Duration,
    ) -> Result<(), AuthError> {
        let mut state = self.state.lock().await;
        let before = state.events.clone();
        state.mark_event(key, now_ms, retention);
        if let Err(error) = self.write_events(&state).await {
            state.events = before;
            return Err(error);
        }
        Ok(())
    }
}

/// Opens [`LOCK_FILE`] and takes an exclusive lock on it without waiting.
fn lock_folder(folder: &Path) -> Result<File, AuthError> {
    let path = folder.join(LOCK_FILE);
    // Owner-only, created when absent, never truncated, never through a symbolic link, never
    // waiting on a FIFO.
    let file = private_fs::open_lock_file(&path).map_err(|problem| {
        store_error(
            &format!("open {LOCK_FILE}"),
            folder,
            io::Error::other(problem.to_string()),
        )
    })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(AuthError::store(format!(
            "another receiver is using the store folder {}; stop it, or give this one another folder, or share one PostgreSQL store between them (PostgresWebhookStore, feature postgres)",
            folder.display()
        ))),
        Err(fs::TryLockError::Error(error)) => {
            Err(store_error("lock the store folder", folder, error))
        }
    }
}

fn read_file<T: DeserializeOwned + Versioned>(
    folder: &Path,
    name: &str,
) -> Result<Option<T>, AuthError> {
    let path = folder.join(name);
    // Opened without trust: a receiver that believed a planted file would accept forged
    // user tokens. Such a file is refused (never ignored: that would lose every user).
    let bytes = match private_fs::read_file(&path, private_fs::MAX_FILE_BYTES) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(None),
        Err(problem) => {
            return Err(AuthError::store(format!(
                "{} is refused: {problem}; the receiver's files must be regular files of this user, mode 0600 (if you did not put it there, someone else may have: move it away and check the folder)",
                path.display()
            )));
        }
    };
    let value: T = serde_json::from_slice(&bytes).map_err(|error| {
        AuthError::store(format!(
            "{} is damaged (line {}, column {}); restore it from a backup or move it away to start over",
            path.display(),
            error.line(),
            error.column()
        ))
    })?;
    if value.format() > FORMAT_VERSION {
        return Err(AuthError::store(format!(
            "{} was written by a newer version of evotor-auth (format {}, this build reads {FORMAT_VERSION})",
            path.display(),
            value.format()
        )));
    }
    Ok(Some(value))
}

fn atomic_write(folder: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    private_fs::create_folder(folder)?
        .map_err(|refusal| io::Error::new(io::ErrorKind::PermissionDenied, refusal))?;
    let target = folder.join(name);
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|error| io::Error::other(error.to_string()))?;
    let temporary = folder.join(format!(".{name}.{}.tmp", u64::from_le_bytes(random)));
    let result = (|| {
        let mut file = private_fs::new_file_options().open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, &target)?;
        if let Ok(folder) = File::open(folder) {
            let _ = folder.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}

fn store_error(action: &str, folder: &Path, error: io::Error) -> AuthError {
    AuthError::store(format!(
        "could not {action} in {}: {error}; check that the folder is writable by this user, or choose another folder for the store",
        folder.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserId {
        UserId::parse("01-000000000000001").unwrap()
    }

    #[tokio::test]
    async fn state_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let digest = TokenDigest::of("toaWaep4chou7ahkoogiu9Iusaht9ima");
        {
            let store = FileWebhookStore::open(dir.path()).unwrap();
            assert!(store.register_user(&user()).await.unwrap());
            store
                .save_user_token(
                    &digest,
                    UserTokenRecord {
                        user_id: user(),
                        issued_at_ms: 5,
                    },
                )
                .await
                .unwrap();
            store
                .save_cloud_token(&user(), SecretString::from("f46b89a5-cloud"))
                .await
                .unwrap();
            store
                .mark_event_applied("installation:1", 10, Duration::from_secs(60))
                .await
                .unwrap();
        }
        let store = FileWebhookStore::open(dir.path()).unwrap();
        assert!(!store.register_user(&user()).await.unwrap());
        assert_eq!(
            store
                .find_user_token(&digest)
                .await
                .unwrap()
                .unwrap()
                .issued_at_ms,
            5
        );
        assert_eq!(
            store
                .cloud_token(&user())
                .await
                .unwrap()
                .unwrap()
                .expose_secret(),
            "f46b89a5-cloud"
        );
        assert!(store.event_applied("installation:1").await.unwrap());
        let users = fs::read_to_string(dir.path().join(USERS_FILE)).unwrap();
        assert!(
            !users.contains("toaWaep4"),
            "user tokens are stored as digests only"
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("store");
        let store = FileWebhookStore::open(&folder).unwrap();
        store
            .save_cloud_token(&user(), SecretString::from("t"))
            .await
            .unwrap();
        let mode = fs::metadata(folder.join(CLOUD_TOKENS_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let mode = fs::metadata(&folder).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let leftovers: Vec<_> = fs::read_dir(&folder)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    /// A planted users file (a forged token's digest in it) must never be believed: another
    /// user's file, a symbolic link to one, a file others may write, or a folder others may
    /// write each stop `open` with the path in the message, and nothing in the folder changes.
    #[cfg(unix)]
    #[tokio::test]
    async fn planted_files_and_foreign_folders_are_refused() {
        use std::os::unix::fs::{PermissionsExt, symlink};
        // What an attacker would plant: a genuine users file holding a token of theirs.
        let planted = {
            let dir = tempfile::tempdir().unwrap();
            let store = FileWebhookStore::open(dir.path()).unwrap();
            store.register_user(&user()).await.unwrap();
            let record = UserTokenRecord {
                user_id: user(),
                issued_at_ms: 1,
            };
            let forged = TokenDigest::of("forged-by-another-user");
            store.save_user_token(&forged, record).await.unwrap();
            fs::read(dir.path().join(USERS_FILE)).unwrap()
        };
        let root = private_fs::effective_uid() == 0;
        let mut cases = vec!["symlink", "group-writable", "folder-0777"];
        if root {
            cases.push("other-owner");
        }
        for case in cases {
            let dir = tempfile::tempdir().unwrap();
            let folder = dir.path().join("store");
            fs::create_dir(&folder).unwrap();
            fs::set_permissions(&folder, fs::Permissions::from_mode(0o700)).unwrap();
            let users = folder.join(USERS_FILE);
            match case {
                "symlink" => {
                    let elsewhere = dir.path().join("attacker.json");
                    fs::write(&elsewhere, &planted).unwrap();
                    fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o600)).unwrap();
                    symlink(&elsewhere, &users).unwrap();
                }
                "group-writable" => {
                    fs::write(&users, &planted).unwrap();
                    fs::set_permissions(&users, fs::Permissions::from_mode(0o620)).unwrap();
                }
                "folder-0777" => {
                    fs::write(&users, &planted).unwrap();
                    fs::set_permissions(&users, fs::Permissions::from_mode(0o600)).unwrap();
                    fs::set_permissions(&folder, fs::Permissions::from_mode(0o777)).unwrap();
                }
                _ => {
                    fs::write(&users, &planted).unwrap();
                    fs::set_permissions(&users, fs::Permissions::from_mode(0o600)).unwrap();
                    chown(&users, 4242);
                }
            }
            let before = names_in(&folder);
            let message = FileWebhookStore::open(&folder)
                .map(|_| ())
                .expect_err(case)
                .to_string();
            assert!(
                message.contains(&folder.display().to_string()),
                "{case}: {message}"
            );
            let after: Vec<String> = names_in(&folder)
                .into_iter()
                .filter(|name| name != LOCK_FILE)
                .collect();
            assert_eq!(
                after, before,
                "{case}: nothing written but the receiver's lock"
            );
        }
    }

    /// Hands `path` to user `uid` (needs root). Not by running `chown`: a child process
    /// forked while another test holds a receiver's folder lock would share that lock until
    /// it execs, and that test's reopening would see the folder as taken.
    #[cfg(unix)]
    fn chown(path: &Path, uid: u32) {
        std::os::unix::fs::chown(path, Some(uid), None).unwrap();
    }

    /// Writes `bytes` to `path`, mode 0600 (the receiver refuses files others may read).
    fn write_private(path: &Path, bytes: &[u8]) {
        fs::write(path, bytes).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
        }
    }

    fn names_in(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(folder)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn a_damaged_file_stops_open_and_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        write_private(&dir.path().join(USERS_FILE), b"{\"format\":1,");
        let message = FileWebhookStore::open(dir.path()).unwrap_err().to_string();
        assert!(message.contains(USERS_FILE), "{message}");
        write_private(
            &dir.path().join(USERS_FILE),
            br#"{"format":9,"users":[],"userTokens":{}}"#,
        );
        let message = FileWebhookStore::open(dir.path()).unwrap_err().to_string();
        assert!(message.contains("newer"), "{message}");
    }

    #[tokio::test]
    async fn a_second_receiver_on_the_folder_is_refused_until_the_first_closes() {
        let dir = tempfile::tempdir().unwrap();
        let first = FileWebhookStore::open(dir.path()).unwrap();
        let clone = first.clone();
        drop(first);
        let message = FileWebhookStore::open(dir.path()).unwrap_err().to_string();
        assert!(message.contains("another receiver"), "{message}");
        assert!(
            message.contains(&dir.path().display().to_string()),
            "{message}"
        );
        drop(clone);
        FileWebhookStore::open(dir.path()).expect("free again once the first is gone");
    }

    #[tokio::test]
    async fn another_process_sees_new_cloud_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let writer = FileWebhookStore::open(dir.path()).unwrap();
        let reader = FileCloudTokens::open(dir.path());
        assert!(reader.cloud_token(&user()).await.unwrap().is_none());
        writer
            .save_cloud_token(&user(), SecretString::from("t2"))
            .await
            .unwrap();
        assert_eq!(
            reader
                .cloud_token(&user())
                .await
                .unwrap()
                .unwrap()
                .expose_secret(),
            "t2"
        );
    }
}
