//! Authorizes a device session at a loopback emulator of Bank Alliance, calls a protected
//! method, survives an HTTP 200 + `b_used_token` rejection, and encrypts card data.
//!
//!     cargo run -p alliance-auth --features testkit --example alliance_session

use alliance_auth::testkit::{Emulator, Rejection};
use alliance_auth::{AllianceSession, AllianceSource, CardData, CardNumber};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::builder()
        .rejection(Rejection::used_token_under_200())
        .start()
        .await;
    let client = AllianceSource::new(emulator.config()).into_client()?;
    let url = emulator.url("ecom/execute_request/hpp/v1/operations");

    let answer = client.get(&url).await?.text().await?;
    println!("first call:  {answer}");

    emulator.end_session(); // the bank now answers HTTP 200 + b_used_token
    let answer = client.get(&url).await?.text().await?;
    println!("after b_used_token under HTTP 200: {answer}");
    println!(
        "authorize calls: {} (one re-authorization)",
        emulator.authorizations()
    );

    let session = AllianceSession::from_credential(&*client.cache().get().await?)?;
    println!("session device id: {}", session.device_id());
    // The emulator's key stands in for the bank's payment key here.
    let payment_key = emulator.server_key().public_key();
    let card_number = CardNumber::new("5573670000000304")?.encrypt(payment_key)?;
    let card_data = CardData::with_cvv(3, 25, "111")?.encrypt(payment_key)?;
    println!("encryptedCardNumber: {}…", &card_number[..40]);
    println!("encryptedCardData:   {}…", &card_data[..40]);
    Ok(())
}
