//! `propusk alliance …` run as a real process against the Alliance emulator started here.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use alliance_auth::testkit::{
    DEMO_AUTH_KEY, DEMO_SERVICE_CODE, Emulator, Endpoint, ProviderFailure, Rejection,
};
use alliance_auth::{MerchantKey, jwe};
use auth_core::testkit::emulator::Failure;

const OPERATIONS: &str = "ecom/execute_request/hpp/v1/operations";
const SEED_D: &str = "QVwaujXBuM1mdyNSadU5qSjRk5xggY-aX7yzes_qyNQC9nTVO1SmNBHd_fBzZILd";

/// The seed's "authorization key", exactly as the bank's docs print it.
const SEED_AUTHORIZATION_KEY: &str = r#"{
    "kty": "EC",
    "d": "QVwaujXBuM1mdyNSadU5qSjRk5xggY-aX7yzes_qyNQC9nTVO1SmNBHd_fBzZILd",
    "use": "enc",
    "crv": "P-384",
    "x": "lxF9kVkpdTRqd256CO0Q3fOEAPcek-U_Q72UoySdXXZWr9Tf8bSMhc8gwVbgtDC",
    "y": "3aQaGq0Va9OshPr63jZ2KEcfO1jqibz6bKFeJr6K6h4dHFGj298hv7sb6bYaUyD",
    "alg": "ECDH-ES+A256KW"
}"#;

/// The seed's "payment key", exactly as printed.
const SEED_PAYMENT_KEY: &str = r#"{
    "kty": "EC",
    "use": "enc",
    "crv": "P-384",
    "x": "lxF9kVkpdTRqd256CO0Q3fOEgAPcek-U_Q72UoySdXXZWr9Tf8bSMhc8gwVbgtDC",
    "y": "3aQaGq0Va9OsGhPr3jZ2KEcfO1jqibz6bKFeJr6K6h4dHFGj298hv7sb6bYaUyD",
    "alg": "ECDH-ES+A25KW"
}"#;

const SHEET_X: &str = "lxF9kVkpdTRqd256CO0Q3fOEgAPcek-U_Q72UoySdXXZWr9Tf8bSMhc8gwVbgtDC";
const SHEET_Y: &str = "3aQaGq0Va9OsGhPr63jZ2KEcfO1jqibz6bKFeJr6K6h4dHFGj298hv7sb6bYaUyD";

struct Run {
    cache: tempfile::TempDir,
}

impl Run {
    fn new() -> Self {
        Self {
            cache: tempfile::tempdir().unwrap(),
        }
    }

