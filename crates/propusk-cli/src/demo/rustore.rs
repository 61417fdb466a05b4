//! RuStore in the demo: a SHA512withRSA-signed key request traded for a JWE, cached reuse, a
//! forced refresh, a revoked token and the single re-authentication, and a second rejection
//! that is final.

use auth_core::{AuthClient, AuthError, ExposeSecret as _, SecretString};
use rustore_auth::protocol::PUBLIC_TOKEN_HEADER;
use rustore_auth::testkit::{Emulator, TEST_KEY_ID, TEST_PRIVATE_KEY};
use rustore_auth::{RustoreConfig, RustoreSource};

use super::{Report, cached_reuse, ensure, fetch};
use crate::common::CliError;

const P: &str = "rustore";

pub async fn run(report: &mut Report) -> Result<(), CliError> {
    let emulator = Emulator::start().await;
    let client = match client(&emulator) {
        Ok(client) => client,
        Err(error) => {
            report.record(
                P,
                "configuration",
                Err(error.to_string()),
                0,
                Default::default(),
            );
            return Ok(());
        }
    };
    let cache = client.cache().clone();
    let auth = || emulator.auth_requests() as usize;
    let resource = emulator.resource_url();

    report
        .step(P, "first authentication (signed key)", auth, async {
            let credential = cache.get().await.map_err(|e| e.to_string())?;
            let sent = emulator.auth_request_log();
            let body = sent.last().and_then(|r| r.json()).unwrap_or_default();
            ensure(sent.len() == 1, || format!("{} token requests", sent.len()))?;
            ensure(body["keyId"] == TEST_KEY_ID, || "keyId not sent".into())?;
            let header = credential
                .headers()
                .get(PUBLIC_TOKEN_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            ensure(header == credential.token().expose_secret(), || {
                "Public-Token is not the JWE".into()
            })?;
            Ok(format!(
                "signature verified, JWE ({} parts) for {} s",
                header.split('.').count(),
                credential.remaining().as_secs() + 1
            ))
        })
        .await;

    report
        .step(P, "cached reuse (1000 lookups)", auth, async {
            let outcome = cached_reuse(&cache).await?;
            ensure(emulator.auth_requests() == 1, || {
                "the cache asked again".into()
            })?;
            Ok(outcome)
        })
        .await;

    report
        .step(P, "GET /public/v1/application", auth, async {
            let before = emulator.auth_requests();
            let answer = fetch(&client, &resource).await?;
            ensure(emulator.auth_requests() == before, || {
                "a token request for a cached token".into()
            })?;
            Ok(answer)
        })
        .await;

    report
        .step(P, "forced expiry: background refresh", auth, async {
            let before = emulator.auth_requests();
            let old = cache.get().await.map_err(|e| e.to_string())?.generation();
            cache.mark_stale();
            let served = cache.get().await.map_err(|e| e.to_string())?.generation();
            cache.settle().await;
            let new = cache.get().await.map_err(|e| e.to_string())?.generation();
            ensure(served == old && new > old, || {
                format!("generations {old} -> {served} -> {new}")
            })?;
            ensure(emulator.auth_requests() == before + 1, || {
                format!("{} token requests", emulator.auth_requests() - before)
            })?;
            Ok(format!(
                "served generation {old} while refreshing, then {new}"
            ))
        })
        .await;

    report
        .step(P, "rejection (401) and re-authentication", auth, async {
            emulator.revoke_tokens();
            let before = emulator.auth_requests();
            let answer = fetch(&client, &resource).await?;
            let again = emulator.auth_requests() - before;
            ensure(again == 1, || format!("{again} re-authentications"))?;
            Ok(format!("401, one re-authentication, retried: {answer}"))
        })
        .await;

    report
        .step(P, "rejected again after re-auth: final", auth, async {
            emulator.reject_all_resources(true);
            let before = emulator.auth_requests();
            let outcome = client.get(&resource).await;
            emulator.reject_all_resources(false);
            let again = emulator.auth_requests() - before;
            match outcome {
                Err(AuthError::Rejected {
                    status: Some(401), ..
                }) if again == 1 => {
                    Ok("one re-authentication, 401 again: rejected for good (exit 3)".to_owned())
                }
                Err(error) => Err(format!("{again} re-authentications, {error}")),
                Ok(response) => Err(format!("HTTP {} accepted", response.status())),
            }
        })
        .await;
    Ok(())
}

fn client(emulator: &Emulator) -> Result<AuthClient, AuthError> {
    let config = RustoreConfig::builder()
        .base_url(emulator.base_url())
        .key_id(TEST_KEY_ID)
        .private_key(SecretString::from(TEST_PRIVATE_KEY))
        .build()?;
    AuthClient::new(super::demo_cache(RustoreSource::new(config)))
}
