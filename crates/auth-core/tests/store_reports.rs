//! Store robustness (issue 8), beyond `store.rs`: a truncated, corrupt, foreign, unreadable or
//! newer credential file is treated as absent *and reported* through `tracing` (a warning that
//! names the file and the reason, never the token); a file whose mode was loosened is owner-only
//! again after the next write; a crash before the first rename leaves nothing that loads.
//!
//! `FileStore` reads on Tokio's blocking threads, so the capturing subscriber is the process's
//! global one; each test looks only at lines naming its own temporary folder.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use auth_core::Identity;
use auth_core::store::{CredentialStore, FileStore};
use common::{ScriptedSource, cache_over};
use secrecy::ExposeSecret;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything logged by this test binary, at every level.
fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing::subscriber::set_global_default(
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish(),
        )
        .expect("no other global subscriber in this test binary");
        captured
    })
}

/// The captured lines that mention `needle`.
fn lines_with(needle: &str) -> Vec<String> {
    let bytes = logs().0.lock().unwrap().clone();
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|line| line.contains(needle))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_files_are_reported_as_warnings_naming_the_file_and_the_reason() {
    logs();
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
    let text = String::from_utf8(good.clone()).unwrap();
    assert!(text.contains("token-1"), "the file holds the token: {text}");

    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("truncated", good[..good.len() / 2].to_vec(), "truncated"),
        ("corrupt", b"\x00\xffnot json".to_vec(), "syntax error"),
        (
            "wrong types",
            br#"{"format":1,"provider":"test","token":5,"headers":[],"expires_at_ms":1}"#.to_vec(),
            "missing or wrong-typed field",
        ),
        (
            "newer",
            text.replace("\"format\":1", "\"format\":99").into_bytes(),
            "newer propusk",
        ),
        (
            "foreign",
            text.replace("\"provider\":\"test\"", "\"provider\":\"other\"")
                .into_bytes(),
            "belongs to provider `other`",
        ),
    ];
    let shown_path = path.display().to_string();
    for (case, bytes, reason) in cases {
        let before = lines_with(&shown_path).len();
        std::fs::write(&path, &bytes).unwrap();
        assert!(
            store.load(&identity).await.unwrap().is_none(),
            "{case}: treated as absent"
        );
        let reported = lines_with(&shown_path);
        assert_eq!(
            reported.len(),
            before + 1,
            "{case}: one report: {reported:?}"
        );
        let line = reported.last().unwrap();
        assert!(line.contains("WARN"), "{case}: {line}");
        assert!(line.contains("treated as absent"), "{case}: {line}");
        assert!(line.contains(reason), "{case}: says why: {line}");
        assert!(
            !line.contains("token-1"),
            "{case}: the token was logged: {line}"
        );
    }

    // Unreadable (here: a folder where the file should be) is reported too.
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    assert!(store.load(&identity).await.unwrap().is_none());
    let line = lines_with(&shown_path).pop().unwrap();
    assert!(
        line.contains("WARN") && line.contains("ignored") && line.contains("not a regular file"),
        "{line}"
    );

    // A missing file is simply absent: nothing to report.
    std::fs::remove_dir(&path).unwrap();
    let before = lines_with(&shown_path).len();
    assert!(store.load(&identity).await.unwrap().is_none());
    assert_eq!(lines_with(&shown_path).len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_over_a_broken_file_reports_it_authenticates_again_and_repairs_it() {
    logs();
    let folder = tempfile::tempdir().unwrap();
    let store = FileStore::new(folder.path());
    let identity = Identity::new("test", ["account"]);
    std::fs::write(
        store.path_for(&identity),
        b"{\"format\":1,\"provider\":\"te",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let private = std::fs::Permissions::from_mode(0o600);
        std::fs::set_permissions(store.path_for(&identity), private).unwrap();
    }
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(3600)));
    let credential = cache_over(&source, Arc::new(store.clone()))
        .get()
        .await
        .unwrap();
    assert_eq!(source.calls(), 1);
    let reported = lines_with(&store.path_for(&identity).display().to_string());
    // Once per read: the read before any lock, and the read under the lock.
    assert!((1..=2).contains(&reported.len()), "{reported:?}");
    assert!(
        reported.iter().all(|line| line.contains("truncated")),
        "{reported:?}"
    );
    let repaired = store.load(&identity).await.unwrap().unwrap();
    assert!(repaired.same_token(&credential));
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loosened_file_is_owner_only_again_after_the_next_write() {
    use std::os::unix::fs::PermissionsExt;
    let folder = tempfile::tempdir().unwrap();
    let store = FileStore::new(folder.path().join("propusk"));
    let identity = Identity::new("test", ["account"]);
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(3600)));
    let cache = cache_over(&source, Arc::new(store.clone()));
    let path = store.path_for(&identity);
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    for round in 0..3 {
        let credential = cache.get().await.unwrap();
        assert_eq!(mode(&path), 0o600, "round {round}");
        // Someone (a backup restore, a careless chmod) opens the file up...
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        // ...and the next write puts a private file in its place.
        cache.invalidate(credential.generation());
    }
    cache.get().await.unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(store.folder()), 0o700);
    assert_eq!(source.calls(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_the_first_rename_leaves_nothing_that_loads() {
    let folder = tempfile::tempdir().unwrap();
    let store = FileStore::new(folder.path());
    let identity = Identity::new("test", ["account"]);
    // The first write of a credential died before its rename: only the temporary file is left,
    // complete or not.
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(3600)));
    let scratch = FileStore::new(folder.path().join("scratch"));
    cache_over(&source, Arc::new(scratch.clone()))
        .get()
        .await
        .unwrap();
    let complete = std::fs::read(scratch.path_for(&identity)).unwrap();
    for (n, bytes) in [complete.clone(), complete[..complete.len() / 3].to_vec()]
        .into_iter()
        .enumerate()
    {
        std::fs::write(
            folder
                .path()
                .join(format!(".{}.{n}.tmp", identity.storage_key())),
            bytes,
        )
        .unwrap();
    }
    assert!(store.load(&identity).await.unwrap().is_none());

    // The next process authenticates, and its save is not disturbed by the leftovers.
    let credential = cache_over(&source, Arc::new(store.clone()))
        .get()
        .await
        .unwrap();
    assert_eq!(source.calls(), 2);
    let loaded = store.load(&identity).await.unwrap().unwrap();
    assert_eq!(
        loaded.token().expose_secret(),
        credential.token().expose_secret()
    );
}
