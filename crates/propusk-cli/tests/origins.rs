//! `get` puts a credential only on the provider's own origin: for each of the five providers, a
//! second loopback server on another port gets nothing (exit 2, before any request), and
//! `--allow-origin` for that origin lets the request through with its credential.

use std::path::Path;
use std::process::Command;

use auth_core::testkit::{HostileServer, Misbehaviour};

mod common;
use common::{run, text};

fn propusk(provider: &str, cache: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_propusk"));
    command
        .arg(provider)
        .args(args)
        .env_clear()
        .env("PROPUSK_CACHE_DIR", cache);
    command
}

/// Runs `get OTHER/data` twice with `command`: refused, then let through with
/// `--allow-origin OTHER`; `credential_header` must arrive only the second time.
async fn assert_only_allowed(
    name: &str,
    credential_header: &str,
    command: impl Fn(&[&str]) -> Command,
) {
    let other = HostileServer::start(Misbehaviour::answer(200, "text/plain", "other"));
    let url = format!("{}/data", other.url());
    let refused = run(command(&["get", &url])).await;
    let stderr = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{name}: {stderr}");
    assert!(
        stderr.contains(&other.url()) && stderr.contains("--allow-origin"),
        "{name}: says which origin and how to allow it: {stderr}"
    );
    assert!(refused.stdout.is_empty(), "{name}");
    assert_eq!(
        other.connections(),
        0,
        "{name}: nothing was sent to the other server"
    );

    let allowed = run(command(&["get", &url, "--allow-origin", &other.url()])).await;
    assert!(
        allowed.status.success(),
        "{name}: {}",
        text(&allowed.stderr)
    );
    assert_eq!(text(&allowed.stdout), "other", "{name}");
    let requests = other.requests();
    assert_eq!(requests.len(), 1, "{name}");
    assert!(
        requests[0].contains_key(credential_header),
        "{name}: the allowed origin gets the credential: {:?}",
        requests[0].keys().collect::<Vec<_>>()
    );

    // The variable works the same way.
    let mut by_variable = command(&["get", &url]);
    by_variable.env(
        "PROPUSK_ALLOW_ORIGINS",
        format!("https://elsewhere.example,{}", other.url()),
    );
    let by_variable = run(by_variable).await;
    assert!(
        by_variable.status.success(),
        "{name}: {}",
        text(&by_variable.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kontur_get_sends_the_credential_only_to_its_origin() {
    use kontur_auth::testkit::{
        DEMO_CLIENT_ID, DEMO_LOGIN, DEMO_PASSWORD, Emulator as KonturEmulator,
    };
    let emulator = KonturEmulator::start().await;
    let cache = tempfile::tempdir().unwrap();
    assert_only_allowed("kontur", "authorization", |args| {
        let mut command = propusk("kontur", cache.path(), args);
        command
            .env("KONTUR_BASE_URL", emulator.base_url())
            .env("KONTUR_API_CLIENT_ID", DEMO_CLIENT_ID)
            .env("KONTUR_LOGIN", DEMO_LOGIN)
            .env("KONTUR_PASSWORD", DEMO_PASSWORD);
        command
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rustore_get_sends_the_credential_only_to_its_origin() {
    use rustore_auth::testkit::{Emulator, TEST_KEY_ID, TEST_PRIVATE_KEY};
    let emulator = Emulator::start().await;
    let cache = tempfile::tempdir().unwrap();
    assert_only_allowed("rustore", "public-token", |args| {
        let mut command = propusk("rustore", cache.path(), args);
        command
            .env("RUSTORE_BASE_URL", emulator.base_url())
            .env("RUSTORE_KEY_ID", TEST_KEY_ID)
            .env("RUSTORE_PRIVATE_KEY", TEST_PRIVATE_KEY);
        command
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alliance_get_sends_the_credential_only_to_its_origin() {
    use alliance_auth::testkit::{DEMO_AUTH_KEY, DEMO_SERVICE_CODE, Emulator};
    let emulator = Emulator::start().await;
    let cache = tempfile::tempdir().unwrap();
    assert_only_allowed("alliance", "x-refresh_token", |args| {
        let mut command = propusk("alliance", cache.path(), args);
        command
            .env("ALLIANCE_BASE_URL", emulator.base_url())
            .env("ALLIANCE_SERVICE_CODE", DEMO_SERVICE_CODE)
            .env("ALLIANCE_AUTH_KEY", DEMO_AUTH_KEY);
        command
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waves_get_sends_the_credential_only_to_its_origin_and_named_nodes() {
    use waves_auth::testkit::{DEMO_LOGIN, DEMO_PASSWORD, Emulator};
    let emulator = Emulator::start().await;
    let cache = tempfile::tempdir().unwrap();
    assert_only_allowed("waves oauth", "authorization", |args| {
        let mut command = propusk("waves", cache.path(), args);
        command
            .env("WAVES_AUTH_URL", emulator.base_url())
            .env("WAVES_LOGIN", DEMO_LOGIN)
            .env("WAVES_PASSWORD", DEMO_PASSWORD);
        command
    })
    .await;
    assert_only_allowed("waves api key", "x-api-key", |args| {
        let mut command = propusk("waves", cache.path(), args);
        command.env("WAVES_API_KEY", "node-api-key-canary");
        command
    })
    .await;

    // A node named by --node-url (or WAVES_NODE_URLS) is the API origin in API-key mode.
    let node = HostileServer::start(Misbehaviour::answer(200, "text/plain", "node"));
    for by_flag in [true, false] {
        let url = format!("{}/node/status", node.url());
        let mut command = propusk("waves", cache.path(), &["get", &url]);
        command.env("WAVES_API_KEY", "node-api-key-canary");
        if by_flag {
            command.args(["--node-url", &node.url()]);
        } else {
            command.env("WAVES_NODE_URLS", node.url());
        }
        let output = run(command).await;
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    assert_eq!(node.requests()[0]["x-api-key"], "node-api-key-canary");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evotor_get_sends_the_credential_only_to_its_origin() {
    let home = HostileServer::start(Misbehaviour::answer(200, "text/plain", "home"));
    let cache = tempfile::tempdir().unwrap();
    // `/data` is not a v1 path: the v2 Bearer header goes.
    assert_only_allowed("evotor", "authorization", |args| {
        let mut command = propusk("evotor", cache.path(), args);
        command
            .env("EVOTOR_BASE_URL", format!("{}/", home.url()))
            .env("EVOTOR_TOKEN", "f46b89a5-8e80-4591-b0aa-94551790444b");
        command
    })
    .await;
    // Its own origin needs no opt-in.
    let mut own = propusk(
        "evotor",
        cache.path(),
        &["get", &format!("{}/api/v1/x", home.url())],
    );
    own.env("EVOTOR_BASE_URL", format!("{}/", home.url()))
        .env("EVOTOR_TOKEN", "f46b89a5-8e80-4591-b0aa-94551790444b");
    let own = run(own).await;
    assert!(own.status.success(), "{}", text(&own.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_another_host_is_refused_even_when_allowed() {
    let cache = tempfile::tempdir().unwrap();
    let mut command = propusk(
        "evotor",
        cache.path(),
        &[
            "get",
            "http://api.example.invalid/x",
            "--allow-origin",
            "http://api.example.invalid",
        ],
    );
    command.env("EVOTOR_TOKEN", "f46b89a5-8e80-4591-b0aa-94551790444b");
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("only https"),
        "{}",
        text(&output.stderr)
    );
}
