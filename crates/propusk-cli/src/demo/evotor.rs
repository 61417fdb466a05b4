//! Evotor in the demo, both ways: the fake Cloud drives the reference webhook receiver (a wrong
//! service credential refused, `user/create` issuing a user token, the Cloud token handed over,
//! notifications with the user token), then the client calls the Cloud with the delivered
//! token (v1 `X-Authorization`, v2 `Bearer`), reads the store again on forced expiry, and on a
//! 401 re-reads it once and retries, picking up a newly handed-over token.
//!
//! Evotor has no token endpoint: the "auth req" column counts the webhook deliveries the
//! receiver answered.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use auth_core::{AuthClient, AuthError, ExposeSecret as _, SecretString};
use evotor_auth::testkit::{AccountStart, Emulator, ServiceAuth};
use evotor_auth::webhook::{MemoryWebhookStore, Receiver, ReferenceAccounts, WebhookStore};
use evotor_auth::{CloudTokenStore, EvotorConfig, EvotorSource, ReceiverConfig, UserId};

use super::{Report, cached_reuse, ensure, fetch};
use crate::common::CliError;

const P: &str = "evotor";

/// The service token the demo receiver expects from the Cloud (a uuid4, as the console issues).
const SERVICE_TOKEN: &str = "9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d11";

const STORES_V1: &str = "api/v1/inventories/stores/search";
const STORES_V2: &str = "stores";

