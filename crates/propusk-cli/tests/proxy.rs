//! `propusk <provider> proxy` as a program in another language meets it: the real binary in
//! front of each provider's emulator, driven with plain HTTP (reqwest, curl).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

const PROXY_TOKEN: &str = "proxy-token-5e1f0b2c9d";
const PROVIDERS: [&str; 5] = ["kontur", "rustore", "alliance", "waves", "evotor"];

/// One provider's emulator, in this process.
enum Emulator {
    Kontur(kontur_auth::testkit::Emulator),
    Rustore(rustore_auth::testkit::Emulator),
    Alliance(alliance_auth::testkit::Emulator),
    Waves(waves_auth::testkit::Emulator),
    Evotor(evotor_auth::testkit::Emulator, String),
}

impl Emulator {
    async fn start(provider: &str) -> Self {
        match provider {
            "kontur" => Self::Kontur(kontur_auth::testkit::Emulator::start().await),
            "rustore" => Self::Rustore(rustore_auth::testkit::Emulator::start().await),
            "alliance" => Self::Alliance(alliance_auth::testkit::Emulator::start().await),
            "waves" => Self::Waves(waves_auth::testkit::Emulator::start().await),
            "evotor" => {
                let cloud = evotor_auth::testkit::Emulator::start().await;
                let user = evotor_auth::UserId::parse("01-000000000000001").unwrap();
                let token = cloud.issue_cloud_token(&user);
                Self::Evotor(
                    cloud,
                    secrecy::ExposeSecret::expose_secret(&token).to_owned(),
                )
            }
            other => panic!("no provider {other}"),
        }
    }

    fn provider(&self) -> &'static str {
        match self {
            Self::Kontur(_) => "kontur",
            Self::Rustore(_) => "rustore",
            Self::Alliance(_) => "alliance",
            Self::Waves(_) => "waves",
            Self::Evotor(..) => "evotor",
        }
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    fn origin(&self) -> String {
        let url = match self {
            Self::Kontur(e) => e.base_url(),
            Self::Rustore(e) => e.base_url(),
            Self::Alliance(e) => e.base_url(),
            Self::Waves(e) => e.base_url(),
            Self::Evotor(e, _) => e.base_url(),
        };
        url.trim_end_matches('/').to_owned()
    }

    /// The settings, all from the environment.
    fn env(&self) -> Vec<(&'static str, String)> {
        let origin = self.origin();
        match self {
            Self::Kontur(_) => {
                use kontur_auth::testkit::*;
                vec![
                    ("KONTUR_BASE_URL", origin),
                    ("KONTUR_API_CLIENT_ID", DEMO_CLIENT_ID.into()),
                    ("KONTUR_LOGIN", DEMO_LOGIN.into()),
                    ("KONTUR_PASSWORD", DEMO_PASSWORD.into()),
                ]
            }
            Self::Rustore(_) => {
                use rustore_auth::testkit::*;
                vec![
                    ("RUSTORE_BASE_URL", origin),
                    ("RUSTORE_KEY_ID", TEST_KEY_ID.into()),
                    ("RUSTORE_PRIVATE_KEY", TEST_PRIVATE_KEY.into()),
                ]
            }
            Self::Alliance(_) => {
                use alliance_auth::testkit::*;
                vec![
                    ("ALLIANCE_BASE_URL", origin),
                    ("ALLIANCE_SERVICE_CODE", DEMO_SERVICE_CODE.into()),
                    ("ALLIANCE_AUTH_KEY", DEMO_AUTH_KEY.into()),
                ]
            }
            Self::Waves(_) => {
                use waves_auth::testkit::*;
                vec![
                    ("WAVES_AUTH_URL", origin),
                    ("WAVES_LOGIN", DEMO_LOGIN.into()),
                    ("WAVES_PASSWORD", DEMO_PASSWORD.into()),
                ]
            }
            Self::Evotor(_, token) => {
                vec![("EVOTOR_BASE_URL", origin), ("EVOTOR_TOKEN", token.clone())]
            }
        }
    }

