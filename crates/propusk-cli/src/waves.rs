//! `propusk waves token | header | get | api-key-hash`.

use std::io::Read;

use auth_core::CredentialCache;
use auth_core::HttpSettings;
use clap::{Args, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use waves_auth::{WavesConfig, WavesSource, api_key_hash};

use crate::common::{
    CacheArgs, CliError, CommonAction, parse_origins, print_stdout, required, required_secret,
    run_common_with, secret_from_env,
};
use crate::proxy::{self, ProxyArgs, Upstream};

/// Waves Enterprise: the node's X-API-Key, or OAuth access tokens from the authorization service.
///
/// API-key mode is chosen when WAVES_API_KEY is set. Otherwise OAuth: --auth-url / WAVES_AUTH_URL,
/// --login / WAVES_LOGIN and WAVES_PASSWORD (or, without a login, a service token in
/// WAVES_SERVICE_TOKEN). Access tokens are refreshed 30 s before their JWT `exp`, with the
/// rotating refresh token kept in the cache folder.
#[derive(Debug, Args)]
pub struct WavesArgs {
    #[command(subcommand)]
    action: WavesAction,
    /// The authorization service's base URL (OAuth mode).
    #[arg(long, global = true, env = "WAVES_AUTH_URL", hide_env_values = true)]
    auth_url: Option<String>,
    /// Login (OAuth mode; the password comes from WAVES_PASSWORD only).
    #[arg(long, global = true, env = "WAVES_LOGIN", hide_env_values = true)]
    login: Option<String>,
    /// A node's origin (e.g. https://node.example.com:6862) that `get` may send the credential
    /// to, besides the authorization service's; repeatable.
    #[arg(
        long = "node-url",
        global = true,
        value_name = "ORIGIN",
        env = "WAVES_NODE_URLS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    node_urls: Vec<String>,
    #[command(flatten)]
    cache: CacheArgs,
}

#[derive(Debug, Subcommand)]
enum WavesAction {
    #[command(flatten)]
    Common(CommonAction),
    /// Read an API key on stdin, print its node api-key-hash
    /// (Base58(Keccak256(Blake2b256(key)))).
    ApiKeyHash,
    /// Forward local plain-HTTP requests to the node given by --node-url with the credential
    /// (docs/proxy.md).
    Proxy(ProxyArgs),
}

impl WavesArgs {
    /// Whether this runs a server (`proxy`).
    pub fn serves(&self) -> bool {
        matches!(self.action, WavesAction::Proxy(_))
    }
}

/// Runs the subcommand.
pub async fn run(args: WavesArgs) -> Result<(), CliError> {
    if matches!(args.action, WavesAction::ApiKeyHash) {
        return print_api_key_hash();
    }
    let http = HttpSettings::default();
    let nodes = parse_origins(&args.node_urls, "--node-url")?;
    let cache = if let Some(key) = secret_from_env("WAVES_API_KEY") {
        // Nothing to cache: the key is the credential, and writing it to disk adds only risk.
        let config = WavesConfig::builder().api_key(key).build()?;
        CredentialCache::new(WavesSource::new(config))
    } else {
        let auth_url = required(args.auth_url, "--auth-url", "WAVES_AUTH_URL")?;
        let builder = WavesConfig::builder().auth_url(auth_url);
        let builder = match (args.login, secret_from_env("WAVES_SERVICE_TOKEN")) {
            (None, Some(service_token)) => builder.service_token(service_token),
            (login, _) => {
                let login = required(login, "--login", "WAVES_LOGIN")?;
                let password = required_secret("WAVES_PASSWORD", "the Waves password")?;
                builder.login(login).password(password)
            }
        };
        let source = WavesSource::new(builder.build()?);
        args.cache.cache(source)?
    };
    match &args.action {
        WavesAction::Common(action) => run_common_with(action, cache, http, &nodes).await,
        WavesAction::Proxy(proxy_args) => {
            // The proxy forwards to one node: the first --node-url / WAVES_NODE_URLS.
            let node = nodes.first().ok_or_else(|| {
                CliError::usage(
                    "the waves proxy needs --node-url ORIGIN (or WAVES_NODE_URLS): the node its requests go to",
                )
            })?;
            let upstream = Upstream {
                base_url: node.as_str().trim_end_matches('/').to_owned(),
                cache,
                http,
            };
            proxy::run(proxy_args, upstream).await
        }
        WavesAction::ApiKeyHash => print_api_key_hash(),
    }
}

/// `api-key-hash`: the key from stdin (one trailing line break dropped), its hash on stdout.
fn print_api_key_hash() -> Result<(), CliError> {
    let mut input = Vec::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_end(&mut input)
        .map_err(|error| {
            CliError::usage(format!("could not read the API key from stdin: {error}"))
        })?;
    let input = String::from_utf8(input)
        .map_err(|_| CliError::usage("the API key on stdin is not UTF-8 text"))?;
    let key = SecretString::from(input);
    let text = key.expose_secret();
    let text = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(text);
    if text.is_empty() {
        return Err(CliError::usage(
            "no API key on stdin: pipe it in, e.g. `printf %s \"$KEY\" | propusk waves api-key-hash`",
        ));
    }
    print_stdout(format!("{}\n", api_key_hash(text)).as_bytes())
}
