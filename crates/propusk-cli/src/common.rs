//! What every provider's subcommand shares: exit codes, the cache folder, secrets from the
//! environment, and the `token` / `header` / `get` actions.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use auth_core::HttpSettings;
use auth_core::store::{CredentialStore, FileStore, RedisStore};
use auth_core::{AuthClient, AuthError, CredentialCache, CredentialSource};
use clap::{Args, Subcommand};
use secrecy::{ExposeSecret, SecretString};

/// Usage or configuration error: missing setting, unreadable or malformed key, bad URL.
pub const EXIT_USAGE: u8 = 2;
/// The provider rejected the credentials (also: `get` rejected twice).
pub const EXIT_REJECTED: u8 = 3;
/// Transport or server failure: connection refused, timeout, 5xx, unparseable response.
pub const EXIT_TRANSPORT: u8 = 4;
/// `get` got a non-success status other than a rejection (the body is still printed).
pub const EXIT_STATUS: u8 = 5;

/// A failure to report: one line on stderr and an exit code.
#[derive(Debug)]
pub struct CliError {
    /// The exit code.
    pub code: u8,
    /// The line to print (never a secret).
    pub message: String,
}

impl CliError {
    /// A usage or configuration error.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }
}

impl From<AuthError> for CliError {
    fn from(error: AuthError) -> Self {
        let code = match &error {
            AuthError::Config { .. } => EXIT_USAGE,
            AuthError::Rejected { .. } => EXIT_REJECTED,
            AuthError::Store { .. } => EXIT_USAGE,
            _ => EXIT_TRANSPORT,
        };
        Self {
            code,
            message: crate::hints::with_cli_hint(error.to_string()),
        }
    }
}

/// Where credentials are cached between runs.
#[derive(Clone, Args)]
pub struct CacheArgs {
    /// Token cache folder [default: the user cache folder + /propusk].
    #[arg(
        long,
        global = true,
        env = "PROPUSK_CACHE_DIR",
        hide_env_values = true,
        value_name = "PATH"
    )]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the token cache.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Credential store shared by processes: a folder, or a redis:// URL shared by machines
    /// [default: the cache folder]. Put a URL with a password in PROPUSK_STORE, not here.
    #[arg(
        long,
        global = true,
        env = "PROPUSK_STORE",
        value_name = "DIR-or-URL",
        hide_env_values = true
    )]
    pub store: Option<String>,
}

impl std::fmt::Debug for CacheArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A Redis URL may carry a password: say only which kind of store it is.
        let store = self
            .store
            .as_deref()
            .map(|s| if s.contains("://") { "(url)" } else { s });
        f.debug_struct("CacheArgs")
            .field("cache_dir", &self.cache_dir)
            .field("no_cache", &self.no_cache)
            .field("store", &store)
            .finish()
    }
}

impl CacheArgs {
    /// The folder to use, or `None` with `--no-cache`.
    pub fn folder(&self) -> Result<Option<PathBuf>, CliError> {
        if self.no_cache {
            return Ok(None);
        }
        match &self.cache_dir {
            Some(folder) => Ok(Some(folder.clone())),
            None => FileStore::default_folder().map(Some).ok_or_else(|| {
                CliError::usage(
                    "no user cache folder is known on this system; pass --cache-dir PATH or --no-cache",
                )
            }),
        }
    }

    /// The credential store, or `None` with `--no-cache`: `--store` (a folder or a Redis URL),
    /// else the cache folder.
    pub fn store(&self) -> Result<Option<Arc<dyn CredentialStore>>, CliError> {
        if self.no_cache {
            return Ok(None);
        }
        if let Some(store) = self.store.as_deref().filter(|s| !s.is_empty()) {
            return open_store(store).map(Some);
        }
        match self.folder()? {
            Some(folder) => Ok(Some(Arc::new(trusted_folder_store(folder)?))),
            None => Ok(None),
        }
    }

    /// A cache over `source` with its own refresh policy, backed by the store.
    pub fn cache(&self, source: impl CredentialSource) -> Result<CredentialCache, CliError> {
        let mut builder = CredentialCache::builder(source);
        if let Some(store) = self.store()? {
            builder = builder.store(store);
        }
        Ok(builder.build())
    }
}

/// Schemes that name no folder: a value starting `scheme:` with one of them is a mistyped URL.
const URL_LIKE_SCHEMES: &[&str] = &[
    "redis",
    "rediss",
    "redis+tls",
    "unix",
    "tcp",
    "http",
    "https",
    "file",
    "postgres",
    "postgresql",
    "memcached",
    "valkey",
    "sentinel",
    "redis-sentinel",
];

