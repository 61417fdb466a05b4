//! The cache folder as an attacker who shares the machine meets it: a folder others may write,
//! or another user's, is refused (exit 2, nothing read or written); a planted cache file is
//! ignored with a warning and never followed or waited on; a planted header is never sent; and
//! an endpoint that always refuses does not buy a login per run.
#![cfg(unix)]

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use auth_core::testkit::{HostileServer, Misbehaviour};
use kontur_auth::testkit::{DEMO_CLIENT_ID, DEMO_LOGIN, DEMO_PASSWORD, Emulator as KonturEmulator};

mod common;
use common::text;

fn propusk(emulator: &KonturEmulator, cache: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_propusk"));
    command
        .arg("kontur")
        .args(args)
        .env_clear()
        .env("KONTUR_BASE_URL", emulator.base_url())
        .env("KONTUR_API_CLIENT_ID", DEMO_CLIENT_ID)
        .env("KONTUR_LOGIN", DEMO_LOGIN)
        .env("KONTUR_PASSWORD", DEMO_PASSWORD)
        .env("PROPUSK_CACHE_DIR", cache);
    command
}

/// Runs with a 20 s limit: a run that blocks (on a FIFO, say) fails the test instead of hanging.
async fn run(command: Command) -> Output {
    let mut command = command;
    tokio::time::timeout(
        Duration::from_secs(20),
        tokio::task::spawn_blocking(move || command.output().unwrap()),
    )
    .await
    .expect("propusk blocked")
    .unwrap()
}

fn listing(folder: &Path) -> Vec<(String, Vec<u8>)> {
    let mut entries: Vec<(String, Vec<u8>)> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap_or_default(),
            )
        })
        .collect();
    entries.sort();
    entries
}

/// A cache folder with one stored token, and the path of its file.
async fn stocked(emulator: &KonturEmulator) -> (tempfile::TempDir, PathBuf, String) {
    let cache = tempfile::tempdir().unwrap();
    let first = run(propusk(emulator, cache.path(), &["token"])).await;
    assert!(first.status.success(), "{}", text(&first.stderr));
    let file = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("a credential file");
    (cache, file, text(&first.stdout))
}

