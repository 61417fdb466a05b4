//! `propusk demo`: every provider's real flows, through the real client code, against the
//! embedded loopback emulators. No network, no credentials.

mod alliance;
mod evotor;
mod kontur;
mod report;
mod rustore;
mod waves;

use std::time::Instant;

use auth_core::{AuthClient, CredentialCache, CredentialSource, RefreshPolicy};

use crate::common::CliError;
use report::Report;

/// Runs every provider's walk-through and prints the table.
pub async fn run() -> Result<(), CliError> {
    let started = Instant::now();
    let mut report = Report::new();
    eprintln!("propusk demo: starting loopback emulators (no network, no credentials)");
    kontur::run(&mut report).await?;
    rustore::run(&mut report).await?;
    alliance::run(&mut report).await?;
    waves::run(&mut report).await?;
    evotor::run(&mut report).await?;
    report.print(started.elapsed());
    if report.failures() > 0 {
        return Err(CliError {
            code: crate::common::EXIT_TRANSPORT,
            message: format!("{} demo step(s) failed", report.failures()),
        });
    }
    Ok(())
}

/// `Err(message())` unless `condition`: how a step says its outcome was not the expected one.
fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

/// An authenticated GET that must succeed; its body.
async fn fetch_text(client: &AuthClient, url: &str) -> Result<String, String> {
    let response = client.get(url).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.text().await.map_err(|e| e.to_string())?;
    ensure(status.is_success(), || {
        format!(
            "HTTP {status}: {}",
            auth_core::provider::excerpt(body.as_bytes())
        )
    })?;
    Ok(body)
}

/// An authenticated GET that must succeed, summed up as `HTTP 200 OK, N bytes`.
async fn fetch(client: &AuthClient, url: &str) -> Result<String, String> {
    let body = fetch_text(client, url).await?;
    Ok(format!("HTTP 200, {} bytes", body.len()))
}

/// 1000 lookups that must all be the credential the cache holds now (same generation).
async fn cached_reuse(cache: &CredentialCache) -> Result<String, String> {
    let first = cache.get().await.map_err(|e| e.to_string())?.generation();
    for _ in 0..1000 {
        let generation = cache.get().await.map_err(|e| e.to_string())?.generation();
        ensure(generation == first, || "the credential changed".into())?;
    }
    Ok("1000 lookups served from the cache".to_owned())
}

/// A cache for the demo's rejection scenarios, which follow each other milliseconds apart: with
/// no rejection window (`RefreshPolicy::rejection_window`), so that each revoked credential is
/// replaced at once rather than held as part of a storm.
pub(crate) fn demo_cache(source: impl CredentialSource) -> CredentialCache {
    CredentialCache::builder(std::sync::Arc::new(source))
        .policy(RefreshPolicy {
            rejection_window: std::time::Duration::ZERO,
            ..RefreshPolicy::default()
        })
        .build()
}
