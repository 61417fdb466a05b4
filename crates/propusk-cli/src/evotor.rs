//! `propusk evotor token | header | get | serve`.

use std::sync::Arc;
use std::time::Duration;

use auth_core::HttpSettings;
use auth_core::{AuthError, RefreshPolicy};
use clap::{Args, Subcommand};
use evotor_auth::axum::{DEFAULT_MAX_CONNECTIONS, ServeSettings};
use evotor_auth::webhook::{
    FileWebhookStore, MemoryWebhookStore, PostgresWebhookStore, Receiver, ReferenceAccounts,
    WebhookStore,
};
use evotor_auth::{EvotorConfig, EvotorSource, PRODUCTION_URL, ReceiverConfig};
use secrecy::SecretString;

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
    #[arg(long, global = true, env = "EVOTOR_BASE_URL", hide_env_values = true, default_value = PRODUCTION_URL)]
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
        /// The URL to fetch (the API origin only, unless allowed with --allow-origin).
        url: String,
        /// Also send the credential to ORIGIN; repeatable.
        #[arg(
            long = "allow-origin",
            value_name = "ORIGIN",
            env = "PROPUSK_ALLOW_ORIGINS",
            value_delimiter = ',',
            hide_env_values = true
        )]
        allow_origins: Vec<String>,
    },
    /// Run the reference webhook receiver. The service credential comes from
    /// EVOTOR_SERVICE_TOKEN, or EVOTOR_WEBHOOK_LOGIN and EVOTOR_WEBHOOK_PASSWORD (Basic); users,
    /// tokens and applied events are kept in --store (a folder, one receiver at a time; or a
    /// postgres://USER:PASSWORD@HOST:PORT/DB URL shared by several receivers) and survive a
    /// restart. SIGTERM or SIGINT stops it (exit 0).
    Serve(ServeArgs),
    /// Forward local plain-HTTP requests to the Cloud API with the Cloud token (docs/proxy.md).
    Proxy(ProxyArgs),
}

impl EvotorArgs {
    /// Whether this runs a server (`serve`, `proxy`).
    pub fn serves(&self) -> bool {
        matches!(self.action, EvotorAction::Serve(_) | EvotorAction::Proxy(_))
    }
}

/// `propusk evotor serve`.
#[derive(Debug, Clone, Args)]
struct ServeArgs {
    /// The address to listen on, e.g. 0.0.0.0:8080 (port 0 picks a free one; the first line on
    /// stdout says which).
    #[arg(long, value_name = "ADDR")]
    listen: String,
    /// Close a connection that has not sent its request headers within this (also the idle
    /// limit of a kept-alive connection): 10, 10s, 500ms, 2m.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    header_timeout: Duration,
    /// Answer 408 to a request whose body has not arrived within this.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    request_timeout: Duration,
    /// On SIGTERM or SIGINT, let requests in flight finish for up to this, then exit 0.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    shutdown_timeout: Duration,
    /// Connections served at once; more wait in the listen queue.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
}

