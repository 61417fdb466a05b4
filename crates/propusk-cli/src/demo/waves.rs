//! Waves Enterprise in the demo: the node's API-key hash and `X-API-Key`, then OAuth: login,
//! cached reuse, expiry answered by a refresh (not a login), and a token the node calls expired
//! (401) answered by one refresh and the request repeated; no refresh token is ever sent twice.

use std::time::Duration;

use auth_core::{AuthClient, CredentialCache, CredentialSource, RefreshPolicy, SecretString};
use waves_auth::testkit::{DEMO_API_KEY, Emulator, NodeAuth};
use waves_auth::{REFRESH_TOKEN_EXTRA, WavesConfig, WavesSource, api_key_hash};

use super::{Report, cached_reuse, ensure, fetch};
use crate::common::CliError;

const P: &str = "waves";

/// `api-key-hash` of [`DEMO_API_KEY`] (`ridethewaves!`), as the Waves Enterprise docs give it.
const DEMO_API_KEY_HASH: &str = "H6nsiifwYKYEx6YzYD7woP1XCn72RVvx6tC1zjjLXqsu";

pub async fn run(report: &mut Report) -> Result<(), CliError> {
    let emulator = Emulator::start().await;
    let auth = || emulator.logins() + emulator.service_grants() + emulator.refreshes();
    let node = emulator.node_url();

    report
        .step(P, "api-key-hash of the node's API key", auth, async {
            let hash = api_key_hash(DEMO_API_KEY);
            ensure(hash == DEMO_API_KEY_HASH, || format!("got {hash}"))?;
            Ok(format!("as in the docs: {hash}"))
        })
        .await;

    report
        .step(P, "X-API-Key: node accepts, wrong key 403", auth, async {
            emulator.set_node_auth(NodeAuth::ApiKey(api_key_hash(DEMO_API_KEY)));
            let outcome = api_key_mode(&node, &emulator).await;
            emulator.set_node_auth(NodeAuth::OAuth2);
            outcome
        })
        .await;

    let cache = CredentialCache::new(WavesSource::new(emulator.config()));
    let client = match AuthClient::new(cache.clone()) {
        Ok(client) => client,
        Err(error) => {
            report.record(P, "client", Err(error.to_string()), 0, Default::default());
            return Ok(());
        }
    };

    report
        .step(P, "OAuth login (password)", auth, async {
            let credential = cache.get().await.map_err(|e| e.to_string())?;
            ensure(emulator.logins() == 1, || {
                format!("{} logins", emulator.logins())
            })?;
            ensure(credential.extra(REFRESH_TOKEN_EXTRA).is_some(), || {
                "no refresh token kept".into()
            })?;
            Ok(format!(
                "Bearer JWT for {} s (its exp), refresh token kept",
                credential.remaining().as_secs() + 1
            ))
        })
        .await;

    report
        .step(P, "cached reuse (1000 lookups)", auth, cached_reuse(&cache))
        .await;

    report
        .step(P, "GET /node/status (Bearer)", auth, fetch(&client, &node))
        .await;

    report
        .step(P, "forced expiry: refresh, not login", auth, async {
            let (logins, refreshes) = (emulator.logins(), emulator.refreshes());
            let old = cache.get().await.map_err(|e| e.to_string())?.generation();
            cache.mark_stale();
            let served = cache.get().await.map_err(|e| e.to_string())?.generation();
            cache.settle().await;
            let new = cache.get().await.map_err(|e| e.to_string())?.generation();
            ensure(served == old && new > old, || {
                format!("generations {old} -> {served} -> {new}")
            })?;
            ensure(
                emulator.logins() == logins && emulator.refreshes() == refreshes + 1,
                || {
                    format!(
                        "{} logins, {} refreshes",
                        emulator.logins() - logins,
                        emulator.refreshes() - refreshes
                    )
                },
            )?;
            fetch(&client, &node).await?;
            Ok(format!(
                "one refresh (rotated), generation {old} -> {new}, node accepts"
            ))
        })
        .await;

    report
        .step(P, "node: token expired (401), one refresh", auth, async {
            // A cache that keeps serving a token issued already expired, so the node is what
            // notices (as with a clock that runs behind).
            let source = WavesSource::new(emulator.config());
            let policy = RefreshPolicy {
                min_retry_interval: Duration::from_secs(120),
                max_backoff: Duration::from_secs(120),
                ..source.refresh_policy()
            };
            let trusting = source.into_cache_builder().policy(policy).build();
            let client = AuthClient::new(trusting).map_err(|e| e.to_string())?;
            emulator.set_access_lifetime(-60);
            let held = client.cache().get().await.map_err(|e| e.to_string());
            emulator.set_access_lifetime(300);
            held?;
            let (logins, refreshes, rejections) = (
                emulator.logins(),
                emulator.refreshes(),
                emulator.node_rejections(),
            );
            let answer = fetch(&client, &node).await?;
            ensure(
                emulator.node_rejections() == rejections + 1
                    && emulator.refreshes() == refreshes + 1
                    && emulator.logins() == logins,
                || {
                    format!(
                        "{} rejections, {} refreshes, {} logins",
                        emulator.node_rejections() - rejections,
                        emulator.refreshes() - refreshes,
                        emulator.logins() - logins
                    )
                },
            )?;
            Ok(format!("login, 401, one refresh, repeated: {answer}"))
        })
        .await;

    report
        .step(P, "refresh tokens single-use", auth, async {
            let reuses = emulator.refresh_reuses();
            ensure(reuses == 0, || {
                format!("{reuses} refresh tokens sent twice")
            })?;
            Ok(format!(
                "{} refreshes, no refresh token sent twice",
                emulator.refreshes()
            ))
        })
        .await;
    Ok(())
}

/// API-key mode against a node that holds the key's hash: accepted with no auth request; a
/// wrong key gets 403 back as is (a new credential would be the same key).
async fn api_key_mode(node: &str, emulator: &Emulator) -> Result<String, String> {
    let client = |key: &str| {
        WavesConfig::builder()
            .api_key(SecretString::from(key.to_owned()))
            .build()
            .and_then(|config| WavesSource::new(config).into_client())
            .map_err(|e| e.to_string())
    };
    let answer = fetch(&client(DEMO_API_KEY)?, node).await?;
    let before = emulator.node_requests();
    let wrong = client("not-the-key")?
        .get(node)
        .await
        .map_err(|e| e.to_string())?;
    let status = wrong.status();
    let sent = emulator.node_requests() - before;
    ensure(status == 403 && sent == 1, || {
        format!("wrong key: HTTP {status} after {sent} requests")
    })?;
    Ok(format!("{answer}; wrong key: 403, not retried"))
}
