//! Authenticates at a loopback emulator of Kontur EDI, lists the boxes and parties with the
//! cached token, and survives a revoked token with one re-authentication.
//!
//!     cargo run -p kontur-auth --example kontur_boxes
//!
//! Against the real API, drop the emulator, build the config with your developer key
//! (`api_client_id`), login and password (read the password from the environment), and leave
//! `base_url` at its default.

use auth_core::AuthError;
use kontur_auth::KonturSource;
use kontur_auth::testkit::Emulator;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), AuthError> {
    let emulator = Emulator::start().await;
    let config = emulator.config(); // the demo account; its Debug shows no password
    println!("config: {config:?}");

    let client = KonturSource::new(config).into_client()?;
    for method in [
        "V1/Boxes/GetBoxesInfo",
        "V1/Parties/GetAccessiblePartiesInfo",
    ] {
        let response = client
            .get(format!("{}{method}", emulator.base_url()))
            .await?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        println!("GET /{method}: HTTP {status}\n  {body}");
    }
    println!(
        "authentications so far: {} (the token is cached for 12 h)",
        emulator.authentications()
    );

    emulator.revoke_all_tokens(); // the API now answers 401 to the cached token
    let response = client
        .get(format!("{}V1/Boxes/GetBoxesInfo", emulator.base_url()))
        .await?;
    println!(
        "after revocation: HTTP {} (authentications: {}, one more)",
        response.status(),
        emulator.authentications()
    );
    Ok(())
}
