//! A server for the receiver's router that hostile clients cannot hold: a header-read timeout
//! (which also closes kept-alive connections that stay idle), a connection limit, and a graceful
//! shutdown bounded in time. The request (body) timeout is the router's own
//! ([`ReceiverConfig::request_timeout`](crate::ReceiverConfig::request_timeout)).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// How long a connection may take to send a request's headers (and how long a kept-alive
/// connection may sit idle before its next request): 10 s.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long requests in flight may run after a shutdown signal: 10 s.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// How many connections are served at once; more wait in the listen queue: 1024.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Settings of [`serve_with`] (`propusk evotor serve --header-timeout`, `--shutdown-timeout`,
/// `--max-connections`).
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// A connection that has not sent its request headers within this is closed; a kept-alive
    /// connection waiting for its next request is closed after it too. Default 10 s.
    pub header_timeout: Duration,
    /// After the shutdown signal, how long requests in flight may finish. Default 10 s.
    pub shutdown_timeout: Duration,
    /// Connections served at once; further ones are accepted only as others close. Default
    /// 1024.
    pub max_connections: usize,
}

impl Default for ServeSettings {
    fn default() -> Self {
        Self {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Serves `router` (usually [`super::router`]) on `listener` over HTTP/1.1 until `shutdown`
/// completes; then stops accepting, lets requests in flight finish for up to
/// [`ServeSettings::shutdown_timeout`], and returns `Ok`.
///
/// Accept errors (out of file descriptors, say) do not stop the server: it waits briefly and
/// accepts again.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    settings: &ServeSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(settings.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_timeout);
    let service = TowerToHyperService::new(router);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed; retrying shortly");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = builder.serve_connection(TokioIo::new(stream), service.clone());
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(settings.shutdown_timeout) => {
            tracing::warn!("requests still in flight at the end of the shutdown timeout were dropped");
        }
    }
    Ok(())
}
