//! Gets a RuStore token from the loopback emulator and calls an API resource with it.
//!
//! Run with `cargo run -p rustore-auth --example rustore_token --features testkit`.
//! Against the real API, drop the emulator, leave `base_url` at its default and use your own
//! key ID and the private key from the console (read from a file or the environment).

use auth_core::{AuthError, SecretString};
use rustore_auth::testkit::{Emulator, TEST_KEY_ID, TEST_PRIVATE_KEY};
use rustore_auth::{RustoreConfig, RustoreSource};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), AuthError> {
    let emulator = Emulator::start().await;

    let config = RustoreConfig::builder()
        .base_url(emulator.base_url())
        .key_id(TEST_KEY_ID)
        .private_key(SecretString::from(TEST_PRIVATE_KEY))
        .build()?;
    println!("config: {config:?}");

    let client = RustoreSource::new(config).into_client()?;
    let credential = client.cache().get().await?;
    println!(
        "token acquired ({} s left); headers: {:?}",
        credential.remaining().as_secs(),
        credential.headers().keys().collect::<Vec<_>>()
    );

    for attempt in 1..=3 {
        let response = client.get(emulator.resource_url()).await?;
        println!("GET #{attempt}: HTTP {}", response.status());
    }
    emulator.revoke_tokens();
    let response = client.get(emulator.resource_url()).await?;
    println!(
        "after revocation: HTTP {} (re-authenticated once)",
        response.status()
    );
    println!(
        "token requests: {}, resource requests: {}",
        emulator.auth_requests(),
        emulator.resource_requests()
    );
    Ok(())
}
