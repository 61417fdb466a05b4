//! `propusk rustore token | header | get`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use rustore_auth::{PRODUCTION_URL, RustoreConfig, RustoreSource};

use crate::common::{CacheArgs, CliError, CommonAction, required, run_common, secret_from_env};
use crate::proxy::{self, ProxyArgs, Upstream};

/// RuStore Public API: the JWE token sent as `Public-Token`.
#[derive(Debug, Args)]
pub struct RustoreArgs {
    #[command(subcommand)]
    action: RustoreAction,
    /// API base URL (the alternative host is https://public-api-m.rustore.ru).
    #[arg(long, global = true, env = "RUSTORE_BASE_URL", hide_env_values = true, default_value = PRODUCTION_URL)]
    base_url: String,
    /// Key ID from the RuStore console.
    #[arg(long, global = true, env = "RUSTORE_KEY_ID", hide_env_values = true)]
    key_id: Option<String>,
    /// File holding the private key (base64 PKCS#8 DER as the console gives it, PEM PKCS#8 or
    /// PEM PKCS#1). Without it, RUSTORE_PRIVATE_KEY holds the key text itself.
    #[arg(
        long,
        global = true,
        env = "RUSTORE_PRIVATE_KEY_FILE",
        hide_env_values = true,
        value_name = "PATH"
    )]
    private_key_file: Option<PathBuf>,
    /// Extra trusted root certificates (a PEM file), e.g. the Russian Trusted Root CA for
    /// public-api-m.rustore.ru.
    #[arg(
        long,
        global = true,
        env = "RUSTORE_ROOT_CERTS",
        hide_env_values = true,
        value_name = "PATH"
    )]
    root_certs: Option<PathBuf>,
    #[command(flatten)]
    cache: CacheArgs,
}

#[derive(Debug, Subcommand)]
enum RustoreAction {
    #[command(flatten)]
    Common(CommonAction),
    /// Forward local plain-HTTP requests to the API with the credential (docs/proxy.md).
    Proxy(ProxyArgs),
}

impl RustoreArgs {
    /// Whether this runs a server (`proxy`).
    pub fn serves(&self) -> bool {
        matches!(self.action, RustoreAction::Proxy(_))
    }
}

/// Runs the subcommand.
pub async fn run(args: RustoreArgs) -> Result<(), CliError> {
    let key_id = required(args.key_id, "--key-id", "RUSTORE_KEY_ID")?;
    let mut builder = RustoreConfig::builder()
        .base_url(args.base_url.clone())
        .key_id(key_id);
    builder = match (
        args.private_key_file,
        secret_from_env("RUSTORE_PRIVATE_KEY"),
    ) {
        (Some(path), _) => builder.private_key_file(path),
        (None, Some(key)) => builder.private_key(key),
        (None, None) => {
            return Err(CliError::usage(
                "the RuStore private key is missing: pass --private-key-file PATH or set RUSTORE_PRIVATE_KEY to the key text (secrets are never taken from flags)",
            ));
        }
    };
    if let Some(path) = args.root_certs {
        let pem = auth_core::provider::private_fs::read_capped(
            &path,
            auth_core::provider::private_fs::MAX_FILE_BYTES,
        )
        .map_err(|error| {
            CliError::usage(format!(
                "could not read the root certificates file {}: {error}",
                path.display()
            ))
        })?;
        builder = builder.add_root_certificate_pem(&pem);
    }
    let config = builder.build()?;
    let http = config.http_settings().clone();
    let cache = args.cache.cache(RustoreSource::new(config))?;
    match &args.action {
        RustoreAction::Common(action) => run_common(action, cache, http).await,
        RustoreAction::Proxy(proxy_args) => {
            let upstream = Upstream {
                base_url: args.base_url,
                cache,
                http,
            };
            proxy::run(proxy_args, upstream).await
        }
    }
}
