//! `propusk waves ...` as a shell user meets it: the real binary against the Waves emulator.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use waves_auth::api_key_hash;
use waves_auth::testkit::{DEMO_API_KEY, DEMO_LOGIN, DEMO_PASSWORD, Emulator, NodeAuth};

mod common;
use common::{assert_url_handling, run, text};

/// `propusk waves <args>` in OAuth mode for the demo user, with a cache folder.
fn propusk(auth_url: &str, cache: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_propusk"));
    command
        .arg("waves")
        .args(args)
        .env_clear()
        .env("WAVES_AUTH_URL", auth_url)
        .env("WAVES_LOGIN", DEMO_LOGIN)
        .env("WAVES_PASSWORD", DEMO_PASSWORD)
        .env("PROPUSK_CACHE_DIR", cache);
    command
}

/// `propusk waves <args>` in API-key mode.
fn propusk_api_key(key: &str, cache: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_propusk"));
    command
        .arg("waves")
        .args(args)
        .env_clear()
        .env("WAVES_API_KEY", key)
        .env("PROPUSK_CACHE_DIR", cache);
    command
}

fn hash_of(stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_propusk"))
        .args(["waves", "api-key-hash"])
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn api_key_hash_reads_stdin_and_prints_the_nodes_hash() {
    let vectors = [
        (
            "ridethewaves!",
            "H6nsiifwYKYEx6YzYD7woP1XCn72RVvx6tC1zjjLXqsu",
        ),
        ("foo", "53gRrs1z87TXZgevWK3NpiNsGpvqk62EkuRdCtiFefhR"),
        ("1", "FX9aLVV4zJLjHAAuCXnTqdswEgEBSobnp2Tw7mHsDDcs"),
        (
            "some string for api-key",
            "8gmoWdqSusXRndaMtQaZKJ8LT2WbiVTPRWGhv2Z6LbU9",
        ),
    ];
    for (key, hash) in vectors {
        for input in [key.to_owned(), format!("{key}\n"), format!("{key}\r\n")] {
            let output = hash_of(input.as_bytes());
            assert!(output.status.success(), "{}", text(&output.stderr));
            assert_eq!(text(&output.stdout), format!("{hash}\n"), "{input:?}");
            assert!(output.stderr.is_empty());
        }
    }
    let empty = hash_of(b"\n");
    assert_eq!(empty.status.code(), Some(2));
    assert!(text(&empty.stderr).contains("no API key on stdin"));
    let binary = hash_of(&[0xff, 0xfe]);
    assert_eq!(binary.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_and_header_print_the_access_token_and_a_second_run_reuses_it() {
    let emulator = Emulator::start().await;
    let cache = tempfile::tempdir().unwrap();
    let first = run(propusk(&emulator.base_url(), cache.path(), &["token"])).await;
    assert!(first.status.success(), "{}", text(&first.stderr));
    let token = text(&first.stdout);
    assert!(token.ends_with('\n'));
    assert_eq!(token.trim().split('.').count(), 3, "a JWT: {token:?}");
    assert!(first.stderr.is_empty(), "{}", text(&first.stderr));

    let header = run(propusk(&emulator.base_url(), cache.path(), &["header"])).await;
    assert!(header.status.success(), "{}", text(&header.stderr));
    assert_eq!(
        text(&header.stdout),
        format!("Authorization: Bearer {token}")
    );
    assert_eq!(emulator.logins(), 1, "the second run used the cache");
    assert_eq!(emulator.refreshes(), 0);

    for entry in std::fs::read_dir(cache.path()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            !name.contains(DEMO_LOGIN) && !name.contains(token.trim()),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_run_refreshes_with_the_refresh_token_the_last_run_stored() {
    let emulator = Emulator::start().await;
    let cache = tempfile::tempdir().unwrap();
    emulator.set_access_lifetime(-60); // every token is expired on arrival
    let mut tokens = Vec::new();
    for run_number in 0..4 {
        let output = run(propusk(&emulator.base_url(), cache.path(), &["token"])).await;
        assert!(
            output.status.success(),
            "run {run_number}: {}",
            text(&output.stderr)
        );
        tokens.push(text(&output.stdout));
    }
    tokens.dedup();
    assert_eq!(tokens.len(), 4, "each run got a new access token");
    assert_eq!(emulator.logins(), 1, "only the first run logged in");
    assert_eq!(emulator.refreshes(), 3, "every later process refreshed");
    assert_eq!(
        emulator.refresh_reuses(),
        0,
        "each process used the refresh token its predecessor rotated and stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_prints_the_body_and_maps_statuses_to_exit_codes() {
    let emulator = Emulator::start().await;
    let cache = tempfile::tempdir().unwrap();
    let url = emulator.node_url();
    let ok = run(propusk(&emulator.base_url(), cache.path(), &["get", &url])).await;
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(
        text(&ok.stdout).starts_with(r#"{"blockchainHeight":1234"#),
        "{}",
        text(&ok.stdout)
    );

    // The node calls every token expired: refreshed once, rejected again, final.
    emulator.set_access_lifetime(-60);
    let fresh_cache = tempfile::tempdir().unwrap();
    let rejected = run(propusk(
        &emulator.base_url(),
        fresh_cache.path(),
        &["get", &url],
    ))
    .await;
    assert_eq!(
        rejected.status.code(),
        Some(3),
        "{}",
        text(&rejected.stderr)
    );
    assert_eq!(text(&rejected.stderr).lines().count(), 1);
    // Tokens live again: the next run refreshes the stored expired one and gets through.
    emulator.set_access_lifetime(300);
    let (logins, refreshes) = (emulator.logins(), emulator.refreshes());
    let again = run(propusk(
        &emulator.base_url(),
        fresh_cache.path(),
        &["get", &url],
    ))
    .await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(emulator.logins(), logins);
    assert_eq!(emulator.refreshes(), refreshes + 1);
    assert_eq!(emulator.refresh_reuses(), 0);

    // A missing role (403, 621) is not a rejection: the body is printed, exit 5.
    emulator.require_role(Some("admin"));
    let forbidden = run(propusk(&emulator.base_url(), cache.path(), &["get", &url])).await;
    assert_eq!(
        forbidden.status.code(),
        Some(5),
        "{}",
        text(&forbidden.stderr)
    );
    assert!(
        text(&forbidden.stdout).contains("621"),
        "{}",
        text(&forbidden.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_mode_sends_the_key_and_is_chosen_when_set() {
    let emulator = Emulator::start().await;
    emulator.set_node_auth(NodeAuth::ApiKey(api_key_hash(DEMO_API_KEY)));
    let cache = tempfile::tempdir().unwrap();

    let token = run(propusk_api_key(DEMO_API_KEY, cache.path(), &["token"])).await;
    assert!(token.status.success(), "{}", text(&token.stderr));
    assert_eq!(text(&token.stdout), format!("{DEMO_API_KEY}\n"));
    let header = run(propusk_api_key(DEMO_API_KEY, cache.path(), &["header"])).await;
    assert_eq!(text(&header.stdout), format!("X-API-Key: {DEMO_API_KEY}\n"));

    // WAVES_API_KEY wins over the OAuth settings.
    let mut both = propusk(
        &emulator.base_url(),
        cache.path(),
        &["get", &emulator.node_url()],
    );
    both.env("WAVES_API_KEY", DEMO_API_KEY);
    // The node is the API origin `get` may send the key to.
    both.env("WAVES_NODE_URLS", emulator.node_url());
    let both = run(both).await;
    assert_eq!(both.status.code(), Some(0), "{}", text(&both.stderr));
    assert_eq!(emulator.logins(), 0);
    assert!(
        std::fs::read_dir(cache.path()).map_or(true, |mut d| d.next().is_none()),
        "the API key is not written to the cache folder"
    );

    let node_url = emulator.node_url();
    let wrong = run(propusk_api_key(
        "Canary-Wrong-Key",
        cache.path(),
        &["get", &node_url, "--node-url", &node_url],
    ))
    .await;
    assert_eq!(
        wrong.status.code(),
        Some(5),
        "the node's 403 is not a rejection to retry"
    );
    assert!(text(&wrong.stdout).contains("Provided API key is not correct"));
    assert!(!text(&wrong.stderr).contains("Canary"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_rejection_and_transport_errors_have_their_codes_and_no_secrets() {
    let emulator = Emulator::start().await;
    let cache = tempfile::tempdir().unwrap();

    let mut no_url = propusk(&emulator.base_url(), cache.path(), &["token"]);
    no_url.env_remove("WAVES_AUTH_URL");
    let no_url = run(no_url).await;
    assert_eq!(no_url.status.code(), Some(2));
    assert!(
        text(&no_url.stderr).contains("WAVES_AUTH_URL"),
        "{}",
        text(&no_url.stderr)
    );

    let mut no_password = propusk(&emulator.base_url(), cache.path(), &["token"]);
    no_password.env_remove("WAVES_PASSWORD");
    let no_password = run(no_password).await;
    assert_eq!(no_password.status.code(), Some(2));
    assert!(text(&no_password.stderr).contains("WAVES_PASSWORD"));

    let mut wrong = propusk(&emulator.base_url(), cache.path(), &["token"]);
    wrong.env("WAVES_PASSWORD", "Canary-Wrong-Pa55");
    let wrong = run(wrong).await;
    assert_eq!(wrong.status.code(), Some(3), "{}", text(&wrong.stderr));
    assert!(!text(&wrong.stderr).contains("Canary-Wrong-Pa55"));
    assert!(wrong.stdout.is_empty());

    assert_url_handling(
        |url, args| propusk(url, cache.path(), args),
        "--auth-url",
        &emulator.base_url(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_token_without_a_login_is_service_mode() {
    let emulator = Emulator::start().await;
    let cache = tempfile::tempdir().unwrap();
    let mut service = propusk(&emulator.base_url(), cache.path(), &["header"]);
    service
        .env_remove("WAVES_LOGIN")
        .env_remove("WAVES_PASSWORD")
        .env(
            "WAVES_SERVICE_TOKEN",
            waves_auth::testkit::DEMO_SERVICE_TOKEN,
        );
    let service = run(service).await;
    assert!(service.status.success(), "{}", text(&service.stderr));
    assert!(text(&service.stdout).starts_with("Authorization: Bearer ey"));
    assert_eq!((emulator.service_grants(), emulator.logins()), (1, 0));
}
