//! A process killed while it writes a credential file loses nothing (issue 8): a writer process
//! saves credential after credential into a `FileStore` as fast as it can and is killed with
//! SIGKILL at a random moment, again and again. After every kill the file loads, holds one of the
//! tokens written (never an older one than before the kill), and is owner-only; the temporary
//! files the kills left behind never load, and the next write deletes them once they are old.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use auth_core::store::{CredentialStore, FileStore, STALE_TEMPORARY_AGE};
use auth_core::{Credential, Identity, SecretString};
use secrecy::ExposeSecret;

/// Set in the writer process's environment: the folder it writes into.
const WRITER: &str = "PROPUSK_STORE_CRASH_WRITER";

/// How many times the writer is started and killed.
const KILLS: usize = 25;

fn identity() -> Identity {
    Identity::new("test", ["crash"])
}

fn token_number(credential: &Credential) -> u64 {
    let token = credential.token().expose_secret();
    token
        .strip_prefix("token-")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a token the writer wrote: {} bytes", token.len()))
}

/// The writer: returns at once in a normal run; with `WRITER` set, saves `token-<n>` for ever
/// larger `n`, starting past whatever the store holds, until it is killed.
#[tokio::test]
async fn crash_writer() {
    let Ok(folder) = std::env::var(WRITER) else {
        return;
    };
    let store = FileStore::new(folder);
    let identity = identity();
    let start = match store.load(&identity).await.unwrap() {
        Some(credential) => token_number(&credential) + 1,
        None => 1,
    };
    let expires_at = SystemTime::now() + Duration::from_secs(3600);
    for n in start.. {
        let credential = Credential::new(SecretString::from(format!("token-{n}")), expires_at)
            .with_extra("refresh", SecretString::from(format!("refresh-{n}")));
        store.save(&identity, &credential).await.unwrap();
    }
}

#[tokio::test]
async fn a_process_killed_while_writing_loses_nothing() {
    let folder = tempfile::tempdir().unwrap();
    let store = FileStore::new(folder.path());
    let identity = identity();
    let mut last = 0;
    let mut advanced = 0;
    for round in 0..KILLS {
        let mut writer = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_writer", "--test-threads=1", "--quiet"])
            .env(WRITER, folder.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the writer process");
        // Wait until the writer has saved at least once this round, then a little more.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(credential)) = store.load(&identity).await
                && token_number(&credential) > last
            {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "round {round}: the writer saved nothing in 20 s"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_micros(fastrand::u64(0..20_000))).await;
        writer.kill().expect("kill the writer");
        writer.wait().unwrap();

        let loaded = store
            .load(&identity)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("round {round}: the credential was lost"));
        let n = token_number(&loaded);
        assert!(n > last, "round {round}: token-{n} after token-{last}");
        assert_eq!(
            loaded
                .extra("refresh")
                .map(|r| r.expose_secret().to_owned()),
            Some(format!("refresh-{n}")),
            "round {round}: the token and its refresh token come from one write"
        );
        let mode = std::fs::metadata(store.path_for(&identity))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "round {round}");
        advanced += n - last;
        last = n;
    }
    assert!(advanced >= KILLS as u64);

    // The kills left temporary files behind (most runs: a third of the rounds). None is ever read
    // as the credential; once old, the next write deletes them.
    let temporaries = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(folder.path())
            .unwrap()
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "tmp"))
            .collect()
    };
    let leftovers = temporaries();
    let loaded = store.load(&identity).await.unwrap().unwrap();
    assert_eq!(token_number(&loaded), last, "{} leftovers", leftovers.len());
    let long_ago = SystemTime::now() - STALE_TEMPORARY_AGE - Duration::from_secs(1);
    for path in &leftovers {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(long_ago).unwrap();
    }
    let next = Credential::new(
        SecretString::from(format!("token-{}", last + 1)),
        SystemTime::now() + Duration::from_secs(3600),
    );
    store.save(&identity, &next).await.unwrap();
    assert!(temporaries().is_empty(), "{:?}", temporaries());
}

#[tokio::test]
async fn only_old_temporary_files_of_the_same_identity_are_deleted() {
    let folder = tempfile::tempdir().unwrap();
    let store = FileStore::new(folder.path());
    let identity = identity();
    let other = Identity::new("test", ["another"]);
    let long_ago = SystemTime::now() - STALE_TEMPORARY_AGE - Duration::from_secs(1);
    let make = |key: &str, n: u32, old: bool| {
        let path = folder.path().join(format!(".{key}.{n}.tmp"));
        std::fs::write(&path, b"{").unwrap();
        if old {
            let file = std::fs::File::options().write(true).open(&path).unwrap();
            file.set_modified(long_ago).unwrap();
        }
        path
    };
    let old_own = make(identity.storage_key(), 1, true);
    let young_own = make(identity.storage_key(), 2, false);
    let old_other = make(other.storage_key(), 3, true);
    let credential = Credential::new(
        SecretString::from("token-1"),
        SystemTime::now() + Duration::from_secs(3600),
    );
    store.save(&identity, &credential).await.unwrap();
    assert!(!old_own.exists(), "a crashed writer's old file stays");
    assert!(young_own.exists(), "a write in progress lost its file");
    assert!(old_other.exists(), "another identity's file was touched");
}