    /// `propusk alliance <args>` with a clean environment for the Alliance settings.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_propusk"));
        command
            .arg("alliance")
            .args(args)
            .env_remove("ALLIANCE_BASE_URL")
            .env_remove("ALLIANCE_SERVICE_CODE")
            .env_remove("ALLIANCE_AUTH_KEY")
            .env_remove("PROPUSK_LOG")
            .env_remove("PROPUSK_STORE")
            .env("PROPUSK_CACHE_DIR", self.cache.path());
        command
    }

    fn at(&self, emulator: &Emulator, args: &[&str]) -> Output {
        self.command(args)
            .env("ALLIANCE_BASE_URL", emulator.base_url())
            .env("ALLIANCE_SERVICE_CODE", DEMO_SERVICE_CODE)
            .env("ALLIANCE_AUTH_KEY", DEMO_AUTH_KEY)
            .output()
            .unwrap()
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn write_file(folder: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = folder.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_is_the_refresh_token_and_is_cached_across_runs() {
    let emulator = Emulator::start().await;
    let run = Run::new();
    let first = run.at(&emulator, &["token"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let token = stdout(&first);
    assert_eq!(token.trim().len(), 36, "a UUID and a newline: {token:?}");
    assert!(token.ends_with('\n') && token.lines().count() == 1);
    let second = run.at(&emulator, &["token"]);
    assert_eq!(stdout(&second), token);
    assert_eq!(
        emulator.authorizations(),
        1,
        "the second run reused the cached session"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_prints_the_three_session_headers() {
    let emulator = Emulator::start().await;
    let run = Run::new();
    let token = stdout(&run.at(&emulator, &["token"]));
    let output = run.at(&emulator, &["header"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let device = emulator.current_device_id().unwrap();
    assert_eq!(
        stdout(&output),
        format!("x-api_version: V1\nx-device_id: {device}\nx-refresh_token: {token}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_prints_the_body_and_survives_a_rejection_under_http_200() {
    let emulator = Emulator::builder()
        .rejection(Rejection::used_token_under_200())
        .start()
        .await;
    let run = Run::new();
    let url = emulator.url(OPERATIONS);
    let output = run.at(&emulator, &["get", &url]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains(r#""status":"OK""#),
        "{}",
        stdout(&output)
    );

    // The cached session dies at the bank: HTTP 200 + b_used_token, one re-authorization, one retry.
    emulator.end_session();
    let output = run.at(&emulator, &["get", &url]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains(r#""status":"OK""#));
    assert_eq!(emulator.authorizations(), 2);
    assert_eq!(emulator.api_calls(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_rejected_twice_exits_3() {
    let emulator = Emulator::start().await;
    let run = Run::new();
    emulator.inject(
        Endpoint::Api,
        Failure::Provider(ProviderFailure::Reject(Rejection::used_token_under_200())),
    );
    emulator.inject(
        Endpoint::Api,
        Failure::Provider(ProviderFailure::Reject(Rejection::unauthorized())),
    );
    let output = run.at(&emulator, &["get", &emulator.url(OPERATIONS)]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(stderr(&output).contains("rejected"), "{}", stderr(&output));
    assert_eq!(emulator.authorizations(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_service_code_exits_3_and_says_to_contact_the_bank() {
    let emulator = Emulator::start().await;
    emulator.inject(
        Endpoint::Authorize,
        Failure::Provider(ProviderFailure::ServiceCodeClosed),
    );
    let output = Run::new().at(&emulator, &["token"]);
    assert_eq!(output.status.code(), Some(3));
    let message = stderr(&output);
    assert!(
        message.contains("200 days") && message.contains("contact Bank Alliance support"),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1, "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_failure_exits_4_and_missing_settings_exit_2() {
    let emulator = Emulator::start().await;
    emulator.inject(Endpoint::Authorize, Failure::Html);
    let run = Run::new();
    assert_eq!(run.at(&emulator, &["token"]).status.code(), Some(4));

    let output = run
        .command(&["token"])
        .env("ALLIANCE_AUTH_KEY", DEMO_AUTH_KEY)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("ALLIANCE_SERVICE_CODE"),
        "{}",
        stderr(&output)
    );

    let output = run
        .command(&["token", "--service-code", DEMO_SERVICE_CODE])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("ALLIANCE_AUTH_KEY"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_and_key_file_work_without_the_environment() {
    let emulator = Emulator::start().await;
    let run = Run::new();
    let key_file = write_file(&run.cache, "merchant.jwk", DEMO_AUTH_KEY);
    let output = run
        .command(&[
            "token",
            "--base-url",
            &emulator.base_url(),
            "--service-code",
            DEMO_SERVICE_CODE,
            "--key-file",
            &key_file,
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(emulator.authorizations(), 1);
}

#[test]
fn check_key_on_the_seed_authorization_key_prints_the_derived_public_jwk() {
    let run = Run::new();
    let key_file = write_file(&run.cache, "seed.jwk", SEED_AUTHORIZATION_KEY);
    let output = run
        .command(&["check-key", "--key-file", &key_file])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("authorization key: field `x` is 63 base64url chars (47 bytes); P-384 requires 64 chars (48 bytes)"),
        "{message}"
    );
    assert!(
        message.contains("field `y` is 63 base64url chars (47 bytes)"),
        "{message}"
    );
    assert!(
        !message.contains(SEED_D) && !stdout(&output).contains(SEED_D),
        "d leaked"
    );
    let derived: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(derived["x"], SHEET_X);
    assert_eq!(derived["y"], SHEET_Y);
    assert!(derived.get("d").is_none());
}

#[test]
fn check_key_on_the_seed_payment_key_names_y_and_the_alg_misprint() {
    let run = Run::new();
    let key_file = write_file(&run.cache, "payment.jwk", SEED_PAYMENT_KEY);
    let output = run
        .command(&["check-key", "--key-file", &key_file])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("field `y` is 63 base64url chars (47 bytes)"),
        "{message}"
    );
    assert!(
        message.contains("\"ECDH-ES+A25KW\"")
            && message.contains("change it to \"ECDH-ES+A256KW\""),
        "{message}"
    );
    assert_eq!(stdout(&output), "");
}

#[test]
fn check_key_on_a_valid_key_from_the_environment_prints_its_public_half() {
    let run = Run::new();
    let output = run
        .command(&["check-key"])
        .env("ALLIANCE_AUTH_KEY", DEMO_AUTH_KEY)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let public: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(public["x"], SHEET_X);
    assert!(public.get("d").is_none());
    assert!(stderr(&output).contains("valid"));
}

#[test]
fn encrypt_makes_a_jwe_the_key_holder_can_read() {
    let run = Run::new();
    let key = MerchantKey::from_jwk(DEMO_AUTH_KEY).unwrap();
    let public_file = write_file(&run.cache, "payment.jwk", &key.public_key().to_jwk_json());
    let mut child = run
        .command(&["encrypt", "--key-file", &public_file])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"2503111\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let compact = stdout(&output);
    assert_eq!(compact.trim().split('.').count(), 5);
    assert_eq!(
        jwe::decrypt(&key, compact.trim()).unwrap(),
        b"2503111",
        "the trailing newline is dropped"
    );
}

#[test]
fn encrypt_needs_a_key_file() {
    let output = Run::new()
        .command(&["encrypt"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--key-file"));
}
