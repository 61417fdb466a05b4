//! Kontur EDI in the demo: first authentication, cached reuse, forced refresh, a revoked token
//! and the single re-authentication, and the OpenID Connect source.

use std::time::Instant;

use auth_core::{AuthClient, CredentialCache, SecretString};
use kontur_auth::testkit::{DEMO_OIDC_CLIENT, DEMO_OIDC_SECRET, Emulator};
use kontur_auth::{KonturOidcConfig, KonturOidcSource, KonturSource};

use super::Report;
use crate::common::CliError;

const P: &str = "kontur";

pub async fn run(report: &mut Report) -> Result<(), CliError> {
    let emulator = Emulator::start().await;
    let cache = CredentialCache::new(KonturSource::new(emulator.config()));
    let client = AuthClient::new(cache.clone())?;
    let boxes_url = format!("{}V1/Boxes/GetBoxesInfo", emulator.base_url());

    report.progress(P, "first authentication");
    let (before, t) = (emulator.authentications(), Instant::now());
    let outcome = cache
        .get()
        .await
        .map(|c| {
            format!(
                "token cached for {} h",
                (c.remaining().as_secs() + 1800) / 3600
            )
        })
        .map_err(|e| e.to_string());
    report.record(
        P,
        "first authentication",
        counted(outcome, emulator.authentications() - before, 1),
        emulator.authentications() - before,
        t.elapsed(),
    );

    report.progress(P, "cached reuse");
    let (before, t) = (emulator.authentications(), Instant::now());
    let mut outcome = Ok("1000 lookups served from the cache".to_owned());
    for _ in 0..1000 {
        if let Err(e) = cache.get().await {
            outcome = Err(e.to_string());
            break;
        }
    }
    report.record(
        P,
        "cached reuse (1000 lookups)",
        counted(outcome, emulator.authentications() - before, 0),
        emulator.authentications() - before,
        t.elapsed(),
    );

    report.progress(P, "GET /V1/Boxes/GetBoxesInfo");
    let (before, t) = (emulator.authentications(), Instant::now());
    let outcome = fetch(&client, &boxes_url).await;
    report.record(
        P,
        "GET /V1/Boxes/GetBoxesInfo",
        counted(outcome, emulator.authentications() - before, 0),
        emulator.authentications() - before,
        t.elapsed(),
    );

    report.progress(P, "forced expiry and refresh");
    let (before, t) = (emulator.authentications(), Instant::now());
    let old = cache.get().await?.generation();
    cache.mark_stale();
    let served = cache.get().await?.generation();
    cache.settle().await;
    let new = cache.get().await?.generation();
    let outcome = if served == old && new > old {
        Ok(format!(
            "served generation {old} while refreshing, then {new}"
        ))
    } else {
        Err(format!("generations {old} -> {served} -> {new}"))
    };
    report.record(
        P,
        "forced expiry: background refresh",
        counted(outcome, emulator.authentications() - before, 1),
        emulator.authentications() - before,
        t.elapsed(),
    );

    report.progress(P, "revoked token");
    emulator.revoke_all_tokens();
    let (before, t) = (emulator.authentications(), Instant::now());
    let outcome = fetch(&client, &boxes_url)
        .await
        .map(|body| format!("401, one re-authentication, retried: {body}"));
    report.record(
        P,
        "rejection (401) and re-authentication",
        counted(outcome, emulator.authentications() - before, 1),
        emulator.authentications() - before,
        t.elapsed(),
    );

    report.progress(P, "OpenID Connect");
    let (before, t) = (emulator.token_requests(), Instant::now());
    let outcome = match KonturOidcConfig::builder()
        .identity_url(emulator.base_url())
        .base_url(emulator.base_url())
        .client_id(DEMO_OIDC_CLIENT)
        .client_secret(SecretString::from(DEMO_OIDC_SECRET))
        .scope("edi-public-api-staging")
        .build()
    {
        Ok(config) => CredentialCache::new(KonturOidcSource::new(config))
            .get()
            .await
            .map(|c| format!("Bearer token for {} s", c.remaining().as_secs() + 1))
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    report.record(
        P,
        "OpenID Connect client credentials",
        counted(outcome, emulator.token_requests() - before, 1),
        emulator.token_requests() - before,
        t.elapsed(),
    );
    Ok(())
}

/// The step's outcome, failed when the emulator saw another number of auth requests than `want`.
fn counted(outcome: Result<String, String>, got: usize, want: usize) -> Result<String, String> {
    match outcome {
        Ok(_) if got != want => Err(format!("{got} auth requests, expected {want}")),
        other => other,
    }
}

async fn fetch(client: &AuthClient, url: &str) -> Result<String, String> {
    let response = client.get(url).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.text().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(format!("HTTP {status}, {} bytes", body.len()))
    } else {
        Err(format!("HTTP {status}"))
    }
}
