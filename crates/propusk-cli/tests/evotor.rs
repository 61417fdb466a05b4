//! `propusk evotor ...` as a shell user meets it: the real binary against the fake Evotor Cloud.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use evotor_auth::UserId;
use evotor_auth::testkit::{AccountStart, Emulator, EventCredential, ServiceAuth};
use evotor_auth::webhook::SubscriptionEventType;
use secrecy::{ExposeSecret, SecretString};

mod common;
use common::{run, text};

const SERVICE_TOKEN: &str = "9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d11";

fn propusk(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_propusk"));
    command.arg("evotor").args(args).env_clear();
    command
}

/// A running `propusk evotor serve`, killed when dropped.
struct Serve {
    child: Child,
    url: String,
    /// Where its stderr goes.
    log: tempfile::NamedTempFile,
}

impl Serve {
    /// What it wrote on stderr so far.
    fn stderr(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn serve(cache: &std::path::Path, env: &[(&str, &str)]) -> Serve {
    serve_with(cache, env, &[]).await
}

/// `propusk evotor serve --listen 127.0.0.1:0 ARGS…`, once it says where it listens.
async fn serve_with(cache: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> Serve {
    let mut arguments = vec!["serve", "--listen", "127.0.0.1:0"];
    arguments.extend_from_slice(args);
    let mut command = propusk(&arguments);
    let log = tempfile::NamedTempFile::new().unwrap();
    command
        .env("PROPUSK_CACHE_DIR", cache)
        .stdout(Stdio::piped())
        .stderr(log.reopen().unwrap());
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
    Serve { child, url, log }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_keeps_accounts_across_a_restart_and_get_uses_the_handed_over_token() {
    let cache = tempfile::tempdir().unwrap();
    let env = [("EVOTOR_SERVICE_TOKEN", SERVICE_TOKEN)];
    let first = serve(cache.path(), &env).await;
    let mut cloud = Emulator::builder()
        .receiver_url(&first.url)
        .service_auth(ServiceAuth::Token(SecretString::from(SERVICE_TOKEN)))
        .start()
        .await;
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
    let search = format!("{}api/v1/inventories/stores/search", cloud.base_url());
    let mut get = propusk(&["get", &search]);
    get.env("EVOTOR_TOKEN", cloud_token.expose_secret());
    // The fake Cloud is the API origin: `get` sends the token nowhere else.
    get.env("EVOTOR_BASE_URL", cloud.base_url());
    let output = run(get).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("Мой магазин1"));
    let mut v2 = propusk(&["get", &format!("{}stores", cloud.base_url())]);
    v2.env("EVOTOR_TOKEN", cloud_token.expose_secret());
    // The fake Cloud is the API origin: `get` sends the token nowhere else.
    v2.env("EVOTOR_BASE_URL", cloud.base_url());
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
    let cloud = Emulator::builder()
        .receiver_url(&server.url)
        .service_auth(ServiceAuth::Basic(
            "partner".into(),
            SecretString::from("s3cret-pass"),
        ))
        .start()
        .await;
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
    let cloud = Emulator::builder()
        .receiver_url("http://127.0.0.1:9")
        .service_auth(ServiceAuth::Token(SecretString::from(SERVICE_TOKEN)))
        .start()
        .await;
    let mut get = propusk(&[
        "get",
        &format!("{}api/v1/inventories/stores/search", cloud.base_url()),
    ]);
    get.env("EVOTOR_TOKEN", "00000000-0000-4000-8000-000000000000");
    // The fake Cloud is the API origin: `get` sends the token nowhere else.
    get.env("EVOTOR_BASE_URL", cloud.base_url());
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

/// Sends SIGTERM to `child` (by its id, with kill(1)).
fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for `child` to exit, up to `limit`; its exit status.
async fn wait_exit(
    child: &mut Child,
    limit: std::time::Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_receiver_on_the_same_folder_exits_2() {
    let cache = tempfile::tempdir().unwrap();
    let env = [("EVOTOR_SERVICE_TOKEN", SERVICE_TOKEN)];
    let _first = serve(cache.path(), &env).await;
    let mut second = propusk(&["serve", "--listen", "127.0.0.1:0"]);
    second
        .env("PROPUSK_CACHE_DIR", cache.path())
        .env("EVOTOR_SERVICE_TOKEN", SERVICE_TOKEN);
    let output = run(second).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("another receiver"),
        "{}",
        text(&output.stderr)
    );
    assert!(output.stdout.is_empty(), "it never listened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_half_sent_request_exits_0_within_the_shutdown_timeout() {
    use tokio::io::AsyncWriteExt;
    let cache = tempfile::tempdir().unwrap();
    let mut server = serve_with(
        cache.path(),
        &[("EVOTOR_SERVICE_TOKEN", SERVICE_TOKEN)],
        &["--shutdown-timeout", "1s"],
    )
    .await;
    let address = server.url.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(
            format!(
                "POST /api/v1/user/token HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {SERVICE_TOKEN}\r\nContent-Length: 100\r\n\r\n{{\"userId\":"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    terminate(&server.child);
    let status = wait_exit(&mut server.child, std::time::Duration::from_secs(5))
        .await
        .expect("still running 5 s after SIGTERM");
    assert_eq!(status.code(), Some(0));
    // Generous bound: the 1 s shutdown timeout plus process teardown on a busy machine.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    drop(stream);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_values_that_are_not_a_folder_or_postgres_exit_2_without_a_folder() {
    let cache = tempfile::tempdir().unwrap();
    for (store, expected) in [
        (
            "redis://127.0.0.1:6379",
            "postgres://USER:PASSWORD@HOST:PORT/DB",
        ),
        ("postgres:/host/db", "mistyped"),
        ("postgresql:host", "mistyped"),
    ] {
        let mut command = propusk(&["serve", "--listen", "127.0.0.1:0"]);
        command
            .current_dir(cache.path())
            .env("PROPUSK_CACHE_DIR", cache.path())
            .env("PROPUSK_STORE", store)
            .env("EVOTOR_SERVICE_TOKEN", SERVICE_TOKEN);
        let output = run(command).await;
        assert_eq!(
            output.status.code(),
            Some(2),
            "{store}: {}",
            text(&output.stderr)
        );
        assert!(
            text(&output.stderr).contains(expected),
            "{store}: {}",
            text(&output.stderr)
        );
    }
    let left: Vec<_> = std::fs::read_dir(cache.path()).unwrap().collect();
    assert!(left.is_empty(), "a folder was created: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_receivers_on_one_postgres_share_users_and_never_print_the_password() {
    use evotor_auth::testkit::postgres::TestPostgres;
    let pg = TestPostgres::start().unwrap_or_else(|problem| panic!("{problem}"));
    let url = pg.url();
    let env = [
        ("EVOTOR_SERVICE_TOKEN", SERVICE_TOKEN),
        ("PROPUSK_STORE", url.expose_secret()),
    ];
    let folder = tempfile::tempdir().unwrap();
    let mut first = serve_with(folder.path(), &env, &[]).await;
    let second = serve_with(folder.path(), &env, &[]).await;
    let cloud = Emulator::builder()
        .receiver_url(&first.url)
        .service_auth(ServiceAuth::Token(SecretString::from(SERVICE_TOKEN)))
        .start()
        .await;
    let dana = UserId::parse("01-000000000000004").unwrap();
    let created = cloud.create_account(&dana).await.unwrap();
    assert_eq!(created.status, 200, "{created:?}");
    let user_token = cloud.user_token(&dana).unwrap();
    let mut at_second = Emulator::builder()
        .receiver_url(&second.url)
        .service_auth(ServiceAuth::Token(SecretString::from(SERVICE_TOKEN)))
        .start()
        .await;
    at_second.set_receiver_url(&second.url);
    let stores = at_second
        .send(
            "stores",
            reqwest::Method::PUT,
            "/api/v1/inventories/stores",
            Some(&format!("Bearer {user_token}")),
            "[]",
        )
        .await
        .unwrap();
    assert_eq!(
        stores.status, 200,
        "the second receiver knows the first one's user"
    );
    let again = at_second.create_account(&dana).await.unwrap();
    assert_eq!(again.status, 409);
    // Nothing in the folder: the state is in PostgreSQL.
    assert!(std::fs::read_dir(folder.path()).unwrap().next().is_none());

    // SIGTERM: exit 0, and neither output shows the password.
    terminate(&first.child);
    let status = wait_exit(&mut first.child, std::time::Duration::from_secs(15)).await;
    assert_eq!(status.and_then(|s| s.code()), Some(0));
    for shown in [first.stderr(), second.stderr()] {
        assert!(!shown.contains(pg.password()), "{shown}");
    }

    // A wrong password: exit 2, the message names the server, not the password.
    let wrong = format!(
        "postgres://propusk:not-{}@127.0.0.1:{}/postgres",
        pg.password(),
        pg.port()
    );
    let mut command = propusk(&["serve", "--listen", "127.0.0.1:0"]);
    command
        .env("PROPUSK_STORE", &wrong)
        .env("EVOTOR_SERVICE_TOKEN", SERVICE_TOKEN);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("127.0.0.1"), "{stderr}");
    assert!(!stderr.contains(pg.password()), "{stderr}");
}
