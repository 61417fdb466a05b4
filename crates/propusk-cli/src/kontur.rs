//! `propusk kontur token | header | get`.

use auth_core::HttpSettings;
use clap::{Args, Subcommand};
use kontur_auth::{KonturConfig, KonturSource, PRODUCTION_URL};

use crate::common::{CacheArgs, CliError, CommonAction, required, required_secret, run_common};
use crate::proxy::{self, ProxyArgs, Upstream};

/// Kontur EDI: the KonturEdiAuth token.
#[derive(Debug, Args)]
pub struct KonturArgs {
    #[command(subcommand)]
    action: KonturAction,
    /// API base URL.
    #[arg(long, global = true, env = "KONTUR_BASE_URL", hide_env_values = true, default_value = PRODUCTION_URL)]
    base_url: String,
    /// Developer key (konturediauth_api_client_id).
    #[arg(
        long,
        global = true,
        env = "KONTUR_API_CLIENT_ID",
        hide_env_values = true
    )]
    client_id: Option<String>,
    /// Login (the password comes from KONTUR_PASSWORD only).
    #[arg(long, global = true, env = "KONTUR_LOGIN", hide_env_values = true)]
    login: Option<String>,
    #[command(flatten)]
    cache: CacheArgs,
}

#[derive(Debug, Subcommand)]
enum KonturAction {
    #[command(flatten)]
    Common(CommonAction),
    /// Forward local plain-HTTP requests to the API with the credential (docs/proxy.md).
    Proxy(ProxyArgs),
}

impl KonturArgs {
    /// Whether this runs a server (`proxy`).
    pub fn serves(&self) -> bool {
        matches!(self.action, KonturAction::Proxy(_))
    }
}

/// Runs the subcommand.
pub async fn run(args: KonturArgs) -> Result<(), CliError> {
    let client_id = required(args.client_id, "--client-id", "KONTUR_API_CLIENT_ID")?;
    let login = required(args.login, "--login", "KONTUR_LOGIN")?;
    let password = required_secret("KONTUR_PASSWORD", "the Kontur password")?;
    let config = KonturConfig::builder()
        .base_url(args.base_url.clone())
        .api_client_id(client_id)
        .login(login)
        .password(password)
        .build()?;
    let cache = args.cache.cache(KonturSource::new(config))?;
    let http = HttpSettings::default();
    let outcome = match &args.action {
        KonturAction::Common(action) => run_common(action, cache, http).await,
        KonturAction::Proxy(proxy_args) => {
            let upstream = Upstream {
                base_url: args.base_url,
                cache,
                http,
            };
            proxy::run(proxy_args, upstream).await
        }
    };
    outcome.map_err(with_kontur_hint)
}

/// What kontur-auth says when Kontur refuses the account (it names the builder methods).
const REFUSED: &str = "Authenticate refused the developer key, login or password";

/// `error` with the command line's words for what the library's message names.
fn with_kontur_hint(mut error: CliError) -> CliError {
    if error.message.contains(REFUSED) {
        error
            .message
            .push_str(" (propusk: check KONTUR_API_CLIENT_ID, KONTUR_LOGIN and KONTUR_PASSWORD)");
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_account_gains_the_variables_that_set_it() {
        let said = with_kontur_hint(CliError {
            code: 3,
            message: format!(
                "kontur: {REFUSED} (Invalid credentials); check the values given to KonturConfigBuilder::password"
            ),
        });
        assert!(
            said.message.ends_with(
                "(propusk: check KONTUR_API_CLIENT_ID, KONTUR_LOGIN and KONTUR_PASSWORD)"
            ),
            "{}",
            said.message
        );
        let other = with_kontur_hint(CliError::usage("unrelated"));
        assert_eq!(other.message, "unrelated");
    }
}
