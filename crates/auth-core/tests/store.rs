//! File and memory stores: reuse across caches, atomic private files, broken files as absent.

mod common;

use std::sync::Arc;
use std::time::Duration;

use auth_core::Identity;
use auth_core::store::{CredentialStore, FileStore, MemoryStore};
use common::{ScriptedSource, cache_over};
use secrecy::ExposeSecret;

#[tokio::test]
async fn a_second_cache_on_the_same_folder_reuses_the_credential() {
    let folder = tempfile::tempdir().unwrap();
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(3600)));
    let first = cache_over(&source, Arc::new(FileStore::new(folder.path())));
    let token = first
        .get()
        .await
        .unwrap()
        .token()
        .expose_secret()
        .to_owned();

    let second = cache_over(&source, Arc::new(FileStore::new(folder.path())));
    let again = second.get().await.unwrap();
    assert_eq!(again.token().expose_secret(), token);
    assert_eq!(source.calls(), 1, "the provider was asked once");
    assert_eq!(second.store_hits(), 1);
    assert_eq!(again.extra("refresh").unwrap().expose_secret(), "refresh-1");
}

#[tokio::test]
async fn a_stored_credential_inside_its_margin_is_not_reused() {
    let folder = tempfile::tempdir().unwrap();
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(30)));
    cache_over(&source, Arc::new(FileStore::new(folder.path())))
        .get()
        .await
        .unwrap();
    let second = cache_over(&source, Arc::new(FileStore::new(folder.path())));
    second.get().await.unwrap();
    assert_eq!(source.calls(), 2);
    assert_eq!(
        source.seen_previous.lock().unwrap()[1].as_deref(),
        Some("refresh-1"),
        "the stored provider state was handed over for a refresh"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn files_are_private_named_by_hash_and_stay_private_across_rewrites() {
    use std::os::unix::fs::PermissionsExt;
    let folder = tempfile::tempdir().unwrap();
    let store_folder = folder.path().join("propusk");
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(3600)));
    let store = Arc::new(FileStore::new(&store_folder));
    let cache = cache_over(&source, store.clone());
    let credential = cache.get().await.unwrap();
    cache.invalidate(credential.generation());
    cache.get().await.unwrap();

    let mode = std::fs::metadata(&store_folder)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);
    let names: Vec<String> = std::fs::read_dir(&store_folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    for name in &names {
        assert!(
            !name.contains("token") && !name.contains("account"),
            "{name}"
        );
        let mode = std::fs::metadata(store_folder.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{name}");
        assert!(!name.ends_with(".tmp"), "no temporary file left: {name}");
    }
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("test-") && n.ends_with(".json"))
    );
}

#[tokio::test]
async fn truncated_corrupt_and_newer_files_are_treated_as_absent() {
    let folder = tempfile::tempdir().unwrap();
    let store = FileStore::new(folder.path());
    let identity = Identity::new("test", ["account"]);
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(3600)));
    cache_over(&source, Arc::new(store.clone()))
        .get()
        .await
        .unwrap();
    let path = store.path_for(&identity);
    let good = std::fs::read(&path).unwrap();

    for broken in [
        good[..good.len() / 2].to_vec(),
        b"\x00\xffnot json".to_vec(),
        String::from_utf8(good.clone()).unwrap().replace("\"format\":1", "\"format\":99").into_bytes(),
        br#"{"format":1,"provider":"other","token":"t","headers":[],"expires_at_ms":99999999999999}"#.to_vec(),
    ] {
        std::fs::write(&path, &broken).unwrap();
        assert!(store.load(&identity).await.unwrap().is_none());
    }
    // A cache over a broken file simply authenticates again.
    let calls = source.calls();
    cache_over(&source, Arc::new(store.clone()))
        .get()
        .await
        .unwrap();
    assert_eq!(source.calls(), calls + 1);
    assert!(
        store.load(&identity).await.unwrap().is_some(),
        "and repairs the file"
    );
}

#[tokio::test]
async fn a_leftover_temporary_file_from_a_crash_loses_nothing() {
    let folder = tempfile::tempdir().unwrap();
    let store = FileStore::new(folder.path());
    let identity = Identity::new("test", ["account"]);
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(3600)));
    cache_over(&source, Arc::new(store.clone()))
        .get()
        .await
        .unwrap();
    // A crash between write and rename leaves a temporary file beside the real one.
    std::fs::write(
        folder
            .path()
            .join(format!(".{}.123.tmp", identity.storage_key())),
        b"{\"format\":1,",
    )
    .unwrap();
    let loaded = store.load(&identity).await.unwrap().unwrap();
    assert_eq!(loaded.token().expose_secret(), "token-1");
}

#[tokio::test]
async fn the_memory_store_round_trips_and_removes() {
    let store = MemoryStore::new();
    let identity = Identity::new("test", ["account"]);
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(3600)));
    let store = Arc::new(store);
    let token = cache_over(&source, store.clone()).get().await.unwrap();
    let loaded = store.load(&identity).await.unwrap().unwrap();
    assert!(loaded.same_token(&token));
    assert!(
        loaded.headers().is_empty(),
        "a store keeps data, not headers"
    );
    // A cache rebuilds the headers with its source.
    let restored = cache_over(&source, store.clone()).get().await.unwrap();
    assert_eq!(restored.headers()["authorization"], "Bearer token-1");
    assert!(restored.headers()["authorization"].is_sensitive());
    assert_eq!(source.calls(), 1);
    store.remove(&identity).await.unwrap();
    assert!(store.is_empty());
}

#[test]
fn identity_debug_and_keys_hide_the_parts() {
    let identity = Identity::new(
        "kontur",
        ["https://edi-api.kontur.ru/", "Secret-Client-Id", "login"],
    );
    assert!(!format!("{identity:?} {identity}").contains("Secret-Client-Id"));
    assert!(!identity.storage_key().contains("Secret"));
    assert_eq!(identity.storage_key().len(), "kontur-".len() + 32);
}