/// The store `--store` / `PROPUSK_STORE` names: a `redis://` or `rediss://` URL (with
/// `PROPUSK_STORE_CA_FILE`'s roots for TLS), else a folder. Every message names the problem,
/// never the value (it may hold a password); nothing is created here.
fn open_store(value: &str) -> Result<Arc<dyn CredentialStore>, CliError> {
    let ca_file = std::env::var_os("PROPUSK_STORE_CA_FILE").filter(|v| !v.is_empty());
    if let Some((scheme, _)) = value.split_once("://") {
        let scheme = scheme.to_ascii_lowercase();
        let redis = match scheme.as_str() {
            "redis" => {
                if ca_file.is_some() {
                    return Err(CliError::usage(
                        "PROPUSK_STORE_CA_FILE is set, but the store is a plain redis:// URL: use rediss:// for TLS, or unset PROPUSK_STORE_CA_FILE",
                    ));
                }
                RedisStore::open(value)
            }
            "rediss" => match &ca_file {
                Some(path) => {
                    let pem = std::fs::read(path).map_err(|error| {
                        CliError::usage(format!(
                            "PROPUSK_STORE_CA_FILE: could not read {}: {error}",
                            std::path::Path::new(path).display()
                        ))
                    })?;
                    RedisStore::open_with_roots(value, &pem)
                }
                None => RedisStore::open(value),
            },
            other => {
                let shown: String = other
                    .chars()
                    .take(20)
                    .filter(|c| c.is_ascii_alphanumeric() || "+-.".contains(*c))
                    .collect();
                return Err(CliError::usage(format!(
                    "--store / PROPUSK_STORE: `{shown}://` is not a credential store; use a folder, redis://[USER:PASSWORD@]HOST[:PORT][/DB] or rediss://… (TLS)"
                )));
            }
        };
        let redis = redis.map_err(|e| CliError::usage(format!("--store / PROPUSK_STORE: {e}")))?;
        return Ok(Arc::new(redis));
    }
    if let Some((scheme, _)) = value.split_once(':')
        && URL_LIKE_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str())
    {
        return Err(CliError::usage(format!(
            "--store / PROPUSK_STORE looks like a mistyped URL (`{}:` without `//`): a Redis store is redis://[USER:PASSWORD@]HOST[:PORT][/DB] or rediss://… (TLS); a folder name cannot start with a URL scheme",
            scheme.to_ascii_lowercase()
        )));
    }
    if ca_file.is_some() {
        return Err(CliError::usage(
            "PROPUSK_STORE_CA_FILE is set, but the store is a folder: it applies to rediss:// stores only",
        ));
    }
    Ok(Arc::new(trusted_folder_store(value)?))
}

/// A file store over `folder`, refused (exit 2, naming the folder and the fix) when the folder
/// is not the user's own or others may write it: nothing is read from it or written to it.
fn trusted_folder_store(folder: impl Into<PathBuf>) -> Result<FileStore, CliError> {
    let store = FileStore::new(folder);
    store
        .check_folder()
        .map_err(|error| CliError::usage(error.to_string()))?;
    Ok(store)
}

/// The actions every provider offers.
#[derive(Debug, Clone, Subcommand)]
pub enum CommonAction {
    /// Print the current credential's token value, and nothing else.
    Token,
    /// Print the auth headers exactly as sent, one "Name: value" a line.
    Header,
    /// Authenticated GET: print the response body to stdout.
    Get {
        /// The URL to fetch. The credential goes only to the provider's API origin (the base
        /// URL's), over https or plain http to loopback; any other origin is refused (exit 2).
        url: String,
        /// Also send the credential to ORIGIN (e.g. https://host:8443); repeatable.
        #[arg(
            long = "allow-origin",
            value_name = "ORIGIN",
            env = "PROPUSK_ALLOW_ORIGINS",
            value_delimiter = ',',
            hide_env_values = true
        )]
        allow_origins: Vec<String>,
    },
}

/// Parses origins given on the command line (`--allow-origin`, `--node-url`): URLs whose
/// scheme, host and port count. A bad one is a usage error naming the flag, never the value
/// (it might carry user information).
pub fn parse_origins(values: &[String], flag: &str) -> Result<Vec<reqwest::Url>, CliError> {
    values
        .iter()
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
        .map(|value| {
            reqwest::Url::parse(value)
                .ok()
                .filter(|url| url.origin().is_tuple())
                .ok_or_else(|| {
                    CliError::usage(format!(
                        "{flag} takes an origin such as https://api.example.com:8443; one of the values given is not one"
                    ))
                })
        })
        .collect()
}

