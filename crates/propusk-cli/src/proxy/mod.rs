//! `propusk <provider> proxy --listen ADDR`: a sidecar that forwards plain-HTTP requests from
//! local programs to the provider's API origin with the credential applied, cached and shared
//! as `get` does, re-authenticating once on the provider's rejection and repeating the request.
//! The guide is docs/proxy.md.
//!
//! Never an open proxy: requests go to the provider's origin only (the client's path and query,
//! never its authority); it listens on a loopback address (every request then needs
//! `Proxy-Authorization: Bearer $PROPUSK_PROXY_TOKEN`, else 407) or a Unix socket of mode 0600.

mod encrypt;
mod forward;
mod listen;
mod serve;

use std::sync::Arc;
use std::time::Duration;

use auth_core::HttpSettings;
use auth_core::{AuthClient, CredentialCache};
use clap::Args;
use secrecy::SecretString;
use url::Url;

use crate::common::{CliError, print_stdout, secret_from_env};
use forward::Proxy;
use listen::ListenAddr;

/// The proxy's own health check: `GET /_propusk/health` answers `{"status":"ok"}`.
pub const HEALTH_PATH: &str = "/_propusk/health";

/// `proxy` options.
#[derive(Debug, Clone, Args)]
pub struct ProxyArgs {
    /// Where to listen: unix:PATH (a socket of mode 0600) or a loopback HOST:PORT (then every
    /// request needs Proxy-Authorization: Bearer $PROPUSK_PROXY_TOKEN).
    #[arg(long, value_name = "ADDR")]
    listen: String,
    /// Request bodies up to this many bytes are held, so that the request can be repeated after
    /// a rejection; a larger body is streamed and its rejection goes back as it is.
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    buffer_limit: usize,
    /// The largest request body accepted (413 above).
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024 * 1024)]
    max_request_body: u64,
    /// Seconds allowed for the provider's whole answer (504 after).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    timeout: u64,
    /// Seconds a connection may take to send its request headers (closed after).
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    header_timeout: u64,
    /// Seconds a request body that is held (see --buffer-limit) may take to arrive (408 after).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    request_timeout: u64,
}

/// Size limits of one request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bodies up to this are held and can be repeated.
    pub buffer_limit: usize,
    /// Bodies over this are refused.
    pub max_request_body: u64,
    /// The time a held body may take to arrive.
    pub body_timeout: Duration,
}

/// What a provider hands the proxy.
pub struct Upstream {
    /// The provider's API base URL; its origin is where requests go.
    pub base_url: String,
    /// The credential cache, built as for `get`.
    pub cache: CredentialCache,
    /// Connection settings (extra roots, connect timeout).
    pub http: HttpSettings,
}

/// Runs the proxy until SIGTERM or SIGINT (exit 0).
pub async fn run(args: &ProxyArgs, upstream: Upstream) -> Result<(), CliError> {
    let address = ListenAddr::parse(&args.listen)?;
    let signal = shutdown_signal();
    let token = match &address {
        ListenAddr::Tcp(_) => Some(proxy_token()?),
        ListenAddr::Unix(_) => None,
    };
    let origin = origin_of(&upstream.base_url)?;
    let provider = upstream.cache.source().identity().provider();
    let mut http = upstream.http;
    http.timeout = Duration::from_secs(args.timeout.max(1));
    let client = AuthClient::with_http_client(upstream.cache, http.build_client(provider)?);
    // Bank Alliance: `X-Propusk-Encrypt: jwe` (the source is found in the client's cache).
    let alliance = client
        .cache()
        .source_as::<alliance_auth::AllianceSource>()
        .is_some();
    let proxy = Arc::new(Proxy {
        client,
        origin,
        token,
        limits: Limits {
            buffer_limit: args.buffer_limit,
            max_request_body: args.max_request_body,
            body_timeout: Duration::from_secs(args.request_timeout.max(1)),
        },
        alliance,
    });
    let header_timeout = Duration::from_secs(args.header_timeout.max(1));
    let app = axum::Router::new()
        .fallback(forward::handle)
        .with_state(proxy);
    match address {
        ListenAddr::Tcp(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .map_err(|error| CliError::usage(format!("cannot listen on {address}: {error}")))?;
            let bound = listener
                .local_addr()
                .map_err(|error| CliError::usage(format!("cannot listen on {address}: {error}")))?;
            print_stdout(format!("listening on {bound}\n").as_bytes())?;
            serve::serve(listener, app, header_timeout, signal).await
        }
        #[cfg(unix)]
        ListenAddr::Unix(path) => {
            let listener = listen::bind_unix(&path)?;
            print_stdout(format!("listening on unix:{}\n", path.display()).as_bytes())?;
            let result = serve::serve(listener, app, header_timeout, signal).await;
            let _ = std::fs::remove_file(&path);
            result
        }
        #[cfg(not(unix))]
        ListenAddr::Unix(_) => Err(CliError::usage("unix:PATH needs a Unix system")),
    }
}

/// `PROPUSK_PROXY_TOKEN`, required for a TCP listener.
fn proxy_token() -> Result<SecretString, CliError> {
    secret_from_env("PROPUSK_PROXY_TOKEN").ok_or_else(|| {
        CliError::usage(
            "PROPUSK_PROXY_TOKEN is not set: a TCP --listen needs it (clients send Proxy-Authorization: Bearer <it>); or listen on unix:PATH",
        )
    })
}

/// The origin of `base_url`: https, or plain http to a loopback host only.
fn origin_of(base_url: &str) -> Result<Url, CliError> {
    let url = Url::parse(base_url).map_err(|error| {
        CliError::usage(format!("the base URL `{base_url}` is not valid: {error}"))
    })?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(CliError::usage(format!(
                "the base URL `{base_url}` must be https (plain http only to a loopback address)"
            )));
        }
    }
    let mut origin = url;
    origin.set_path("/");
    origin.set_query(None);
    origin.set_fragment(None);
    Ok(origin)
}

/// SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this is called, not when the
/// future is first polled, so a signal right after a "ready" line is not missed.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let terminate = signal(SignalKind::terminate()).ok();
        let interrupt = signal(SignalKind::interrupt()).ok();
        async move {
            let wait = |signal: Option<tokio::signal::unix::Signal>| async move {
                match signal {
                    Some(mut signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(terminate) => {}
                () = wait(interrupt) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
