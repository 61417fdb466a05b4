//! `propusk evotor ...` as a shell user meets it: the real binary against the fake Evotor Cloud.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

use evotor_auth::UserId;
use evotor_auth::testkit::{AccountStart, EventCredential, FakeCloud, ServiceAuth};
use evotor_auth::webhook::SubscriptionEventType;
use secrecy::{ExposeSecret, SecretString};

const SERVICE_TOKEN: &str = "9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d11";

fn propusk(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_propusk"));
    command.arg("evotor").args(args).env_clear();
    command
}

async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A running `propusk evotor serve`, killed when dropped.
struct Serve {
    child: Child,
    url: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn serve(cache: &std::path::Path, env: &[(&str, &str)]) -> Serve {
    let mut command = propusk(&["serve", "--listen", "127.0.0.1:0"]);
    command
        .env("PROPUSK_CACHE_DIR", cache)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Serve { child, url }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_keeps_accounts_across_a_restart_and_get_uses_the_handed_over_token() {
    let cache = tempfile::tempdir().unwrap();
    let env = [("EVOTOR_SERVICE_TOKEN", SERVICE_TOKEN)];
    let first = serve(cache.path(), &env).await;
    let mut cloud = FakeCloud::start(
        &first.url,
        ServiceAuth::Token(SecretString::from(SERVICE_TOKEN)),
    )
    .await
    .unwrap();
    let alice = UserId::parse("01-000000000000001").unwrap();
    cloud
        .run_account_life(&alice, AccountStart::Create)
        .await
        .unwrap();
    let user_token = cloud.user_token(&alice).unwrap();
    let (cloud_token, _) = cloud.hand_over_token(&alice).await.unwrap();

    // Restart over the same store folder.
    drop(first);
    let second = serve(cache.path(), &env).await;
    cloud.set_receiver_url(&second.url);
    let stores = cloud
        .send(
            "stores",
            reqwest::Method::PUT,
            "/api/v1/inventories/stores",
            Some(&format!("Bearer {user_token}")),
            "[]",
        )
        .await
        .unwrap();
    assert_eq!(stores.status, 200, "the user token survived the restart");
    let again = cloud.create_account(&alice).await.unwrap();
    assert_eq!(
        (again.status, again.body.as_str()),
        (409, r#"{"errors":[{"code":2005}]}"#)
    );
    let resent = cloud
        .subscription_event(
            &alice,
            "s-1",
            &SubscriptionEventType::SubscriptionCreated,
            1,
            EventCredential::Service,
        )
        .await
        .unwrap();
    assert_eq!(resent.status, 200);
    let wrong = cloud
        .send(
            "wrong",
            reqwest::Method::POST,
            "/api/v1/user/token",
            Some("Bearer nope"),
            "{}",
        )
        .await
        .unwrap();
    assert_eq!(
        (wrong.status, wrong.body.as_str()),
        (401, r#"{"errors":[{"code":1001}]}"#)
    );
    assert!(
        !std::fs::read_to_string(cache.path().join(evotor_auth::webhook::USERS_FILE))
            .unwrap()
            .contains(&user_token),
        "user tokens are stored as digests"
    );

    // The client side with the Cloud token the receiver got.
    let search = format!("{}api/v1/inventories/stores/search", cloud.url());
    let mut get = propusk(&["get", &search]);
    get.env("EVOTOR_TOKEN", cloud_token.expose_secret());
    // The fake Cloud is the API origin: `get` sends the token nowhere else.
    get.env("EVOTOR_BASE_URL", cloud.url());
    let output = run(get).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("Мой магазин1"));
    let mut v2 = propusk(&["get", &format!("{}stores", cloud.url())]);
    v2.env("EVOTOR_TOKEN", cloud_token.expose_secret());
    // The fake Cloud is the API origin: `get` sends the token nowhere else.
    v2.env("EVOTOR_BASE_URL", cloud.url());
    let output = run(v2).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("\"paging\""));
    let last = cloud.api_requests().pop().unwrap();
    assert!(last.authorization && !last.x_authorization);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_in_basic_mode() {
    let cache = tempfile::tempdir().unwrap();
    let server = serve(
        cache.path(),
        &[
            ("EVOTOR_WEBHOOK_LOGIN", "partner"),
            ("EVOTOR_WEBHOOK_PASSWORD", "s3cret-pass"),
        ],
    )
    .await;
    let cloud = FakeCloud::start(
        &server.url,
        ServiceAuth::Basic("partner".into(), SecretString::from("s3cret-pass")),
    )
    .await
    .unwrap();
    let bob = UserId::parse("01-000000000000002").unwrap();
    cloud
        .run_account_life(&bob, AccountStart::Create)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_and_header_print_the_cloud_token() {
    let mut token = propusk(&["token"]);
    token.env("EVOTOR_TOKEN", "f46b89a5-8e80-4591-b0aa-94551790444b");
    let output = run(token).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        "f46b89a5-8e80-4591-b0aa-94551790444b\n"
    );
    let mut header = propusk(&["header"]);
    header.env("EVOTOR_TOKEN", "f46b89a5-8e80-4591-b0aa-94551790444b");
    let output = run(header).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        "X-Authorization: f46b89a5-8e80-4591-b0aa-94551790444b\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_exits_3_after_one_retry() {
    let cloud = FakeCloud::start(
        "http://127.0.0.1:9",
        ServiceAuth::Token(SecretString::from(SERVICE_TOKEN)),
    )
    .await
    .unwrap();
    let mut get = propusk(&[
        "get",
        &format!("{}api/v1/inventories/stores/search", cloud.url()),
    ]);
    get.env("EVOTOR_TOKEN", "00000000-0000-4000-8000-000000000000");
    // The fake Cloud is the API origin: `get` sends the token nowhere else.
    get.env("EVOTOR_BASE_URL", cloud.url());
    let output = run(get).await;
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    assert_eq!(
        cloud.api_calls(),
        2,
        "the request is repeated once, then the rejection is final"
    );
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("00000000-0000-4000"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_settings_exit_2_naming_the_variable() {
    let output = run(propusk(&["token"])).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("EVOTOR_TOKEN"),
        "{}",
        text(&output.stderr)
    );
    let cache = tempfile::tempdir().unwrap();
    let mut serve = propusk(&["serve", "--listen", "127.0.0.1:0"]);
    serve.env("PROPUSK_CACHE_DIR", cache.path());
    let output = run(serve).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("EVOTOR_SERVICE_TOKEN"),
        "{}",
        text(&output.stderr)
    );
    let mut half = propusk(&["serve", "--listen", "127.0.0.1:0"]);
    half.env("PROPUSK_CACHE_DIR", cache.path())
        .env("EVOTOR_WEBHOOK_LOGIN", "partner");
    let output = run(half).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("EVOTOR_WEBHOOK_PASSWORD"),
        "{}",
        text(&output.stderr)
    );
}