pub async fn run(report: &mut Report) -> Result<(), CliError> {
    let deliveries = AtomicUsize::new(0);
    let auth = || deliveries.load(Ordering::SeqCst);
    let delivered = |n: usize| deliveries.fetch_add(n, Ordering::SeqCst);

    let store = Arc::new(MemoryWebhookStore::new());
    let receiver = match start_receiver(store.clone()).await {
        Ok(receiver) => receiver,
        Err(error) => {
            report.record(P, "webhook receiver", Err(error), 0, Default::default());
            return Ok(());
        }
    };
    let cloud = Emulator::builder()
        .receiver_url(&receiver.url)
        .service_auth(ServiceAuth::Token(SecretString::from(SERVICE_TOKEN)))
        .start()
        .await;
    let (Ok(user), Ok(second)) = (
        UserId::parse("01-000000000000001"),
        UserId::parse("01-000000000000002"),
    ) else {
        report.record(P, "user ids", Err("invalid".into()), 0, Default::default());
        return Ok(());
    };
    let body = serde_json::json!({ "userId": user.as_str() }).to_string();

    report
        .step(P, "webhook, wrong service credential: 401", auth, async {
            let answer = cloud
                .send(
                    "user/create (wrong credential)",
                    reqwest::Method::POST,
                    "/api/v1/user/create",
                    Some("Bearer 00000000-0000-4000-8000-000000000000"),
                    body,
                )
                .await
                .map_err(|e| e.to_string())?;
            delivered(1);
            ensure(answer.status == 401, || format!("HTTP {}", answer.status))?;
            let code = answer.json()["errors"][0]["code"].clone();
            Ok(format!("refused: HTTP 401, Evotor error code {code}"))
        })
        .await;

    report
        .step(P, "webhook user/create: user token issued", auth, async {
            let answer = cloud
                .create_account(&user)
                .await
                .map_err(|e| e.to_string())?;
            delivered(1);
            ensure(answer.status == 200, || format!("HTTP {}", answer.status))?;
            let issued = cloud.user_token(&user).unwrap_or_default();
            ensure(!issued.is_empty(), || "no user token in the answer".into())?;
            Ok(format!("HTTP 200, user token of {} chars", issued.len()))
        })
        .await;

    report
        .step(P, "webhook user/token: Cloud token stored", auth, async {
            let (token, answer) = cloud
                .hand_over_token(&user)
                .await
                .map_err(|e| e.to_string())?;
            delivered(1);
            ensure(answer.status == 200, || format!("HTTP {}", answer.status))?;
            let kept = stored_token(&store, &user).await?;
            ensure(kept == token.expose_secret(), || {
                "the store holds another token".into()
            })?;
            Ok("HTTP 200, the receiver's store holds it".to_owned())
        })
        .await;

    report
        .step(P, "webhook notifications (user token)", auth, async {
            let answers = cloud
                .notifications(&user)
                .await
                .map_err(|e| e.to_string())?;
            delivered(answers.len());
            let refused: Vec<_> = answers.iter().filter(|a| a.status != 200).collect();
            ensure(refused.is_empty(), || {
                format!("{}: HTTP {}", refused[0].label, refused[0].status)
            })?;
            Ok(format!(
                "{} deliveries accepted (the re-sent receipt once)",
                answers.len()
            ))
        })
        .await;

    let client = match EvotorConfig::builder()
        .base_url(cloud.base_url())
        .user_id(user.as_str())
        .cloud_tokens(store.clone())
        .build()
        .map(EvotorSource::new)
        .map(super::demo_cache)
        .and_then(AuthClient::new)
    {
        Ok(client) => client,
        Err(error) => {
            report.record(P, "client", Err(error.to_string()), 0, Default::default());
            return Ok(());
        }
    };
    let cache = client.cache().clone();
    let stores_v1 = format!("{}{STORES_V1}", cloud.base_url());
    let stores_v2 = format!("{}{STORES_V2}", cloud.base_url());

    report
        .step(P, "GET …/stores/search (X-Authorization)", auth, async {
            let answer = fetch(&client, &stores_v1).await?;
            let sent = cloud.api_requests();
            let last = sent.last().ok_or("the Cloud saw no request")?;
            ensure(last.x_authorization && !last.authorization, || {
                format!("{last:?}")
            })?;
            Ok(format!("with the delivered token: {answer}"))
        })
        .await;

    report
        .step(P, "cached reuse (1000 lookups)", auth, cached_reuse(&cache))
        .await;

    report
        .step(P, "GET /stores (v2: Bearer + vnd.evotor.v2)", auth, async {
            let answer = fetch(&client, &stores_v2).await?;
            let sent = cloud.api_requests();
            let last = sent.last().ok_or("the Cloud saw no request")?;
            ensure(
                last.authorization
                    && !last.x_authorization
                    && last.accept.as_deref() == Some("application/vnd.evotor.v2+json"),
                || format!("{last:?}"),
            )?;
            Ok(answer)
        })
        .await;

    report
        .step(P, "forced expiry: the store read again", auth, async {
            let old = cache.get().await.map_err(|e| e.to_string())?;
            cache.mark_stale();
            let served = cache.get().await.map_err(|e| e.to_string())?;
            cache.settle().await;
            let new = cache.get().await.map_err(|e| e.to_string())?;
            ensure(
                served.generation() == old.generation()
                    && new.generation() > old.generation()
                    && new.same_token(&old),
                || "not re-read, or the token changed".into(),
            )?;
            Ok(format!(
                "generation {} -> {}, same token (no refresh call)",
                old.generation(),
                new.generation()
            ))
        })
        .await;

    report
        .step(P, "401, new token handed over, re-read", auth, async {
            cloud.revoke_cloud_token(&user);
            let (token, answer) = cloud
                .hand_over_token(&user)
                .await
                .map_err(|e| e.to_string())?;
            delivered(1);
            ensure(answer.status == 200, || format!("HTTP {}", answer.status))?;
            let (calls, rejections) = (cloud.api_calls(), cloud.api_rejections());
            let outcome = fetch(&client, &stores_v1).await?;
            ensure(
                cloud.api_calls() == calls + 2 && cloud.api_rejections() == rejections + 1,
                || {
                    format!(
                        "{} calls, {} rejected",
                        cloud.api_calls() - calls,
                        cloud.api_rejections() - rejections
                    )
                },
            )?;
            let now = cache.get().await.map_err(|e| e.to_string())?;
            ensure(now.token().expose_secret() == token.expose_secret(), || {
                "the new token is not in use".into()
            })?;
            Ok(format!("401, store re-read once, retried: {outcome}"))
        })
        .await;

    report
        .step(P, "revoked, no new token: rejected for good", auth, async {
            cloud.revoke_cloud_token(&user);
            let calls = cloud.api_calls();
            let outcome = client.get(&stores_v1).await;
            let sent = cloud.api_calls() - calls;
            match outcome {
                Err(AuthError::Rejected {
                    status: Some(401), ..
                }) if sent == 2 => Ok("401, re-read, 401 again: final (exit 3)".to_owned()),
                Err(error) => Err(format!("{sent} calls, {error}")),
                Ok(response) => Err(format!("HTTP {} accepted", response.status())),
            }
        })
        .await;

    report
        .step(P, "a whole account life (second user)", auth, async {
            let life = cloud
                .run_account_life(&second, AccountStart::Create)
                .await
                .map_err(|e| e.to_string())?;
            delivered(life.deliveries.len());
            ensure(life.deliveries.iter().all(|d| d.status == 200), || {
                "a delivery was refused".into()
            })?;
            Ok(format!(
                "{} deliveries: create, token, notices, events twice",
                life.deliveries.len()
            ))
        })
        .await;
    Ok(())
}

/// The reference receiver on a loopback port; stops when dropped.
struct Served {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start_receiver(store: Arc<MemoryWebhookStore>) -> Result<Served, String> {
    let config = ReceiverConfig::builder()
        .service_token(SecretString::from(SERVICE_TOKEN))
        .build()
        .map_err(|e| e.to_string())?;
    let store: Arc<dyn WebhookStore> = store;
    let receiver = Receiver::new(
        config,
        store.clone(),
        Arc::new(ReferenceAccounts::new(store)),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("the receiver could not bind a loopback port: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let task = tokio::spawn(async move {
        let _ = evotor_auth::axum::serve_until(listener, receiver, std::future::pending()).await;
    });
    Ok(Served {
        url: format!("http://{address}"),
        task,
    })
}

async fn stored_token(store: &MemoryWebhookStore, user: &UserId) -> Result<String, String> {
    store
        .cloud_token(user)
        .await
        .map_err(|e| e.to_string())?
        .map(|token| token.expose_secret().to_owned())
        .ok_or_else(|| "no Cloud token stored".to_owned())
}
