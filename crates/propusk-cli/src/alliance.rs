//! `propusk alliance token | header | get | check-key | encrypt`.

use std::io::Read;
use std::path::{Path, PathBuf};

use alliance_auth::{
    AllianceConfig, AllianceSource, KeyProblem, KeyRole, MerchantKey, PRODUCTION_URL, PublicKey,
};
use auth_core::HttpSettings;
use clap::{Args, Subcommand};
use secrecy::{ExposeSecret, SecretString};

use crate::common::{
    CacheArgs, CliError, CommonAction, EXIT_USAGE, print_stdout, required, run_common,
    secret_from_env,
};
use crate::proxy::{self, ProxyArgs, Upstream};

/// The most `encrypt` reads from stdin: 8 MiB.
const MAX_PLAINTEXT: u64 = 8 * 1024 * 1024;

/// Bank Alliance: the device session (x-device_id, x-refresh_token).
#[derive(Debug, Args)]
pub struct AllianceArgs {
    #[command(subcommand)]
    action: AllianceAction,
    /// API base URL.
    #[arg(long, global = true, env = "ALLIANCE_BASE_URL", hide_env_values = true, default_value = PRODUCTION_URL)]
    base_url: String,
    /// The merchant's service code (a UUID from the bank).
    #[arg(
        long,
        global = true,
        env = "ALLIANCE_SERVICE_CODE",
        hide_env_values = true
    )]
    service_code: Option<String>,
    /// File holding a JWK: the merchant's private authorization key (token/header/get/check-key;
    /// else ALLIANCE_AUTH_KEY holds the JWK itself), or the public key to encrypt to (encrypt).
    #[arg(long, global = true, value_name = "PATH")]
    key_file: Option<PathBuf>,
    #[command(flatten)]
    cache: CacheArgs,
}

#[derive(Debug, Subcommand)]
enum AllianceAction {
    #[command(flatten)]
    Common(CommonAction),
    /// Validate a JWK (--key-file PATH or ALLIANCE_AUTH_KEY). Prints its public JWK on stdout;
    /// when `d` is valid but the public part is damaged, says so and prints the public JWK
    /// derived from `d`.
    CheckKey,
    /// Read plaintext on stdin (one trailing newline is dropped) and print a compact JWE
    /// (ECDH-ES+A256KW, A256GCM) to the public key in --key-file PATH: card data (`YYMMCVV`),
    /// card numbers, request bodies.
    Encrypt,
    /// Forward local plain-HTTP requests to the API with the session; X-Propusk-Encrypt: jwe
    /// encrypts a body to the session's serverPublic and decrypts the answer (docs/proxy.md).
    Proxy(ProxyArgs),
}

impl AllianceArgs {
    /// Whether this runs a server (`proxy`).
    pub fn serves(&self) -> bool {
        matches!(self.action, AllianceAction::Proxy(_))
    }
}

/// Runs the subcommand.
pub async fn run(args: AllianceArgs) -> Result<(), CliError> {
    match &args.action {
        AllianceAction::CheckKey => check_key(args.key_file.as_deref()),
        AllianceAction::Encrypt => encrypt(args.key_file.as_deref()),
        AllianceAction::Proxy(proxy_args) => {
            let cache = args.cache.cache(alliance_source(&args)?)?;
            let upstream = Upstream {
                base_url: args.base_url.clone(),
                cache,
                http: HttpSettings::default(),
            };
            proxy::run(proxy_args, upstream).await
        }
        AllianceAction::Common(action) => {
            let cache = args.cache.cache(alliance_source(&args)?)?;
            let http = HttpSettings::default();
            run_common(action, cache, http).await
        }
    }
}

/// The source for the merchant in the settings.
fn alliance_source(args: &AllianceArgs) -> Result<AllianceSource, CliError> {
    // Blank is missing: the CLI names its own flag and variable, not the builder's method.
    let service_code = required(
        args.service_code
            .clone()
            .filter(|code| !code.trim().is_empty()),
        "--service-code",
        "ALLIANCE_SERVICE_CODE",
    )?;
    let key = MerchantKey::from_jwk(read_key(args.key_file.as_deref())?.expose_secret())
        .map_err(auth_core::AuthError::from)?;
    let config = AllianceConfig::builder()
        .base_url(args.base_url.clone())
        .service_code(service_code)
        .authorization_key(key)
        .build()?;
    Ok(AllianceSource::new(config))
}

