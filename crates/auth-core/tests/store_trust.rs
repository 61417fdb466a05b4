//! The file store trusts its folder only when it is the user's own, and opens files without
//! trust: what another user could plant is ignored, never followed, never waited on.
#![cfg(unix)]

mod common;

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use auth_core::Identity;
use auth_core::store::{CredentialStore, FileStore, LockAttempt};
use common::{ScriptedSource, cache_over};
use secrecy::ExposeSecret;

fn identity() -> Identity {
    Identity::new("test", ["account"])
}

fn names_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A store folder holding one good credential (`token-1`), and the store.
async fn stocked() -> (tempfile::TempDir, FileStore) {
    let folder = tempfile::tempdir().unwrap();
    let store = FileStore::new(folder.path().join("cache"));
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(3600)));
    cache_over(&source, Arc::new(store.clone()))
        .get()
        .await
        .unwrap();
    (folder, store)
}

async fn assert_refused_untouched(store: &FileStore) {
    let before = names_in(store.folder());
    let error = store.check_folder().unwrap_err().to_string();
    let shown = store.folder().display().to_string();
    assert!(error.contains(&shown), "names the folder: {error}");
    assert!(
        error.contains(&format!("chmod 700 {shown}")),
        "says the fix: {error}"
    );
    assert!(store.load(&identity()).await.is_err(), "nothing is read");
    // A cache over it still authenticates, and writes nothing there.
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(3600)));
    let credential = cache_over(&source, Arc::new(store.clone()))
        .get()
        .await
        .unwrap();
    assert_eq!(
        credential.token().expose_secret(),
        "token-1",
        "a new login, not the file"
    );
    assert_eq!(source.calls(), 1);
    assert!(
        !matches!(store.try_lock(&identity()).await, Ok(LockAttempt::Taken(_))),
        "no lock file is made"
    );
    assert!(
        store.remove(&identity()).await.is_err(),
        "nothing is removed"
    );
    assert_eq!(
        names_in(store.folder()),
        before,
        "nothing written or deleted"
    );
}

#[tokio::test]
async fn a_folder_others_may_write_is_refused_and_left_alone() {
    let (_folder, store) = stocked().await;
    std::fs::set_permissions(store.folder(), std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_refused_untouched(&store).await;
    // The stored credential is still there for when the folder is fixed.
    std::fs::set_permissions(store.folder(), std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(store.load(&identity()).await.unwrap().is_some());
}

#[tokio::test]
async fn a_folder_of_another_user_is_refused() {
    if rustix_uid() != 0 {
        eprintln!("skipped: handing a folder to another uid needs root");
        return;
    }
    let (_folder, store) = stocked().await;
    chown(store.folder(), 4242);
    assert_refused_untouched(&store).await;
}

fn rustix_uid() -> u32 {
    auth_core::provider::private_fs::effective_uid()
}

fn chown(path: &Path, uid: u32) {
    let status = std::process::Command::new("chown")
        .arg(uid.to_string())
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Replaces the credential file with `plant`, then checks that a new cache ignores it (within
/// 10 s: nothing blocks), authenticates, and that the process did not balloon.
async fn assert_ignored(case: &str, plant: impl FnOnce(&Path)) {
    let (_folder, store) = stocked().await;
    let path = store.path_for(&identity());
    std::fs::remove_file(&path).unwrap();
    plant(&path);
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(3600)));
    let cache = cache_over(&source, Arc::new(store.clone()));
    let credential = tokio::time::timeout(Duration::from_secs(10), cache.get())
        .await
        .unwrap_or_else(|_| panic!("{case}: blocked"))
        .unwrap();
    assert_eq!(source.calls(), 1, "{case}: authenticated as if absent");
    assert_eq!(
        cache.store_hits(),
        0,
        "{case}: the planted file was not used"
    );
    assert_eq!(credential.token().expose_secret(), "token-1", "{case}");
}

#[tokio::test]
async fn a_symlink_to_dev_zero_is_not_followed() {
    assert_ignored("symlink", |path| symlink("/dev/zero", path).unwrap()).await;
}

#[tokio::test]
async fn a_symlink_to_a_good_file_is_not_followed() {
    assert_ignored("symlink to a credential", |path| {
        let elsewhere = path.with_extension("elsewhere");
        std::fs::write(
            &elsewhere,
            br#"{"format":1,"provider":"test","token":"planted","expires_at_ms":4102444800000}"#,
        )
        .unwrap();
        std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o600)).unwrap();
        symlink(&elsewhere, path).unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_fifo_is_not_waited_on() {
    assert_ignored("fifo", |path| {
        let status = std::process::Command::new("mkfifo")
            .args(["-m", "600"])
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success());
    })
    .await;
}

#[tokio::test]
async fn a_file_over_1_mib_is_not_read() {
    assert_ignored("large", |path| {
        let mut bytes = br#"{"format":1,"provider":"test","token":"planted","expires_at_ms":4102444800000,"x":""#.to_vec();
        bytes.resize(1024 * 1024 + 10, b'a');
        bytes.extend_from_slice(b"\"}");
        std::fs::write(path, bytes).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    })
    .await;
}

const PLANTED: &[u8] =
    br#"{"format":1,"provider":"test","token":"planted","expires_at_ms":4102444800000}"#;

#[tokio::test]
async fn a_group_readable_file_is_not_used() {
    assert_ignored("group-readable", |path| {
        std::fs::write(path, PLANTED).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o640)).unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_file_of_another_user_is_not_used() {
    if rustix_uid() != 0 {
        eprintln!("skipped: handing a file to another uid needs root");
        return;
    }
    assert_ignored("other owner", |path| {
        std::fs::write(path, PLANTED).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        chown(path, 4242);
    })
    .await;
}

#[tokio::test]
async fn a_fifo_or_symlink_as_lock_file_never_blocks() {
    for case in ["fifo", "symlink"] {
        let folder = tempfile::tempdir().unwrap();
        let store = FileStore::new(folder.path().join("cache"));
        std::fs::create_dir(store.folder()).unwrap();
        std::fs::set_permissions(store.folder(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let lock = store
            .folder()
            .join(format!("{}.lock", identity().storage_key()));
        if case == "fifo" {
            assert!(
                std::process::Command::new("mkfifo")
                    .arg(&lock)
                    .status()
                    .unwrap()
                    .success()
            );
        } else {
            symlink("/dev/zero", &lock).unwrap();
        }
        assert!(
            !matches!(store.try_lock(&identity()).await, Ok(LockAttempt::Taken(_))),
            "{case}: refused"
        );
        let source = Arc::new(ScriptedSource::new(Duration::from_secs(3600)));
        let cache = cache_over(&source, Arc::new(store.clone()));
        tokio::time::timeout(Duration::from_secs(10), cache.get())
            .await
            .unwrap_or_else(|_| panic!("{case}: blocked"))
            .unwrap();
        assert_eq!(source.calls(), 1, "{case}");
    }
}