/// A secret from environment variable `variable`; unset or empty is `None`.
pub fn secret_from_env(variable: &str) -> Option<SecretString> {
    match std::env::var(variable) {
        Ok(value) if !value.is_empty() => Some(SecretString::from(value)),
        _ => None,
    }
}

/// A required secret from `variable`, with an error saying what to set.
pub fn required_secret(variable: &str, what: &str) -> Result<SecretString, CliError> {
    secret_from_env(variable).ok_or_else(|| {
        CliError::usage(format!(
            "{what} is missing: set the environment variable {variable} (secrets are never taken from flags)"
        ))
    })
}

/// A required non-secret setting.
pub fn required(value: Option<String>, flag: &str, variable: &str) -> Result<String, CliError> {
    match value {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(CliError::usage(format!(
            "{flag} is missing: pass {flag} or set {variable}"
        ))),
    }
}

/// The spelling providers document for a header (names are case-insensitive on the wire).
pub fn display_name(name: &http::HeaderName) -> &str {
    match name.as_str() {
        "authorization" => "Authorization",
        "public-token" => "Public-Token",
        "x-api-key" => "X-API-Key",
        "x-authorization" => "X-Authorization",
        "accept" => "Accept",
        other => other,
    }
}

/// Runs `token`, `header` or `get` with `cache`; `get` goes through a client built from `http`
/// (only then: a warm-cache `token` run never pays for TLS set-up).
pub async fn run_common(
    action: &CommonAction,
    cache: CredentialCache,
    http: HttpSettings,
) -> Result<(), CliError> {
    run_common_with(action, cache, http, &[]).await
}

/// [`run_common`] with more origins `get` may send the credential to (Waves' nodes).
pub async fn run_common_with(
    action: &CommonAction,
    cache: CredentialCache,
    http: HttpSettings,
    api_origins: &[reqwest::Url],
) -> Result<(), CliError> {
    match action {
        CommonAction::Token => {
            let credential = cache.get().await?;
            print_stdout(format!("{}\n", credential.token().expose_secret()).as_bytes())
        }
        CommonAction::Header => {
            let credential = cache.get().await?;
            let mut out = String::new();
            for (name, value) in credential.headers() {
                let value = String::from_utf8_lossy(value.as_bytes());
                out.push_str(&format!("{}: {value}\n", display_name(name)));
            }
            print_stdout(out.as_bytes())
        }
        CommonAction::Get { url, allow_origins } => {
            // Never echoed: a URL may carry user information or a secret in its query.
            let url = reqwest::Url::parse(url).map_err(|error| {
                CliError::usage(format!("the URL given to get is not valid: {error}"))
            })?;
            let http = http.build_client(cache.source().identity().provider())?;
            let mut client = AuthClient::with_http_client(cache, http);
            for origin in api_origins
                .iter()
                .chain(&parse_origins(allow_origins, "--allow-origin")?)
            {
                client = client.allow_origin(origin);
            }
            // Before any request (and before authenticating): a configuration error, exit 2.
            if client.allowed_origins().is_empty() {
                // The library treats "no origin named" as unrestricted; the command line never.
                return Err(CliError::usage(format!(
                    "the credential is not sent to {}: no API origin is known for it; name the node with --node-url ORIGIN (WAVES_NODE_URLS), or allow the origin with --allow-origin ORIGIN (PROPUSK_ALLOW_ORIGINS)",
                    url.origin().ascii_serialization()
                )));
            }
            client.check_destination(&url)?;
            let source = std::sync::Arc::clone(client.cache().source());
            let mut response = client.get(url).await?;
            let status = response.status();
            // Streamed to stdout as it arrives: a large answer is never held whole in memory.
            while let Some(chunk) = response.chunk().await.map_err(|error| CliError {
                code: EXIT_TRANSPORT,
                message: format!("the answer broke off: {}", error.without_url()),
            })? {
                print_stdout(&chunk)?;
            }
            let view = auth_core::ResponseView {
                status,
                headers: &http::HeaderMap::new(),
                body: None,
            };
            if status.is_success() {
                Ok(())
            } else if source.is_rejection(&view) {
                // Held by the rejection window: a credential this young was just refused, and
                // another login would not change that (docs/security.md).
                Err(CliError {
                    code: EXIT_REJECTED,
                    message: format!(
                        "the server answered HTTP {status}: it refuses a credential issued moments ago, so no new login was tried; check the account's rights for this URL"
                    ),
                })
            } else {
                Err(CliError {
                    code: EXIT_STATUS,
                    message: format!("the server answered HTTP {status}"),
                })
            }
        }
    }
}

/// Writes to stdout; a closed pipe is not an error worth a panic.
pub fn print_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(CliError {
            code: EXIT_TRANSPORT,
            message: format!("could not write the output: {error}"),
        }),
    }
}