/// The key text from `--key-file`, else from `ALLIANCE_AUTH_KEY`.
fn read_key(key_file: Option<&Path>) -> Result<SecretString, CliError> {
    if let Some(path) = key_file {
        return read_key_file(path);
    }
    secret_from_env("ALLIANCE_AUTH_KEY").ok_or_else(|| {
        CliError::usage(
            "the authorization key is missing: pass --key-file PATH or set ALLIANCE_AUTH_KEY to the JWK (keys are never taken from flags)",
        )
    })
}

/// At most 64 KiB (`private_fs::MAX_KEY_FILE_BYTES`), read by the shared capped reader.
fn read_key_file(path: &Path) -> Result<SecretString, CliError> {
    let problem = |problem: String| {
        CliError::usage(format!(
            "could not read the key file {}: {problem}",
            path.display()
        ))
    };
    let bytes = auth_core::provider::private_fs::read_capped(
        path,
        auth_core::provider::private_fs::MAX_KEY_FILE_BYTES,
    )
    .map_err(|error| problem(error.to_string()))?;
    String::from_utf8(bytes)
        .map(SecretString::from)
        .map_err(|_| problem("it is not UTF-8 text (a JWK is JSON)".to_owned()))
}

fn check_key(key_file: Option<&Path>) -> Result<(), CliError> {
    let text = read_key(key_file)?;
    let result = match MerchantKey::from_jwk(text.expose_secret()) {
        Ok(key) => Ok((
            key.public_key().clone(),
            "authorization key: valid EC P-384 private key for ECDH-ES+A256KW; its public JWK (what the bank needs) is on stdout",
        )),
        // No `d`: judge it as a public key (the bank's payment key, say).
        Err(error)
            if error
                .problems()
                .contains(&KeyProblem::Missing { field: "d" }) =>
        {
            PublicKey::from_jwk(KeyRole::Public, text.expose_secret()).map(|key| {
                (
                    key,
                    "public key: valid EC P-384 public key for ECDH-ES+A256KW; printed on stdout",
                )
            })
        }
        Err(error) => Err(error),
    };
    match result {
        Ok((public, verdict)) => {
            eprintln!("propusk: {verdict}");
            print_stdout(format!("{}\n", public.to_jwk_json()).as_bytes())
        }
        Err(error) => {
            if let Some(derived) = error.derived_public() {
                print_stdout(format!("{}\n", derived.to_jwk_json()).as_bytes())?;
                eprintln!(
                    "propusk: the private part `d` is valid: the public JWK derived from it is on stdout; put its x and y in the key file"
                );
            }
            Err(CliError {
                code: EXIT_USAGE,
                message: error.to_string(),
            })
        }
    }
}

fn encrypt(key_file: Option<&Path>) -> Result<(), CliError> {
    let path = key_file.ok_or_else(|| {
        CliError::usage("encrypt needs --key-file PATH: the public JWK to encrypt to (e.g. the bank's payment key)")
    })?;
    let key = PublicKey::from_jwk(KeyRole::Public, read_key_file(path)?.expose_secret())
        .map_err(auth_core::AuthError::from)?;
    let mut plaintext = Vec::new();
    std::io::stdin()
        .take(MAX_PLAINTEXT + 1)
        .read_to_end(&mut plaintext)
        .map_err(|error| CliError::usage(format!("could not read stdin: {error}")))?;
    if plaintext.len() as u64 > MAX_PLAINTEXT {
        return Err(CliError::usage("the plaintext on stdin is over 8 MiB"));
    }
    if plaintext.ends_with(b"\n") {
        plaintext.pop();
        if plaintext.ends_with(b"\r") {
            plaintext.pop();
        }
    }
    let jwe = alliance_auth::jwe::encrypt(&key, &plaintext).map_err(auth_core::AuthError::from)?;
    print_stdout(format!("{jwe}\n").as_bytes())
}