fn chown(path: &Path, uid: u32) {
    assert!(
        Command::new("chown")
            .arg(uid.to_string())
            .arg(path)
            .status()
            .unwrap()
            .success()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_cache_folder_is_refused_with_exit_2_and_left_alone() {
    let emulator = KonturEmulator::start().await;
    let root = auth_core::provider::private_fs::effective_uid() == 0;
    for case in ["mode 0777", "another owner"] {
        if case == "another owner" && !root {
            eprintln!("skipped `{case}`: handing a folder to another uid needs root");
            continue;
        }
        let (cache, _file, _token) = stocked(&emulator).await;
        match case {
            "mode 0777" => {
                std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o777))
                    .unwrap()
            }
            _ => chown(cache.path(), 4242),
        }
        let before = listing(cache.path());
        let logins = emulator.authentications();
        for action in [
            &["token"][..],
            &["header"],
            &[
                "get",
                &format!("{}V1/Boxes/GetBoxesInfo", emulator.base_url()),
            ],
        ] {
            let output = run(propusk(&emulator, cache.path(), action)).await;
            let stderr = text(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{case} {action:?}: {stderr}");
            let shown = cache.path().display().to_string();
            assert!(
                stderr.contains(&format!("chmod 700 {shown}")),
                "{case}: {stderr}"
            );
            assert!(
                output.stdout.is_empty(),
                "{case}: nothing read: {}",
                text(&output.stdout)
            );
        }
        assert_eq!(
            listing(cache.path()),
            before,
            "{case}: nothing written or deleted"
        );
        assert_eq!(
            emulator.authentications(),
            logins,
            "{case}: no login either"
        );
        if case == "another owner" {
            chown(cache.path(), 0);
        }
        std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_cache_folder_is_created_0700() {
    let emulator = KonturEmulator::start().await;
    let parent = tempfile::tempdir().unwrap();
    let cache = parent.path().join("new/propusk");
    let output = run(propusk(&emulator, &cache, &["token"])).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}

/// Puts something in place of the credential file.
type Plant = dyn Fn(&Path);

const PLANTED: &str =
    r#"{"format":1,"provider":"kontur","token":"Planted-Token","expires_at_ms":4102444800000}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_cache_file_is_ignored_with_a_warning_and_the_tool_authenticates() {
    let emulator = KonturEmulator::start().await;
    let root = auth_core::provider::private_fs::effective_uid() == 0;
    let cases: [(&str, &Plant); 5] = [
        ("symlink to /dev/zero", &|path| {
            symlink("/dev/zero", path).unwrap()
        }),
        ("fifo", &|path| {
            assert!(
                Command::new("mkfifo")
                    .args(["-m", "600"])
                    .arg(path)
                    .status()
                    .unwrap()
                    .success()
            )
        }),
        ("over 1 MiB", &|path| {
            let mut bytes = PLANTED.trim_end_matches('}').to_owned();
            bytes.push_str(&format!(r#","pad":"{}"}}"#, "a".repeat(1024 * 1024)));
            std::fs::write(path, bytes).unwrap();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }),
        ("group-readable", &|path| {
            std::fs::write(path, PLANTED).unwrap();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o640)).unwrap();
        }),
        ("another owner", &|path| {
            std::fs::write(path, PLANTED).unwrap();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
            chown(path, 4242);
        }),
    ];
    for (case, plant) in cases {
        if case == "another owner" && !root {
            eprintln!("skipped `{case}`: handing a file to another uid needs root");
            continue;
        }
        let (cache, file, first_token) = stocked(&emulator).await;
        std::fs::remove_file(&file).unwrap();
        plant(&file);
        let logins = emulator.authentications();
        let output = run(propusk(&emulator, cache.path(), &["token"])).await;
        let stderr = text(&output.stderr);
        assert!(output.status.success(), "{case}: {stderr}");
        let token = text(&output.stdout);
        assert!(
            !token.contains("Planted") && token != first_token,
            "{case}: {token}"
        );
        assert_eq!(
            emulator.authentications(),
            logins + 1,
            "{case}: authenticated afresh"
        );
        assert!(
            stderr.contains("WARN") && stderr.contains("ignored"),
            "{case}: {stderr}"
        );
        assert!(
            stderr.contains(&file.display().to_string()),
            "{case}: names the file: {stderr}"
        );
        // One look before the store's lock and one under it (issue 13's read-first): the same
        // warning at most twice, and nothing else.
        let lines: Vec<&str> = stderr.lines().collect();
        assert!(
            (1..=2).contains(&lines.len()) && lines.iter().all(|line| *line == lines[0]),
            "{case}: one warning: {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_header_in_the_cache_file_is_never_sent() {
    let emulator = KonturEmulator::start().await;
    let api = HostileServer::start(Misbehaviour::answer(200, "text/plain", "ok"));
    let (cache, file, token) = stocked(&emulator).await;
    let mut entry: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    entry["headers"] = serde_json::json!([["x-planted", "1"], ["authorization", "Planted"]]);
    std::fs::write(&file, entry.to_string()).unwrap();
    let url = format!("{}/data", api.url());
    let output = run(propusk(
        &emulator,
        cache.path(),
        &["get", &url, "--allow-origin", &api.url()],
    ))
    .await;
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(emulator.authentications(), 1, "the stored token was reused");
    let sent = api.requests().pop().unwrap();
    assert!(sent.get("x-planted").is_none(), "{sent:?}");
    assert!(
        sent["authorization"]
            .to_str()
            .unwrap()
            .ends_with(&format!("konturediauth_token={}", token.trim())),
        "rebuilt from the stored token"
    );
    assert!(stderr.contains("ignored and never sent"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_get_runs_against_an_endpoint_that_always_refuses_log_in_twice() {
    let emulator = KonturEmulator::start().await;
    let refuses = HostileServer::start(Misbehaviour::answer(401, "text/plain", "no rights"));
    let cache = tempfile::tempdir().unwrap();
    let url = format!("{}/forbidden", refuses.url());
    for round in 0..5 {
        let output = run(propusk(
            &emulator,
            cache.path(),
            &["get", &url, "--allow-origin", &refuses.url()],
        ))
        .await;
        assert_eq!(
            output.status.code(),
            Some(3),
            "round {round}: {}",
            text(&output.stderr)
        );
        assert_eq!(text(&output.stderr).lines().count(), 1, "round {round}");
    }
    // Run 1: a login, the refusal, one re-login, the refusal again (exit 3). Runs 2-5 find a
    // credential that replaced a rejected one seconds ago: within the rejection window its
    // refusal is returned as it is.
    assert_eq!(emulator.authentications(), 2);
    assert_eq!(refuses.requests().len(), 2 + 4);
}
