//! `propusk kontur ...` as a shell user meets it: the real binary against the emulator.

use std::process::Command;

use auth_core::testkit::emulator::Failure;
use kontur_auth::testkit::{DEMO_CLIENT_ID, DEMO_LOGIN, DEMO_PASSWORD, Emulator, Endpoint};

mod common;
use common::{assert_url_handling, run, text};

fn propusk(emulator_url: &str, cache: &std::path::Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_propusk"));
    command
        .args(["kontur"])
        .args(args)
        .env_clear()
        .env("KONTUR_BASE_URL", emulator_url)
        .env("KONTUR_API_CLIENT_ID", DEMO_CLIENT_ID)
        .env("KONTUR_LOGIN", DEMO_LOGIN)
        .env("KONTUR_PASSWORD", DEMO_PASSWORD)
        .env("PROPUSK_CACHE_DIR", cache);
    command
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
        token.ends_with('\n') && token.trim().len() > 40,
        "{token:?}"
    );
    assert_eq!(emulator.authentications(), 1);
    assert!(first.stderr.is_empty() && second.stderr.is_empty());
    for entry in std::fs::read_dir(cache.path()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            !name.contains(DEMO_LOGIN)
                && !name.contains(DEMO_CLIENT_ID)
                && !name.contains(token.trim()),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_prints_the_wire_form() {
    let emulator = Emulator::start().await;
    let cache = tempfile::tempdir().unwrap();
    let token = run(propusk(&emulator.base_url(), cache.path(), &["token"])).await;
    let header = run(propusk(&emulator.base_url(), cache.path(), &["header"])).await;
    assert!(header.status.success());
    assert_eq!(
        text(&header.stdout),
        format!(
            "Authorization: KonturEdiAuth konturediauth_api_client_id={DEMO_CLIENT_ID},konturediauth_token={}",
            text(&token.stdout)
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_prints_the_body_and_maps_statuses_to_exit_codes() {
    let emulator = Emulator::start().await;
    let cache = tempfile::tempdir().unwrap();
    let url = format!("{}V1/Boxes/GetBoxesInfo", emulator.base_url());
    let ok = run(propusk(&emulator.base_url(), cache.path(), &["get", &url])).await;
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(text(&ok.stdout).starts_with(r#"{"Boxes":["#));

    emulator.inject(Endpoint::Api, Failure::Status(404));
    let missing = run(propusk(&emulator.base_url(), cache.path(), &["get", &url])).await;
    assert_eq!(missing.status.code(), Some(5));
    assert_eq!(
        text(&missing.stdout),
        "injected failure",
        "the body is still printed"
    );

    emulator.inject(Endpoint::Api, Failure::Status(401));
    emulator.inject(Endpoint::Api, Failure::Status(401));
    let rejected = run(propusk(&emulator.base_url(), cache.path(), &["get", &url])).await;
    assert_eq!(
        rejected.status.code(),
        Some(3),
        "{}",
        text(&rejected.stderr)
    );
    assert_eq!(text(&rejected.stderr).lines().count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_rejection_and_transport_errors_have_their_codes_and_no_secrets() {
    let emulator = Emulator::start().await;
    let cache = tempfile::tempdir().unwrap();

    let mut missing = propusk(&emulator.base_url(), cache.path(), &["token"]);
    missing.env_remove("KONTUR_PASSWORD");
    let missing = run(missing).await;
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("KONTUR_PASSWORD"));

    let mut wrong = propusk(&emulator.base_url(), cache.path(), &["token"]);
    wrong.env("KONTUR_PASSWORD", "Canary-Wrong-Pa55");
    let wrong = run(wrong).await;
    assert_eq!(wrong.status.code(), Some(3));
    assert!(!text(&wrong.stderr).contains("Canary-Wrong-Pa55"));
    assert!(
        text(&wrong.stderr).contains("KONTUR_PASSWORD"),
        "says what to check: {}",
        text(&wrong.stderr)
    );
    assert!(wrong.stdout.is_empty());

    let mut comma = propusk(&emulator.base_url(), cache.path(), &["token"]);
    comma.env("KONTUR_PASSWORD", "Canary,Comma");
    let comma = run(comma).await;
    assert_eq!(comma.status.code(), Some(2));
    assert!(text(&comma.stderr).contains("konturediauth_password contains ','"));
    assert!(!text(&comma.stderr).contains("Canary"));

    assert_url_handling(
        |url, args| propusk(url, cache.path(), args),
        "--base-url",
        &emulator.base_url(),
    )
    .await;
}

#[test]
fn there_is_no_flag_for_a_secret() {
    let help = Command::new(env!("CARGO_BIN_EXE_propusk"))
        .args(["kontur", "token", "--help"])
        .output()
        .unwrap();
    let help = text(&help.stdout);
    assert!(
        help.contains("--login") && !help.contains("--password"),
        "{help}"
    );
    let refused = Command::new(env!("CARGO_BIN_EXE_propusk"))
        .args(["kontur", "token", "--password", "x"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
}

#[test]
fn the_demo_runs_without_network_or_credentials() {
    let output = Command::new(env!("CARGO_BIN_EXE_propusk"))
        .arg("demo")
        .env_clear()
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    assert!(text(&output.stdout).contains("0 failed"));
}
