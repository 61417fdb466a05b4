//! `propusk evotor token | header | get | serve`.

use std::sync::Arc;

use auth_core::http::HttpSettings;
use auth_core::{CredentialCache, RefreshPolicy};
use clap::{Args, Subcommand};
use evotor_auth::webhook::{
    FileWebhookStore, MemoryWebhookStore, Receiver, ReferenceAccounts, WebhookStore,
};
use evotor_auth::{EvotorConfig, EvotorSource, PRODUCTION_URL, ReceiverConfig};

use crate::common::{
    CacheArgs, CliError, CommonAction, EXIT_TRANSPORT, print_stdout, required_secret, run_common,
    secret_from_env,
};
use crate::proxy::{self, ProxyArgs, Upstream};

/// Evotor Cloud: the Cloud token (client), and the reference webhook receiver (serve).
#[derive(Debug, Args)]
pub struct EvotorArgs {
    #[command(subcommand)]
    action: EvotorAction,
    /// Cloud API base URL.
    #[arg(long, global = true, env = "EVOTOR_BASE_URL", default_value = PRODUCTION_URL)]
    base_url: String,
    #[command(flatten)]
    cache: CacheArgs,
}

#[derive(Debug, Clone, Subcommand)]
enum EvotorAction {
    /// Print the Cloud token (from EVOTOR_TOKEN), and nothing else.
    Token,
    /// Print the auth header as sent on /api/v1/... paths ("X-Authorization: <token>").
    Header,
    /// Authenticated GET: X-Authorization on /api/v1/..., Authorization: Bearer plus the v2
    /// media type elsewhere. Prints the response body to stdout.
    Get {
        /// The URL to fetch.
        url: String,
    },
    /// Run the reference webhook receiver. The service credential comes from
    /// EVOTOR_SERVICE_TOKEN, or EVOTOR_WEBHOOK_LOGIN and EVOTOR_WEBHOOK_PASSWORD (Basic); users,
    /// tokens and applied events are kept in the cache folder and survive a restart.
    Serve {
        /// The address to listen on, e.g. 0.0.0.0:8080 (port 0 picks a free one; the first line
        /// on stdout says which).
        #[arg(long, value_name = "ADDR")]
        listen: String,
    },
    /// Forward local plain-HTTP requests to the Cloud API with the Cloud token (docs/proxy.md).
    Proxy(ProxyArgs),
}

impl EvotorArgs {
    /// Whether this runs a server (`serve`, `proxy`).
    pub fn serves(&self) -> bool {
        matches!(
            self.action,
            EvotorAction::Serve { .. } | EvotorAction::Proxy(_)
        )
    }
}

/// Runs the subcommand.
pub async fn run(args: EvotorArgs) -> Result<(), CliError> {
    let common = match &args.action {
        EvotorAction::Token => CommonAction::Token,
        EvotorAction::Header => CommonAction::Header,
        EvotorAction::Get { url } => CommonAction::Get { url: url.clone() },
        EvotorAction::Serve { listen } => return serve(listen, &args.cache).await,
        EvotorAction::Proxy(proxy_args) => return evotor_proxy(proxy_args, args.base_url).await,
    };
    let token = required_secret("EVOTOR_TOKEN", "the Evotor Cloud token")?;
    let config = EvotorConfig::builder().base_url(args.base_url).build()?;
    // The token comes from the environment each run, so there is nothing to cache: a stored
    // copy would only hide a changed EVOTOR_TOKEN.
    let cache = CredentialCache::builder(Arc::new(EvotorSource::with_token(config, token)))
        .policy(RefreshPolicy::default())
        .build();
    let http = HttpSettings::default();
    run_common(&common, cache, http).await
}

/// `proxy`: the Cloud token from EVOTOR_TOKEN on every request to the base URL's origin.
async fn evotor_proxy(proxy_args: &ProxyArgs, base_url: String) -> Result<(), CliError> {
    proxy::no_node_url(proxy_args)?;
    let token = required_secret("EVOTOR_TOKEN", "the Evotor Cloud token")?;
    let config = EvotorConfig::builder().base_url(base_url.clone()).build()?;
    let cache = CredentialCache::builder(Arc::new(EvotorSource::with_token(config, token)))
        .policy(RefreshPolicy::default())
        .build();
    let upstream = Upstream {
        base_url,
        cache,
        http: HttpSettings::default(),
        alliance: None,
    };
    proxy::run(proxy_args, upstream).await
}

fn receiver_config() -> Result<ReceiverConfig, CliError> {
    let mut builder = ReceiverConfig::builder();
    let token = secret_from_env("EVOTOR_SERVICE_TOKEN");
    let login = std::env::var("EVOTOR_WEBHOOK_LOGIN")
        .ok()
        .filter(|l| !l.is_empty());
    let password = secret_from_env("EVOTOR_WEBHOOK_PASSWORD");
    if let Some(token) = token {
        builder = builder.service_token(token);
    }
    match (login, password) {
        (Some(login), Some(password)) => builder = builder.basic(login, password),
        (Some(_), None) => {
            return Err(CliError::usage(
                "EVOTOR_WEBHOOK_LOGIN is set but EVOTOR_WEBHOOK_PASSWORD is not: set both for Basic mode",
            ));
        }
        (None, Some(_)) => {
            return Err(CliError::usage(
                "EVOTOR_WEBHOOK_PASSWORD is set but EVOTOR_WEBHOOK_LOGIN is not: set both for Basic mode",
            ));
        }
        (None, None) => {}
    }
    Ok(builder.build()?)
}

async fn serve(listen: &str, cache: &CacheArgs) -> Result<(), CliError> {
    let config = receiver_config()?;
    let store: Arc<dyn WebhookStore> = match cache.folder()? {
        Some(folder) => Arc::new(FileWebhookStore::open(folder)?),
        None => {
            eprintln!("propusk: --no-cache: users and tokens are kept in memory and lost on exit");
            Arc::new(MemoryWebhookStore::new())
        }
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|error| CliError::usage(format!("cannot listen on {listen}: {error}")))?;
    let address = listener
        .local_addr()
        .map_err(|error| CliError::usage(format!("cannot listen on {listen}: {error}")))?;
    let receiver = Receiver::new(
        config,
        store.clone(),
        Arc::new(ReferenceAccounts::new(store)),
    );
    print_stdout(format!("listening on http://{address}\n").as_bytes())?;
    evotor_auth::axum::serve_until(listener, receiver, shutdown_signal())
        .await
        .map_err(|error| CliError {
            code: EXIT_TRANSPORT,
            message: format!("the receiver stopped: {error}"),
        })
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = interrupt => {}
            () = terminate => {}
        }
    }
    #[cfg(not(unix))]
    interrupt.await;
}
