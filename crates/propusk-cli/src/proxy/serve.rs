//! The accept loop: a header-read timeout on every connection, and a graceful stop.

use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;

use crate::common::CliError;

/// How long requests in flight may take to finish after SIGTERM or SIGINT: 10 s.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `signal`, closing connections that have not sent their
/// request headers within `header_timeout`; then stops accepting and lets requests in flight
/// finish for up to [`SHUTDOWN_GRACE`].
pub async fn serve<L>(
    mut listener: L,
    app: axum::Router,
    header_timeout: Duration,
    signal: impl Future<Output = ()>,
) -> Result<(), CliError>
where
    L: axum::serve::Listener,
{
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = GracefulShutdown::new();
    let mut signal = std::pin::pin!(signal);
    loop {
        tokio::select! {
            (io, _) = listener.accept() => {
                let service = TowerToHyperService::new(app.clone());
                let connection = builder.serve_connection(TokioIo::new(io), service).into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(target: "propusk::proxy", %error, "connection ended");
                    }
                });
            }
            () = &mut signal => break,
        }
    }
    drop(listener);
    tracing::info!(target: "propusk::proxy", "stopping: letting requests in flight finish");
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(target: "propusk::proxy", "requests still in flight after the grace period");
    }
    Ok(())
}
