//! A refresh token rotated in one process is what the next process starting on the same store
//! uses. Each "process" is its own source, cache and `FileStore` over one folder, sharing
//! nothing in memory.

use std::sync::Arc;

use auth_core::store::{CredentialStore, FileStore};
use auth_core::{CredentialCache, CredentialSource, ExposeSecret};
use waves_auth::testkit::WavesEmulator;
use waves_auth::{REFRESH_TOKEN_EXTRA, WavesSource};

fn process(emulator: &WavesEmulator, folder: &std::path::Path) -> CredentialCache {
    WavesSource::new(emulator.config())
        .into_cache_builder()
        .store(Arc::new(FileStore::new(folder)))
        .build()
}

async fn stored_refresh_token(emulator: &WavesEmulator, folder: &std::path::Path) -> String {
    let identity = WavesSource::new(emulator.config()).identity().clone();
    let stored = FileStore::new(folder)
        .load(&identity)
        .await
        .unwrap()
        .expect("a stored credential");
    stored
        .extra(REFRESH_TOKEN_EXTRA)
        .expect("the refresh token is stored with the access token")
        .expose_secret()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_process_uses_the_refresh_token_the_last_one_rotated() {
    let emulator = WavesEmulator::start().await;
    let folder = tempfile::tempdir().unwrap();
    emulator.set_access_lifetime(-60); // every token is expired on arrival

    // Process 1 logs in, then its token expires and it refreshes: r1 is spent, r2 stored.
    let first = process(&emulator, folder.path());
    let login = first.get().await.unwrap();
    let r1 = login
        .extra(REFRESH_TOKEN_EXTRA)
        .unwrap()
        .expose_secret()
        .to_owned();
    assert_eq!(stored_refresh_token(&emulator, folder.path()).await, r1);
    first.invalidate(login.generation());
    let refreshed = first.get().await.unwrap();
    let r2 = refreshed
        .extra(REFRESH_TOKEN_EXTRA)
        .unwrap()
        .expose_secret()
        .to_owned();
    assert_ne!(r1, r2);
    assert_eq!(
        stored_refresh_token(&emulator, folder.path()).await,
        r2,
        "the rotated refresh token replaced the old one in the store at once"
    );
    assert_eq!((emulator.logins(), emulator.refreshes()), (1, 1));
    drop(first);

    // Process 2 starts on the same folder, finds the expired token and refreshes with r2.
    emulator.set_access_lifetime(300);
    let second = process(&emulator, folder.path());
    let credential = second.get().await.unwrap();
    assert!(!credential.same_token(&refreshed));
    assert_eq!(emulator.refreshes(), 2, "process 2 refreshed");
    assert_eq!(emulator.logins(), 1, "without logging in");
    assert_eq!(
        emulator.refresh_reuses(),
        0,
        "with r2: the emulator saw no spent token presented again"
    );
    let r3 = stored_refresh_token(&emulator, folder.path()).await;
    assert!(r3 != r1 && r3 != r2);

    // Process 3 starts while process 2's token is still good: it takes it from the store.
    let third = process(&emulator, folder.path());
    let reused = third.get().await.unwrap();
    assert!(reused.same_token(&credential));
    assert_eq!(third.store_hits(), 1);
    assert_eq!((emulator.logins(), emulator.refreshes()), (1, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_live_processes_on_one_store_never_spend_a_refresh_token_twice() {
    let emulator = WavesEmulator::start().await;
    let folder = tempfile::tempdir().unwrap();
    let a = process(&emulator, folder.path());
    let b = process(&emulator, folder.path());

    // A logs in; B starts and takes A's credential (and its refresh token r1) from the store.
    let a1 = a.get().await.unwrap();
    let b1 = b.get().await.unwrap();
    assert!(b1.same_token(&a1));
    assert_eq!(emulator.logins(), 1);

    // Both hold r1 in memory. Each round, one process's token is rejected and it refreshes;
    // then the other's is rejected too, and it must take the rotated pair from the store
    // rather than spend the refresh token the first one already spent.
    let mut a_current = a1;
    let mut b_current = b1;
    for round in 0..6 {
        if round % 2 == 0 {
            a.invalidate(a_current.generation());
            a_current = a.get().await.unwrap();
            b.invalidate(b_current.generation());
            b_current = b.get().await.unwrap();
        } else {
            b.invalidate(b_current.generation());
            b_current = b.get().await.unwrap();
            a.invalidate(a_current.generation());
            a_current = a.get().await.unwrap();
        }
        assert!(a_current.same_token(&b_current), "round {round}");
    }
    assert_eq!(emulator.logins(), 1);
    assert_eq!(emulator.refreshes(), 6, "one refresh a round");
    assert_eq!(
        emulator.refresh_reuses(),
        0,
        "a process whose refresh token was rotated by the other took the newer one from the store"
    );
    assert_eq!(a.acquisitions(), 4, "A: the login and three refreshes");
    assert_eq!(b.acquisitions(), 3, "B: three refreshes");
    assert_eq!(b.store_hits(), 4, "B: A's login and A's three rotations");
}
