//! `propusk rustore ...` as a shell user meets it: the real binary against the RuStore emulator.

use std::process::Command;

use auth_core::testkit::emulator::Failure;
use rustore_auth::testkit::{Emulator, Endpoint, RESOURCE_PATH, TEST_KEY_ID, TEST_PRIVATE_KEY};

mod common;
use common::{assert_url_handling, run, text};

fn propusk(base_url: &str, cache: &std::path::Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_propusk"));
    command
        .arg("rustore")
        .args(args)
        .env_clear()
        .env("RUSTORE_BASE_URL", base_url)
        .env("RUSTORE_KEY_ID", TEST_KEY_ID)
        .env("RUSTORE_PRIVATE_KEY", TEST_PRIVATE_KEY)
        .env("PROPUSK_CACHE_DIR", cache);
    command
}

/// 40-character pieces of the test key: none may reach stderr.
fn assert_no_key(stderr: &str) {
    for piece in TEST_PRIVATE_KEY.trim().as_bytes().chunks(40) {
        assert!(
            !stderr.contains(std::str::from_utf8(piece).unwrap()),
            "{stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_token_runs_with_one_cache_folder_authenticate_once() {
    let emulator = Emulator::start().await;
    let cache = tempfile::tempdir().unwrap();
    let first = run(propusk(&emulator.base_url(), cache.path(), &["token"])).await;
    assert!(first.status.success(), "{}", text(&first.stderr));
    let second = run(propusk(&emulator.base_url(), cache.path(), &["token"])).await;
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert_eq!(first.stdout, second.stdout);
    let token = text(&first.stdout);
    assert!(
        token.ends_with('\n') && token.starts_with("eyJ"),
        "{token:?}"
    );
    assert_eq!(token.trim().split('.').count(), 5, "the JWE, nothing else");
    assert_eq!(emulator.auth_requests(), 1);
    assert!(first.stderr.is_empty() && second.stderr.is_empty());
    for entry in std::fs::read_dir(cache.path()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            !name.contains(TEST_KEY_ID) && !name.contains(token.trim()),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_prints_public_token_as_sent() {
    let emulator = Emulator::start().await;
    let cache = tempfile::tempdir().unwrap();
    let token = run(propusk(&emulator.base_url(), cache.path(), &["token"])).await;
    let header = run(propusk(&emulator.base_url(), cache.path(), &["header"])).await;
    assert!(header.status.success(), "{}", text(&header.stderr));
    assert_eq!(
        text(&header.stdout),
        format!("Public-Token: {}", text(&token.stdout))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_prints_the_body_and_maps_statuses_to_exit_codes() {
    let emulator = Emulator::start().await;
    let cache = tempfile::tempdir().unwrap();
    let url = emulator.resource_url();
    let ok = run(propusk(&emulator.base_url(), cache.path(), &["get", &url])).await;
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(
        text(&ok.stdout).contains(&format!(r#""path":"{RESOURCE_PATH}""#)),
        "{}",
        text(&ok.stdout)
    );

    // A revoked token: one re-authentication, the retry succeeds.
    emulator.revoke_tokens();
    let again = run(propusk(&emulator.base_url(), cache.path(), &["get", &url])).await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(emulator.auth_requests(), 2);

    // 403: the body is printed, exit 5, no re-authentication.
    emulator.forbid(RESOURCE_PATH);
    let forbidden = run(propusk(&emulator.base_url(), cache.path(), &["get", &url])).await;
    assert_eq!(
        forbidden.status.code(),
        Some(5),
        "{}",
        text(&forbidden.stderr)
    );
    assert!(text(&forbidden.stdout).contains("does not have rights"));
    assert_eq!(emulator.auth_requests(), 2);

    // Rejected twice: exit 3, one line on stderr.
    emulator.reject_all_resources(true);
    let rejected = run(propusk(&emulator.base_url(), cache.path(), &["get", &url])).await;
    assert_eq!(
        rejected.status.code(),
        Some(3),
        "{}",
        text(&rejected.stderr)
    );
    assert_eq!(text(&rejected.stderr).lines().count(), 1);
    // The stored token replaced a rejected one seconds ago: within the rejection window
    // (RefreshPolicy::rejection_window, 30 s) its rejection costs no new login.
    assert_eq!(emulator.auth_requests(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_can_come_from_a_pem_file() {
    let emulator = Emulator::start().await;
    let cache = tempfile::tempdir().unwrap();
    let lines: Vec<String> = TEST_PRIVATE_KEY
        .trim()
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    let file = cache.path().join("key.pem");
    std::fs::write(&file, pem).unwrap();
    let mut command = propusk(
        &emulator.base_url(),
        cache.path(),
        &[
            "token",
            "--no-cache",
            "--private-key-file",
            file.to_str().unwrap(),
        ],
    );
    command.env_remove("RUSTORE_PRIVATE_KEY");
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(emulator.auth_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_rejection_and_transport_errors_have_their_codes_and_no_secrets() {
    let emulator = Emulator::start().await;
    let cache = tempfile::tempdir().unwrap();
    let base = emulator.base_url();

    let mut missing = propusk(&base, cache.path(), &["token"]);
    missing.env_remove("RUSTORE_PRIVATE_KEY");
    let missing = run(missing).await;
    assert_eq!(missing.status.code(), Some(2));
    let stderr = text(&missing.stderr);
    assert!(
        stderr.contains("RUSTORE_PRIVATE_KEY") && stderr.contains("--private-key-file"),
        "{stderr}"
    );

    let mut no_id = propusk(&base, cache.path(), &["token"]);
    no_id.env_remove("RUSTORE_KEY_ID");
    let no_id = run(no_id).await;
    assert_eq!(no_id.status.code(), Some(2));
    assert!(text(&no_id.stderr).contains("--key-id"));

    let mut truncated = propusk(&base, cache.path(), &["token"]);
    truncated.env("RUSTORE_PRIVATE_KEY", &TEST_PRIVATE_KEY.trim()[..800]);
    let truncated = run(truncated).await;
    assert_eq!(truncated.status.code(), Some(2));
    let stderr = text(&truncated.stderr);
    assert!(
        stderr.contains("truncated") && stderr.lines().count() == 1,
        "{stderr}"
    );
    assert_no_key(&stderr);

    let missing_file = run(propusk(
        &base,
        cache.path(),
        &["token", "--private-key-file", "/nonexistent/key.pem"],
    ))
    .await;
    assert_eq!(missing_file.status.code(), Some(2));
    assert!(text(&missing_file.stderr).contains("/nonexistent/key.pem"));

    // Unknown key ID: rejected, exit 3. The --key-id flag wins over RUSTORE_KEY_ID.
    let unknown = run(propusk(&base, cache.path(), &["token", "--key-id", "999"])).await;
    assert_eq!(unknown.status.code(), Some(3), "{}", text(&unknown.stderr));
    assert_no_key(&text(&unknown.stderr));
    assert!(unknown.stdout.is_empty());

    // The machine's clock is two minutes off RuStore's.
    emulator.set_clock_skew(120);
    let skewed = run(propusk(&base, cache.path(), &["token", "--no-cache"])).await;
    assert_eq!(skewed.status.code(), Some(3), "{}", text(&skewed.stderr));
    assert!(text(&skewed.stderr).contains("clock"));
    emulator.set_clock_skew(0);

    emulator.inject(Endpoint::Auth, Failure::Status(503));
    let unavailable = run(propusk(&base, cache.path(), &["token", "--no-cache"])).await;
    assert_eq!(
        unavailable.status.code(),
        Some(4),
        "{}",
        text(&unavailable.stderr)
    );

    assert_url_handling(
        |url, args| propusk(url, cache.path(), args),
        "--base-url",
        &base,
    )
    .await;
}
