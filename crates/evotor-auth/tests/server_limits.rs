//! The server behind the router against hostile clients (real TCP on loopback): unfinished
//! headers, slow bodies, idle kept-alive connections, a connection limit, and a shutdown with a
//! request half sent.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Counting, SERVICE_TOKEN, token_config};
use evotor_auth::ReceiverConfig;
use evotor_auth::axum::ServeSettings;
use evotor_auth::webhook::{MemoryWebhookStore, Receiver, WebhookStore};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN_BODY: &str =
    r#"{"userId":"01-000000000000001","token":"f46b89a5-8e80-4591-b0aa-94551790444b"}"#;

struct Server {
    address: std::net::SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(config: ReceiverConfig, settings: ServeSettings) -> Server {
    let store: Arc<dyn WebhookStore> = Arc::new(MemoryWebhookStore::new());
    let receiver = Receiver::new(config, store.clone(), Counting::new(store));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (shutdown, signal) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        evotor_auth::axum::serve_with(
            listener,
            evotor_auth::axum::router(receiver),
            &settings,
            async {
                let _ = signal.await;
            },
        )
        .await
    });
    Server {
        address,
        shutdown: Some(shutdown),
        task,
    }
}

fn settings(header_timeout: Duration) -> ServeSettings {
    ServeSettings {
        header_timeout,
        ..ServeSettings::default()
    }
}

fn token_request() -> String {
    format!(
        "POST /api/v1/user/token HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {SERVICE_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{TOKEN_BODY}",
        TOKEN_BODY.len()
    )
}

/// Reads until the peer closes (or `limit` passes); returns what came and whether it closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut got = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buffer[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_headers_are_closed_within_the_header_timeout_while_a_real_request_is_served() {
    let timeout = Duration::from_secs(1);
    let server = start(token_config(), settings(timeout)).await;
    let started = Instant::now();
    let mut slow = Vec::new();
    for _ in 0..100 {
        let mut stream = TcpStream::connect(server.address).await.unwrap();
        stream
            .write_all(b"POST /api/v1/user/token HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }
    // Meanwhile a complete request gets its 200 at once.
    let mut real = TcpStream::connect(server.address).await.unwrap();
    real.write_all(token_request().as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    real.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    assert!(started.elapsed() < timeout, "{:?}", started.elapsed());

    let closers = slow.into_iter().map(|mut stream| {
        tokio::spawn(async move { read_until_closed(&mut stream, Duration::from_secs(5)).await })
    });
    for closer in closers {
        let (_, closed) = closer.await.unwrap();
        assert!(closed, "an unfinished connection stayed open");
    }
    // Generous bound: the header timeout plus scheduling slack on a busy machine.
    let elapsed = started.elapsed();
    assert!(elapsed < timeout + Duration::from_secs(2), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_does_not_arrive_within_the_request_timeout_gets_408() {
    let config = ReceiverConfig::builder()
        .service_token(SecretString::from(SERVICE_TOKEN))
        .request_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let server = start(config, settings(Duration::from_secs(10))).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    let request = token_request();
    stream
        .write_all(&request.as_bytes()[..request.len() - 10])
        .await
        .unwrap();
    let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-type: application/json;charset=utf-8"),
        "{answer}"
    );
    assert!(answer.ends_with("{}"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_kept_alive_connection_is_closed_after_the_header_timeout() {
    let timeout = Duration::from_millis(700);
    let server = start(token_config(), settings(timeout)).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream.write_all(token_request().as_bytes()).await.unwrap();
    let started = Instant::now();
    let (answer, closed) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(closed, "the idle connection stayed open");
    assert!(started.elapsed() < timeout + Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_connection_limit_connections_wait_and_are_then_served() {
    let timeout = Duration::from_millis(800);
    let server = start(
        token_config(),
        ServeSettings {
            header_timeout: timeout,
            max_connections: 2,
            ..ServeSettings::default()
        },
    )
    .await;
    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(server.address).await.unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        holders.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let mut third = TcpStream::connect(server.address).await.unwrap();
    third.write_all(token_request().as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    third.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    let waited = started.elapsed();
    assert!(
        waited >= timeout - Duration::from_millis(200),
        "served before a slot was free: {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_a_half_sent_request_returns_within_the_shutdown_timeout() {
    let shutdown_timeout = Duration::from_millis(800);
    let mut server = start(
        token_config(),
        ServeSettings {
            shutdown_timeout,
            ..ServeSettings::default()
        },
    )
    .await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    let request = token_request();
    stream
        .write_all(&request.as_bytes()[..request.len() - 10])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    server.shutdown.take().unwrap().send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(5), &mut server.task)
        .await
        .expect("serve_with did not return");
    result.unwrap().unwrap();
    assert!(started.elapsed() < shutdown_timeout + Duration::from_secs(2));
    // No new connection is accepted any more.
    assert!(TcpStream::connect(server.address).await.is_err());
}