/// `10` (seconds), `10s`, `500ms` or `2m`; more than zero.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration; write e.g. 10, 10s, 500ms or 2m"))?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        other => return Err(format!("unknown unit {other:?}; use ms, s or m")),
    };
    if !(seconds > 0.0 && seconds < 86_400.0 * 365.0) {
        return Err(format!(
            "{text:?} must be more than zero and less than a year"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Runs the subcommand.
pub async fn run(args: EvotorArgs) -> Result<(), CliError> {
    let common = match &args.action {
        EvotorAction::Token => CommonAction::Token,
        EvotorAction::Header => CommonAction::Header,
        EvotorAction::Get { url, allow_origins } => CommonAction::Get {
            url: url.clone(),
            allow_origins: allow_origins.clone(),
        },
        EvotorAction::Serve(serve_args) => return serve(serve_args, &args.cache).await,
        EvotorAction::Proxy(proxy_args) => return evotor_proxy(proxy_args, args.base_url).await,
    };
    let token = required_secret("EVOTOR_TOKEN", "the Evotor Cloud token")?;
    let config = EvotorConfig::builder()
        .base_url(args.base_url)
        .cloud_token(token)
        .build()?;
    // The token comes from the environment each run, so there is nothing to cache: a stored
    // copy would only hide a changed EVOTOR_TOKEN.
    let cache = EvotorSource::new(config)
        .into_cache_builder()
        .policy(RefreshPolicy::default())
        .build();
    let http = HttpSettings::default();
    run_common(&common, cache, http).await
}

/// `proxy`: the Cloud token from EVOTOR_TOKEN on every request to the base URL's origin.
async fn evotor_proxy(proxy_args: &ProxyArgs, base_url: String) -> Result<(), CliError> {
    let token = required_secret("EVOTOR_TOKEN", "the Evotor Cloud token")?;
    let config = EvotorConfig::builder()
        .base_url(base_url.clone())
        .cloud_token(token)
        .build()?;
    let cache = EvotorSource::new(config)
        .into_cache_builder()
        .policy(RefreshPolicy::default())
        .build();
    let upstream = Upstream {
        base_url,
        cache,
        http: HttpSettings::default(),
    };
    proxy::run(proxy_args, upstream).await
}

fn receiver_config(request_timeout: Duration) -> Result<ReceiverConfig, CliError> {
    let mut builder = ReceiverConfig::builder().request_timeout(request_timeout);
    let token = secret_from_env("EVOTOR_SERVICE_TOKEN");
    let login = std::env::var("EVOTOR_WEBHOOK_LOGIN")
        .ok()
        .filter(|l| !l.is_empty());
    let password = secret_from_env("EVOTOR_WEBHOOK_PASSWORD");
    let token_given = token.is_some();
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
        (None, None) if token_given => {}
        (None, None) => {
            // The library names its builder methods; the command line names its variables.
            return Err(AuthError::config(
                evotor_auth::PROVIDER,
                "no service credential: set the service token (EVOTOR_SERVICE_TOKEN) or the Basic login and password (EVOTOR_WEBHOOK_LOGIN / EVOTOR_WEBHOOK_PASSWORD)",
            )
            .into());
        }
    }
    Ok(builder.build()?)
}

/// Where `serve` keeps its state: `--store` (a folder or a postgres:// URL), else the cache
/// folder; memory with `--no-cache`.
async fn webhook_store(cache: &CacheArgs) -> Result<Arc<dyn WebhookStore>, CliError> {
    let chosen = cache.store.as_deref().filter(|s| !s.is_empty());
    if cache.no_cache && chosen.is_none() {
        eprintln!("propusk: --no-cache: users and tokens are kept in memory and lost on exit");
        return Ok(Arc::new(MemoryWebhookStore::new()));
    }
    let folder = match chosen {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let store = PostgresWebhookStore::connect(&SecretString::from(url.to_owned())).await?;
            return Ok(Arc::new(store));
        }
        Some(url) if url.contains("://") => {
            return Err(CliError::usage(
                "evotor serve keeps its users in a folder or in PostgreSQL: --store takes a folder or a postgres://USER:PASSWORD@HOST:PORT/DB URL",
            ));
        }
        Some(mistyped) if looks_like_a_mistyped_url(mistyped) => {
            return Err(CliError::usage(
                "--store looks like a mistyped URL (write postgres://USER:PASSWORD@HOST:PORT/DB) and is not used as a folder name",
            ));
        }
        Some(folder) => folder.into(),
        None => cache.folder()?.ok_or_else(|| {
            CliError::usage(
                "no folder for the receiver's state: pass --store DIR or --cache-dir DIR",
            )
        })?,
    };
    FileWebhookStore::open(folder)
        .map(|store| Arc::new(store) as Arc<dyn WebhookStore>)
        .map_err(|error| {
            let mut error = CliError::from(error);
            if error.message.contains("another receiver is using") {
                error.message.push_str(
                    " (propusk: give this one another folder with --store DIR, or a shared postgres:// store)",
                );
            }
            error
        })
}

/// `postgres:/host`, `postgresql:host`, `redis:host`: a scheme with a colon but no `//`.
fn looks_like_a_mistyped_url(text: &str) -> bool {
    let Some((scheme, _)) = text.split_once(':') else {
        return false;
    };
    ["postgres", "postgresql", "redis", "rediss"]
        .iter()
        .any(|known| scheme.eq_ignore_ascii_case(known))
}

async fn serve(args: &ServeArgs, cache: &CacheArgs) -> Result<(), CliError> {
    let config = receiver_config(args.request_timeout)?;
    let store = webhook_store(cache).await?;
    let listen = &args.listen;
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
    let settings = ServeSettings {
        header_timeout: args.header_timeout,
        shutdown_timeout: args.shutdown_timeout,
        max_connections: args.max_connections,
    };
    // The signal handlers are installed before the ready line, so a signal right after it
    // is not missed.
    let shutdown = proxy::shutdown_signal();
    print_stdout(format!("listening on http://{address}\n").as_bytes())?;
    evotor_auth::axum::serve_with(
        listener,
        evotor_auth::axum::router(receiver),
        &settings,
        shutdown,
    )
    .await
    .map_err(|error| CliError {
        code: EXIT_TRANSPORT,
        message: format!("the receiver stopped: {error}"),
    })
}
