//! Bank Alliance in the demo: a device session from a JWE answer, cached reuse, a forced
//! re-authorization, both rejections (HTTP 401, and HTTP 200 + `b_used_token`) with the single
//! re-authorization, a request body encrypted to `serverPublic` (and again to the next session's
//! key after the bank ends the session), and card-data encryption.

use std::sync::Arc;

use alliance_auth::testkit::{Emulator, Rejection};
use alliance_auth::{
    AllianceSession, AllianceSource, CardData, CardNumber, decrypt_answer, jwe, send_encrypted,
};
use auth_core::{AuthClient, Credential, ExposeSecret as _};
use http::Method;

use super::{Report, cached_reuse, ensure, fetch_text};
use crate::common::CliError;

const P: &str = "alliance";

const OPERATIONS: &str = "ecom/execute_request/hpp/v1/operations";
const PURCHASE: &str = "ecom/execute_request/payments/v3/create/purchase";

pub async fn run(report: &mut Report) -> Result<(), CliError> {
    let emulator = Emulator::start().await;
    let cache = super::demo_cache(AllianceSource::new(emulator.config()));
    let client = match AuthClient::new(cache.clone()) {
        Ok(client) => client,
        Err(error) => {
            report.record(P, "client", Err(error.to_string()), 0, Default::default());
            return Ok(());
        }
    };
    let auth = || emulator.authorizations();
    let operations = emulator.url(OPERATIONS);

    report
        .step(P, "first authorization (JWE answer)", auth, async {
            let credential = cache.get().await.map_err(|e| e.to_string())?;
            let session = session(&credential)?;
            ensure(
                emulator.current_device_id().as_deref() == Some(session.device_id()),
                || "the session is not the emulator's".into(),
            )?;
            for header in ["x-api_version", "x-device_id", "x-refresh_token"] {
                ensure(credential.headers().contains_key(header), || {
                    format!("no {header} header")
                })?;
            }
            Ok(format!(
                "decrypted: device {}…, session for {} h",
                &session.device_id()[..8],
                (credential.remaining().as_secs() + 1800) / 3600
            ))
        })
        .await;

    report
        .step(P, "cached reuse (1000 lookups)", auth, async {
            let outcome = cached_reuse(&cache).await?;
            ensure(emulator.authorizations() == 1, || {
                "the cache authorized again".into()
            })?;
            Ok(outcome)
        })
        .await;

    report
        .step(P, "GET …/hpp/v1/operations", auth, async {
            let body = fetch_text(&client, &operations).await?;
            expect_ok_status(&body)?;
            Ok(format!("HTTP 200, status OK, {} bytes", body.len()))
        })
        .await;

    report
        .step(P, "forced expiry: re-authorization", auth, async {
            let before = emulator.authorizations();
            let old = cache.get().await.map_err(|e| e.to_string())?;
            cache.mark_stale();
            let served = cache.get().await.map_err(|e| e.to_string())?;
            cache.settle().await;
            let new = cache.get().await.map_err(|e| e.to_string())?;
            let (old_device, new_device) = (session(&old)?, session(&new)?);
            ensure(
                served.generation() == old.generation()
                    && new.generation() > old.generation()
                    && old_device.device_id() != new_device.device_id(),
                || "the session was not renewed".into(),
            )?;
            ensure(emulator.authorizations() == before + 1, || {
                format!("{} authorizations", emulator.authorizations() - before)
            })?;
            let body = fetch_text(&client, &operations).await?;
            expect_ok_status(&body)?;
            Ok(format!(
                "new device {}…, the new session is accepted",
                &new_device.device_id()[..8]
            ))
        })
        .await;

    report
        .step(P, "rejection (401 b_expired_token), re-auth", auth, async {
            emulator.end_session();
            let before = emulator.authorizations();
            let body = fetch_text(&client, &operations).await?;
            expect_ok_status(&body)?;
            let again = emulator.authorizations() - before;
            ensure(again == 1, || format!("{again} re-authorizations"))?;
            Ok("401, one re-authorization, retried: status OK".to_owned())
        })
        .await;

    report
        .step(P, "rejection (200 b_used_token), re-auth", auth, async {
            emulator.set_rejection(Rejection::used_token_under_200());
            emulator.end_session();
            let (before, refused) = (emulator.authorizations(), refused_calls(&emulator));
            let body = fetch_text(&client, &operations).await?;
            expect_ok_status(&body)?;
            let again = emulator.authorizations() - before;
            let rejected = refused_calls(&emulator) - refused;
            ensure(again == 1 && rejected == 1, || {
                format!("{again} re-authorizations, {rejected} rejected calls")
            })?;
            Ok("HTTP 200 + msgCode seen as rejection, one re-auth, retried: OK".to_owned())
        })
        .await;

    report
        .step(P, "request body encrypted to serverPublic", auth, async {
            let url = emulator.url(PURCHASE);
            let body = br#"{"merchantRequestId":"demo-1","coinAmount":100}"#;
            let before = emulator.authorizations();
            for round in ["first", "after the session ended"] {
                let response = send_encrypted(&client, Method::POST, &url, body)
                    .await
                    .map_err(|e| e.to_string())?;
                let status = response.status();
                let answer = response.bytes().await.map_err(|e| e.to_string())?;
                ensure(status.is_success(), || format!("{round}: HTTP {status}"))?;
                let plaintext = decrypt_answer(&client, &answer).map_err(|e| e.to_string())?;
                let answer: serde_json::Value =
                    serde_json::from_slice(&plaintext).map_err(|e| e.to_string())?;
                ensure(answer["received"]["merchantRequestId"] == "demo-1", || {
                    format!("{round}: the bank did not read the body")
                })?;
                if round == "first" {
                    // The bank ends the session; the next one has a new serverPublic.
                    emulator.end_session();
                }
            }
            let again = emulator.authorizations() - before;
            ensure(again == 1, || format!("{again} re-authorizations"))?;
            Ok("bank read it; session ended: 1 re-auth, re-encrypted to new key".to_owned())
        })
        .await;

    report
        .step(P, "card data encryption (decrypt + verify)", auth, async {
            // The emulator's key stands in for the bank's payment key.
            let payment_key = emulator.server_key().public_key();
            let number = CardNumber::new("5573 6700 0000 0304").map_err(|e| e.to_string())?;
            let data = CardData::with_cvv(3, 25, "111").map_err(|e| e.to_string())?;
            let encrypted_number = number.encrypt(payment_key).map_err(|e| e.to_string())?;
            let encrypted_data = data.encrypt(payment_key).map_err(|e| e.to_string())?;
            for (what, compact, expected) in [
                ("encryptedCardNumber", &encrypted_number, "5573670000000304"),
                ("encryptedCardData", &encrypted_data, "2503111"),
            ] {
                jwe::check_header(compact).map_err(|e| format!("{what}: {e}"))?;
                let plain = jwe::decrypt(emulator.server_key(), compact)
                    .map_err(|e| format!("{what}: {e}"))?;
                ensure(plain == expected.as_bytes(), || {
                    format!("{what} decrypts to something else")
                })?;
            }
            ensure(data.plaintext().expose_secret() == "2503111", || {
                "YYMMCVV differs".into()
            })?;
            Ok("PAN and YYMMCVV as ECDH-ES+A256KW/A256GCM JWEs".to_owned())
        })
        .await;
    Ok(())
}

fn session(credential: &Arc<Credential>) -> Result<AllianceSession, String> {
    AllianceSession::from_credential(credential).map_err(|e| e.to_string())
}

/// How many API calls the emulator refused for their session so far.
fn refused_calls(emulator: &Emulator) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|r| r.path.ends_with(OPERATIONS) && !r.valid_session)
        .count()
}

/// The protected method's answer must be `{"status":"OK",…}`, not an error envelope.
fn expect_ok_status(body: &str) -> Result<(), String> {
    let answer: serde_json::Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    ensure(answer["status"] == "OK", || {
        format!(
            "answer without status OK (msgCode {})",
            answer["msgCode"].as_str().unwrap_or("none")
        )
    })
}