    /// The secret values among the settings.
    fn secrets(&self) -> Vec<String> {
        self.env()
            .into_iter()
            .filter(|(name, _)| {
                ["PASSWORD", "PRIVATE_KEY", "AUTH_KEY", "TOKEN"]
                    .iter()
                    .any(|s| name.ends_with(s))
            })
            .map(|(_, value)| value)
            .collect()
    }

    fn proxy_args(&self) -> Vec<String> {
        match self {
            Self::Waves(_) => vec!["--node-url".into(), self.origin()],
            _ => Vec::new(),
        }
    }

    /// A path of the API that needs the credential.
    fn path(&self) -> &'static str {
        match self {
            Self::Kontur(_) => "/V1/Boxes/GetBoxesInfo",
            Self::Rustore(_) => rustore_auth::testkit::RESOURCE_PATH,
            Self::Alliance(_) => "/ecom/execute_request/hpp/v1/operations",
            Self::Waves(_) => "/node/status",
            Self::Evotor(..) => "/api/v1/inventories/stores/search",
        }
    }

    /// Makes the next two API answers rejections, whatever the credential.
    fn reject_next_two(&self) {
        for _ in 0..2 {
            match self {
                Self::Kontur(e) => e.inject(
                    kontur_auth::testkit::Endpoint::Api,
                    auth_core::testkit::emulator::Failure::Status(401),
                ),
                Self::Rustore(_) => {}
                Self::Alliance(e) => e.inject(
                    alliance_auth::testkit::Endpoint::Api,
                    auth_core::testkit::emulator::Failure::Provider(
                        alliance_auth::testkit::ProviderFailure::Reject(
                            alliance_auth::testkit::Rejection::unauthorized(),
                        ),
                    ),
                ),
                Self::Waves(e) => e.inject(
                    waves_auth::testkit::Endpoint::Node,
                    auth_core::testkit::emulator::Failure::Status(401),
                ),
                Self::Evotor(e, _) => e.inject(
                    evotor_auth::testkit::Endpoint::Api,
                    auth_core::testkit::emulator::Failure::Status(401),
                ),
            }
        }
        if let Self::Rustore(e) = self {
            e.reject_all_resources(true);
        }
    }

    async fn control(&self, what: &str) -> Value {
        let url = format!("{}/_emulator/{what}", self.origin());
        let http = reqwest::Client::new();
        let response = if what == "counters" {
            http.get(url).send().await.unwrap()
        } else {
            http.post(url).send().await.unwrap()
        };
        assert!(
            response.status().is_success(),
            "{what}: {}",
            response.status()
        );
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(Value::Null)
    }

    async fn counter(&self, name: &str) -> u64 {
        self.control("counters").await[name].as_u64().unwrap()
    }
}

/// A running proxy process, killed when dropped.
struct Proxy {
    child: Child,
    /// `127.0.0.1:PORT` or `unix:PATH`.
    address: String,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn proxy_command(emulator: &Emulator, cache: &std::path::Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_propusk"));
    command
        .arg(emulator.provider())
        .arg("proxy")
        .args(emulator.proxy_args())
        .args(extra)
        .env_clear()
        .env("PROPUSK_CACHE_DIR", cache)
        .env("PROPUSK_PROXY_TOKEN", PROXY_TOKEN);
    for (name, value) in emulator.env() {
        command.env(name, value);
    }
    command
}

/// Starts `command` and waits for its `listening on ADDR` line.
async fn start(mut command: Command) -> Proxy {
    tokio::task::spawn_blocking(move || {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(address) = line.trim().strip_prefix("listening on ") else {
            let mut stderr = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
            panic!("no `listening on` line: {line:?} {stderr}");
        };
        Proxy {
            address: address.to_owned(),
            child,
        }
    })
    .await
    .unwrap()
}

async fn start_proxy(emulator: &Emulator, cache: &std::path::Path) -> Proxy {
    start(proxy_command(emulator, cache, &["--listen", "127.0.0.1:0"])).await
}

async fn json(response: reqwest::Response) -> Value {
    let bytes = response.bytes().await.unwrap();
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)))
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

