//! `propusk emulate <provider> --listen HOST:PORT`: a provider's loopback emulator as a
//! standalone server, for tests in any language.
//!
//! It prints one line of JSON on stdout: `url`, the settings that make `propusk <provider> token`
//! succeed against it (non-secret ones by their flag names without dashes, secrets by their
//! environment variable names), `resource` (a URL of the emulated API that needs the credential)
//! and `control` (the control API's base, see docs/proxy.md), then serves until SIGTERM or SIGINT
//! and exits 0. The emulators' published demo secrets are no secrets of anyone's.

use clap::{Args, ValueEnum};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::common::{CliError, print_stdout};
use crate::proxy::shutdown_signal;

/// Run a provider's emulator as a server.
#[derive(Debug, Args)]
pub struct EmulateArgs {
    /// The provider to emulate.
    provider: Provider,
    /// The address to listen on, HOST:PORT (port 0 picks a free one; the JSON line says which).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:0")]
    listen: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Provider {
    Kontur,
    Rustore,
    Alliance,
    Waves,
    Evotor,
}

/// Runs the emulator until SIGTERM or SIGINT.
pub async fn run(args: EmulateArgs) -> Result<(), CliError> {
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|error| CliError::usage(format!("cannot listen on {}: {error}", args.listen)))?;
    // Each arm keeps its emulator alive (it stops when dropped) until the signal.
    let (settings, _emulator): (Value, Box<dyn std::any::Any>) = match args.provider {
        Provider::Kontur => {
            use kontur_auth::testkit::{DEMO_CLIENT_ID, DEMO_LOGIN, DEMO_PASSWORD, Emulator};
            let emulator = Emulator::builder().start_on(listener);
            let url = emulator.base_url();
            let settings = json!({
                "provider": "kontur",
                "url": url,
                "base-url": url,
                "client-id": DEMO_CLIENT_ID,
                "login": DEMO_LOGIN,
                "KONTUR_PASSWORD": DEMO_PASSWORD,
                "resource": format!("{url}V1/Boxes/GetBoxesInfo"),
                "control": format!("{url}_emulator/"),
            });
            (settings, Box::new(emulator))
        }
        Provider::Rustore => {
            use rustore_auth::testkit::{Emulator, TEST_KEY_ID, TEST_PRIVATE_KEY};
            let emulator = Emulator::builder().start_on(listener);
            let url = emulator.base_url();
            let settings = json!({
                "provider": "rustore",
                "url": url,
                "base-url": url,
                "key-id": TEST_KEY_ID,
                "RUSTORE_PRIVATE_KEY": TEST_PRIVATE_KEY.trim(),
                "resource": emulator.resource_url(),
                "control": format!("{url}/_emulator/"),
            });
            (settings, Box::new(emulator))
        }
        Provider::Alliance => {
            use alliance_auth::testkit::{DEMO_AUTH_KEY, DEMO_SERVICE_CODE, Emulator};
            let emulator = Emulator::builder().start_on(listener);
            let url = emulator.base_url();
            let settings = json!({
                "provider": "alliance",
                "url": url,
                "base-url": url,
                "service-code": DEMO_SERVICE_CODE,
                "ALLIANCE_AUTH_KEY": DEMO_AUTH_KEY,
                "resource": emulator.url("ecom/execute_request/hpp/v1/operations"),
                "encrypted-resource": emulator.url("ecom/execute_request/payments/v3/refund"),
                "control": emulator.url("_emulator/"),
            });
            (settings, Box::new(emulator))
        }
        Provider::Waves => {
            use waves_auth::testkit::{DEMO_LOGIN, DEMO_PASSWORD, Emulator};
            let emulator = Emulator::builder().start_on(listener);
            let url = emulator.base_url();
            let settings = json!({
                "provider": "waves",
                "url": url,
                "auth-url": url,
                "node-url": url,
                "login": DEMO_LOGIN,
                "WAVES_PASSWORD": DEMO_PASSWORD,
                "resource": emulator.node_url(),
                "control": format!("{url}/_emulator/"),
            });
            (settings, Box::new(emulator))
        }
        Provider::Evotor => {
            use evotor_auth::UserId;
            use evotor_auth::testkit::Emulator;
            // No receiver: the Cloud's webhook side is `propusk evotor serve`'s business.
            let cloud = Emulator::builder().start_on(listener);
            let user = UserId::parse("01-000000000000001").map_err(CliError::usage)?;
            let token = cloud.issue_cloud_token(&user);
            let url = cloud.base_url();
            let settings = json!({
                "provider": "evotor",
                "url": url,
                "base-url": url,
                "EVOTOR_TOKEN": token.expose_secret(),
                "resource": format!("{url}api/v1/inventories/stores/search"),
                "control": format!("{url}_emulator/"),
            });
            (settings, Box::new(cloud))
        }
    };
    let signal = shutdown_signal();
    print_stdout(format!("{settings}\n").as_bytes())?;
    signal.await;
    Ok(())
}