impl Proxy {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        http()
            .get(self.url(path))
            .header("proxy-authorization", format!("Bearer {PROXY_TOKEN}"))
            .send()
            .await
            .unwrap()
    }

    /// SIGTERM, then everything it wrote and its exit code.
    fn stop(mut self) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = self.child.wait().unwrap();
        let mut output = String::new();
        let _ = self
            .child
            .stdout
            .take()
            .map(|mut s| s.read_to_string(&mut output));
        let _ = self
            .child
            .stderr
            .take()
            .map(|mut s| s.read_to_string(&mut output));
        (status.code(), output)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_requests_take_one_authentication() {
    for provider in PROVIDERS {
        let emulator = Emulator::start(provider).await;
        let cache = tempfile::tempdir().unwrap();
        let proxy = start_proxy(&emulator, cache.path()).await;
        for _ in 0..100 {
            let response = proxy.get(emulator.path()).await;
            assert_eq!(
                response.status(),
                200,
                "{provider}: {}",
                response.text().await.unwrap()
            );
        }
        let counters = emulator.control("counters").await;
        let expected = if provider == "evotor" { 0 } else { 1 };
        assert_eq!(
            counters["authentications"], expected,
            "{provider}: {counters}"
        );
        assert_eq!(counters["api_calls"], 100, "{provider}: {counters}");
        assert_eq!(counters["api_rejections"], 0, "{provider}: {counters}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_credential_is_replaced_once_and_the_request_repeated() {
    for provider in PROVIDERS {
        let emulator = Emulator::start(provider).await;
        let cache = tempfile::tempdir().unwrap();
        let proxy = start_proxy(&emulator, cache.path()).await;
        assert_eq!(proxy.get(emulator.path()).await.status(), 200, "{provider}");
        let authentications = emulator.counter("authentications").await;
        emulator.control("revoke").await;
        let response = proxy.get(emulator.path()).await;
        let counters = emulator.control("counters").await;
        assert_eq!(
            counters["api_rejections"],
            if provider == "evotor" { 2 } else { 1 },
            "{provider}: {counters}"
        );
        assert_eq!(
            counters["api_calls"], 3,
            "{provider}: the request was repeated: {counters}"
        );
        if provider == "evotor" {
            // The Cloud token is the credential: the repeat is rejected too and goes back as is.
            assert_eq!(response.status(), 401);
            continue;
        }
        assert_eq!(response.status(), 200, "{provider}");
        assert_eq!(
            counters["authentications"],
            authentications + 1,
            "{provider}: one re-authentication: {counters}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_rejection_goes_back_to_the_client_as_it_is() {
    for provider in PROVIDERS {
        let emulator = Emulator::start(provider).await;
        let cache = tempfile::tempdir().unwrap();
        let proxy = start_proxy(&emulator, cache.path()).await;
        assert_eq!(proxy.get(emulator.path()).await.status(), 200, "{provider}");
        emulator.reject_next_two();
        let response = proxy.get(emulator.path()).await;
        assert_eq!(response.status(), 401, "{provider}");
        let body = response.text().await.unwrap();
        assert!(
            !body.is_empty() && !body.contains("propusk"),
            "{provider}: the provider's own body: {body}"
        );
        let counters = emulator.control("counters").await;
        assert_eq!(counters["api_calls"], 3, "{provider}: {counters}");
        if provider != "evotor" {
            assert_eq!(counters["authentications"], 2, "{provider}: {counters}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_proxies_on_one_redis_authenticate_once() {
    let redis = auth_core::testkit::RedisServer::start();
    for provider in ["kontur", "rustore", "alliance", "waves"] {
        let emulator = Emulator::start(provider).await;
        let mut proxies = Vec::new();
        let mut caches = Vec::new();
        for _ in 0..8 {
            let cache = tempfile::tempdir().unwrap();
            let mut command = proxy_command(&emulator, cache.path(), &["--listen", "127.0.0.1:0"]);
            command.env("PROPUSK_STORE", redis.url());
            proxies.push(start(command).await);
            caches.push(cache);
        }
        let answers =
            futures_util::future::join_all(proxies.iter().map(|p| p.get(emulator.path()))).await;
        for answer in answers {
            assert_eq!(answer.status(), 200, "{provider}");
        }
        let counters = emulator.control("counters").await;
        assert_eq!(counters["authentications"], 1, "{provider}: {counters}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_token_a_request_gets_407_and_reaches_nobody() {
    let emulator = Emulator::start("kontur").await;
    let cache = tempfile::tempdir().unwrap();
    let proxy = start_proxy(&emulator, cache.path()).await;
    for token in [
        None,
        Some("Bearer wrong"),
        Some(PROXY_TOKEN),
        Some("Basic cHJveHk6dG9rZW4="),
    ] {
        let mut request = http().get(proxy.url(emulator.path()));
        if let Some(token) = token {
            request = request.header("proxy-authorization", token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 407, "{token:?}");
        assert!(response.headers().contains_key("proxy-authenticate"));
    }
    let health = http()
        .get(proxy.url("/_propusk/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 407);
    let counters = emulator.control("counters").await;
    assert_eq!(counters["authentications"], 0, "{counters}");
    assert_eq!(counters["api_calls"], 0, "{counters}");
    let health = proxy.get("/_propusk/health").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "{\"status\":\"ok\"}\n");
}

/// A listener that records the request heads it gets and answers 200.
fn other_origin() -> (String, std::sync::mpsc::Receiver<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let _ = sender.send(String::from_utf8_lossy(&head).to_lowercase());
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    (address, receiver)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_reaches_another_origin() {
    let emulator = Emulator::start("kontur").await;
    let cache = tempfile::tempdir().unwrap();
    let proxy = start_proxy(&emulator, cache.path()).await;
    let (other, seen) = other_origin();

    // An absolute-form request naming another origin still goes to the provider.
    let address = proxy.address.clone();
    let path = emulator.path();
    let target = other.clone();
    let raw = tokio::task::spawn_blocking(move || {
        let other = target;
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        write!(
            stream,
            "GET http://{other}{path} HTTP/1.1\r\nHost: {other}\r\nProxy-Authorization: Bearer {PROXY_TOKEN}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    })
    .await
    .unwrap();
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(raw.contains("Boxes"), "the provider answered: {raw}");

    // A redirect to another origin is followed without the credential.
    if let Emulator::Kontur(kontur) = &emulator {
        kontur.inject(
            kontur_auth::testkit::Endpoint::Api,
            auth_core::testkit::emulator::Failure::RedirectTo(format!("http://{other}/elsewhere")),
        );
    }
    let response = proxy.get(emulator.path()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
    let head = seen.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(head.starts_with("get /elsewhere"), "{head}");
    assert!(!head.contains("konturediauth"), "{head}");
    assert!(!head.contains("authorization"), "{head}");
    assert!(
        seen.try_recv().is_err(),
        "only the redirect reached the other origin"
    );

    // A client's own credential header is replaced, never passed through.
    let response = http()
        .get(proxy.url(emulator.path()))
        .header("proxy-authorization", format!("Bearer {PROXY_TOKEN}"))
        .header("authorization", "KonturEdiAuth konturediauth_token=forged")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unix_socket_is_mode_0600_and_needs_no_token() {
    use std::os::unix::fs::PermissionsExt;
    let emulator = Emulator::start("rustore").await;
    let cache = tempfile::tempdir().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let socket = folder.path().join("rustore.sock");
    let listen = format!("unix:{}", socket.display());
    let mut command = proxy_command(&emulator, cache.path(), &["--listen", &listen]);
    command.env_remove("PROPUSK_PROXY_TOKEN");
    let proxy = start(command).await;
    assert_eq!(proxy.address, listen);
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let url = format!("http://localhost{}", emulator.path());
    let socket_path = socket.display().to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("curl")
            .args(["-sS", "--fail", "--unix-socket", &socket_path, &url])
            .output()
            .expect("curl is needed (Debian: apt-get install curl)")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("\"code\":\"OK\""));
    let leftovers: Vec<_> = std::fs::read_dir(folder.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "only the socket: {leftovers:?}");
    let (code, _) = proxy.stop();
    assert_eq!(code, Some(0));
    assert!(!socket.exists(), "the socket is removed on exit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_listen_settings_are_usage_errors() {
    let kontur = Emulator::start("kontur").await;
    let waves = Emulator::start("waves").await;
    let cache = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Command)> = vec![
        (
            "0.0.0.0",
            proxy_command(&kontur, cache.path(), &["--listen", "0.0.0.0:0"]),
        ),
        (
            "[::]",
            proxy_command(&kontur, cache.path(), &["--listen", "[::]:0"]),
        ),
        (
            "a LAN address",
            proxy_command(&kontur, cache.path(), &["--listen", "192.168.0.1:8080"]),
        ),
        (
            "no port",
            proxy_command(&kontur, cache.path(), &["--listen", "127.0.0.1"]),
        ),
        (
            "--node-url for kontur",
            proxy_command(
                &kontur,
                cache.path(),
                &[
                    "--listen",
                    "127.0.0.1:0",
                    "--node-url",
                    "http://127.0.0.1:1",
                ],
            ),
        ),
        ("a plain-http base URL off loopback", {
            let mut command = proxy_command(&kontur, cache.path(), &["--listen", "127.0.0.1:0"]);
            command.env("KONTUR_BASE_URL", "http://edi-api.example.com");
            command
        }),
        ("no token on TCP", {
            let mut command = proxy_command(&kontur, cache.path(), &["--listen", "127.0.0.1:0"]);
            command.env_remove("PROPUSK_PROXY_TOKEN");
            command
        }),
        ("waves without --node-url", {
            let mut command = Command::new(env!("CARGO_BIN_EXE_propusk"));
            command
                .args(["waves", "proxy", "--listen", "127.0.0.1:0"])
                .env_clear()
                .env("PROPUSK_CACHE_DIR", cache.path())
                .env("PROPUSK_PROXY_TOKEN", PROXY_TOKEN);
            for (name, value) in waves.env() {
                command.env(name, value);
            }
            command
        }),
    ];
    for (what, mut command) in cases {
        let output = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{what}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.stdout.is_empty(), "{what}: never listening");
        assert!(!String::from_utf8_lossy(&output.stderr).contains(PROXY_TOKEN));
    }
    assert_eq!(kontur.counter("authentications").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_the_output_at_trace_and_sigterm_exits_0() {
    for provider in PROVIDERS {
        let emulator = Emulator::start(provider).await;
        let cache = tempfile::tempdir().unwrap();
        let mut command = proxy_command(&emulator, cache.path(), &["--listen", "127.0.0.1:0"]);
        command.env("PROPUSK_LOG", "trace");
        let proxy = start(command).await;
        assert_eq!(proxy.get(emulator.path()).await.status(), 200, "{provider}");
        emulator.control("revoke").await;
        let _ = proxy.get(emulator.path()).await;
        let _ = proxy.get(emulator.path()).await;
        let (code, output) = proxy.stop();
        assert_eq!(code, Some(0), "{provider}: {output}");
        assert!(
            output.contains("proxied"),
            "{provider}: an access log: {output}"
        );
        // The credential now in the cache, as `token` prints it.
        let mut token = Command::new(env!("CARGO_BIN_EXE_propusk"));
        token
            .args([emulator.provider(), "token"])
            .env_clear()
            .env("PROPUSK_CACHE_DIR", cache.path());
        for (name, value) in emulator.env() {
            token.env(name, value);
        }
        let token = String::from_utf8(token.output().unwrap().stdout).unwrap();
        let mut secrets = emulator.secrets();
        secrets.push(PROXY_TOKEN.to_owned());
        secrets.push(token.trim().to_owned());
        for secret in secrets {
            assert!(!secret.is_empty());
            // Keys are long: any 24-character piece of one is a leak.
            let piece: String = secret.chars().take(24).collect();
            assert!(
                !output.contains(&piece),
                "{provider}: a secret in the output: {piece}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_repeated_up_to_the_buffer_limit_and_streamed_above_it() {
    let emulator = Emulator::start("rustore").await;
    let cache = tempfile::tempdir().unwrap();
    let settings = [
        "--listen",
        "127.0.0.1:0",
        "--buffer-limit",
        "1024",
        "--max-request-body",
        "200000",
    ];
    let proxy = start(proxy_command(&emulator, cache.path(), &settings)).await;
    let post = |proxy: &Proxy, body: Vec<u8>| {
        http()
            .post(proxy.url(emulator.path()))
            .header("proxy-authorization", format!("Bearer {PROXY_TOKEN}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let small = br#"{"a":1}"#.to_vec();
    assert_eq!(post(&proxy, small.clone()).await.unwrap().status(), 200);
    emulator.control("revoke").await;
    assert_eq!(
        post(&proxy, small.clone()).await.unwrap().status(),
        200,
        "repeated after the rejection"
    );
    let Emulator::Rustore(rustore) = &emulator else {
        unreachable!()
    };
    let bodies: Vec<_> = rustore
        .requests()
        .into_iter()
        .filter(|r| r.path == emulator.path())
        .map(|r| r.body)
        .collect();
    assert_eq!(
        bodies,
        vec![small.clone(); 3],
        "the repeat carried the same body"
    );

    // A second revocation of the credential that replaced a rejected one, within the
    // rejection window (30 s), is held as a permission problem would be: the streamed-body
    // case runs on a second proxy with its own cache, whose first rejection re-authenticates.
    let cache = tempfile::tempdir().unwrap();
    let proxy = start(proxy_command(&emulator, cache.path(), &settings)).await;
    let large = vec![b'x'; 100_000];
    assert_eq!(post(&proxy, large.clone()).await.unwrap().status(), 200);
    emulator.control("revoke").await;
    let answer = post(&proxy, large.clone()).await.unwrap();
    assert_eq!(
        answer.status(),
        401,
        "a streamed body is not repeated: the rejection as is"
    );
    assert_eq!(
        post(&proxy, large.clone()).await.unwrap().status(),
        200,
        "the next one re-authenticates"
    );
    assert_eq!(rustore.requests().last().unwrap().body.len(), 100_000);

    let too_large = post(&proxy, vec![b'x'; 200_001]).await.unwrap();
    assert_eq!(too_large.status(), 413);
    let calls = emulator.counter("api_calls").await;
    assert_eq!(calls, 6, "the oversized body reached nobody");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alliance_rejection_under_200_is_recognised() {
    let emulator = Emulator::start("alliance").await;
    let cache = tempfile::tempdir().unwrap();
    let proxy = start_proxy(&emulator, cache.path()).await;
    assert_eq!(proxy.get(emulator.path()).await.status(), 200);
    let url = format!("{}/_emulator/rejection?under=200", emulator.origin());
    assert!(http().post(url).send().await.unwrap().status().is_success());
    emulator.control("revoke").await;
    let answer = proxy.get(emulator.path()).await;
    assert_eq!(answer.status(), 200);
    let body = json(answer).await;
    assert_eq!(body["status"], "OK", "{body}");
    assert_eq!(emulator.counter("authentications").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alliance_bodies_are_encrypted_for_the_client_and_answers_decrypted() {
    let emulator = Emulator::start("alliance").await;
    let cache = tempfile::tempdir().unwrap();
    let proxy = start_proxy(&emulator, cache.path()).await;
    let refund = |amount: u32| {
        http()
            .post(proxy.url("/ecom/execute_request/payments/v3/refund"))
            .header("proxy-authorization", format!("Bearer {PROXY_TOKEN}"))
            .header("x-propusk-encrypt", "jwe")
            .header("content-type", "application/json")
            .body(format!(r#"{{"amount":{amount}}}"#))
            .send()
    };
    let answer = refund(100).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["x-propusk-decrypted"], "jwe");
    let body = json(answer).await;
    assert_eq!(body["status"], "OK", "{body}");
    assert_eq!(body["received"]["amount"], 100, "{body}");
    // A new session has a new serverPublic: the repeat is encrypted again, to the new key.
    emulator.control("revoke").await;
    let body = json(refund(7).await.unwrap()).await;
    assert_eq!(body["received"]["amount"], 7, "{body}");
    assert_eq!(emulator.counter("authentications").await, 2);
    // Without the header the body goes as it is (and the bank cannot read it).
    let plain = http()
        .post(proxy.url("/ecom/execute_request/payments/v3/refund"))
        .header("proxy-authorization", format!("Bearer {PROXY_TOKEN}"))
        .body(r#"{"amount":1}"#)
        .send()
        .await
        .unwrap();
    let text = plain.text().await.unwrap();
    assert!(
        text.contains("b_encryptor_failed_decrypt_message"),
        "{text}"
    );
    // The header means nothing to another provider's proxy: a 400, not a silent pass-through.
    let kontur = Emulator::start("kontur").await;
    let kontur_proxy = start_proxy(&kontur, cache.path()).await;
    let answer = http()
        .get(kontur_proxy.url(kontur.path()))
        .header("proxy-authorization", format!("Bearer {PROXY_TOKEN}"))
        .header("x-propusk-encrypt", "jwe")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_by_the_header_and_request_timeouts() {
    let emulator = Emulator::start("kontur").await;
    let cache = tempfile::tempdir().unwrap();
    let proxy = start(proxy_command(
        &emulator,
        cache.path(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--header-timeout",
            "1",
            "--request-timeout",
            "1",
        ],
    ))
    .await;
    let address = proxy.address.clone();
    let (silent, trickled) = tokio::task::spawn_blocking(move || {
        // Generous bounds: the timeouts are 1 s, the reads give up after 20 s. A request whose
        // headers stop half-way (slowloris) is cut off.
        let mut silent = std::net::TcpStream::connect(&address).unwrap();
        silent.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        silent.write_all(b"GET /V1/Boxes/GetBoxesInfo HTTP/1.1\r\nHost: x\r\n").unwrap();
        let started = std::time::Instant::now();
        let mut answer = Vec::new();
        let _ = silent.read_to_end(&mut answer);
        let silent = started.elapsed();
        let mut trickle = std::net::TcpStream::connect(&address).unwrap();
        trickle.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        write!(
            trickle,
            "POST /V1/Boxes/GetBoxesInfo HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Bearer {PROXY_TOKEN}\r\nContent-Length: 10\r\n\r\nab"
        )
        .unwrap();
        let mut answer = [0u8; 12];
        let _ = trickle.read_exact(&mut answer);
        (silent, String::from_utf8_lossy(&answer).into_owned())
    })
    .await
    .unwrap();
    assert!(
        silent < Duration::from_secs(15),
        "a silent connection was closed: {silent:?}"
    );
    assert_eq!(trickled, "HTTP/1.1 408");
    assert_eq!(emulator.counter("api_calls").await, 0);
}
