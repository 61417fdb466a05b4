//! Wrong, missing and odd `Authorization` forms, bad bodies and repeated events, over real HTTP:
//! each gets the documented status and the literal body of the protocol sheet.

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Counting, SERVICE_TOKEN, serve, token_config, user};
use evotor_auth::ReceiverConfig;
use evotor_auth::testkit::{Emulator, EventCredential, ServiceAuth};
use evotor_auth::webhook::{
    MemoryWebhookStore, Receiver, SubscriptionEventType, TokenDigest, UserTokenRecord, WebhookStore,
};
use reqwest::Method;
use secrecy::SecretString;

const E1001: &str = r#"{"errors":[{"code":1001}]}"#;
const E1002: &str = r#"{"errors":[{"code":1002}]}"#;
const E1003: &str = r#"{"errors":[{"code":1003}]}"#;

struct Setup {
    _served: common::Served,
    cloud: Emulator,
    store: Arc<dyn WebhookStore>,
    handler: Arc<Counting>,
    user_token: String,
}

async fn setup(config: ReceiverConfig, auth: ServiceAuth) -> Setup {
    let store: Arc<dyn WebhookStore> = Arc::new(MemoryWebhookStore::new());
    let handler = Counting::new(store.clone());
    let served = serve(Receiver::new(config, store.clone(), handler.clone())).await;
    let cloud = Emulator::builder()
        .receiver_url(&served.url)
        .service_auth(auth)
        .start()
        .await;
    let created = cloud.create_account(&user(1)).await.unwrap();
    assert_eq!(created.status, 200, "{created:?}");
    let user_token = cloud.user_token(&user(1)).unwrap();
    Setup {
        _served: served,
        cloud,
        store,
        handler,
        user_token,
    }
}

async fn token_setup() -> Setup {
    setup(
        token_config(),
        ServiceAuth::Token(SecretString::from(SERVICE_TOKEN)),
    )
    .await
}

fn token_body() -> String {
    r#"{"userId":"01-000000000000001","token":"f46b89a5-8e80-4591-b0aa-94551790444b"}"#.to_owned()
}

fn installation_body(user_id: &str) -> String {
    format!(
        r#"{{"id":"a99fbf70-1","timestamp":1504168645290,"version":2,"type":"ApplicationInstalled","data":{{"productId":"app","userId":"{user_id}"}}}}"#
    )
}

async fn expect(
    setup: &Setup,
    method: Method,
    path: &str,
    authorization: Option<&str>,
    body: &str,
    status: u16,
    expected: &str,
) {
    let label = format!("{method} {path} with {authorization:?}");
    let delivery = setup
        .cloud
        .send(label.clone(), method, path, authorization, body)
        .await
        .unwrap();
    assert_eq!(
        (delivery.status, delivery.body.as_str()),
        (status, expected),
        "{label}"
    );
}

#[tokio::test]
async fn service_endpoints_accept_only_the_service_credential() {
    let s = token_setup().await;
    let user_token = s.user_token.clone();
    let refused: Vec<Option<String>> = vec![
        None,
        Some(String::new()),
        Some("Bearer".into()),
        Some("Bearer ".into()),
        Some("Bearer 9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d12".into()),
        Some("Bearer 9f0c6f0e-2a53-4a43-bd06-7b0c3c1f4d1".into()),
        Some(format!("Token {SERVICE_TOKEN}")),
        Some(format!("Bearer {SERVICE_TOKEN} extra")),
        Some(format!("Bearer{SERVICE_TOKEN}")),
        Some(format!("Bearer {user_token}")),
        Some(format!("Basic {}", STANDARD.encode("partner:s3cret"))),
    ];
    for authorization in &refused {
        expect(
            &s,
            Method::POST,
            "/api/v1/user/token",
            authorization.as_deref(),
            &token_body(),
            401,
            E1001,
        )
        .await;
    }
    for authorization in [
        format!("Bearer {SERVICE_TOKEN}"),
        format!("bearer {SERVICE_TOKEN}"),
        format!("BEARER   {SERVICE_TOKEN}"),
        SERVICE_TOKEN.to_owned(),
        format!("Basic {SERVICE_TOKEN}"),
    ] {
        expect(
            &s,
            Method::POST,
            "/api/v1/user/token",
            Some(&authorization),
            &token_body(),
            200,
            "",
        )
        .await;
    }
}

#[tokio::test]
async fn notifications_accept_only_a_known_user_token() {
    let s = token_setup().await;
    let token = s.user_token.clone();
    for authorization in [
        None,
        Some(format!("Bearer {SERVICE_TOKEN}")),
        Some("Bearer toaWaep4chou7ahkoogiu9Iusaht9ima".to_owned()),
        Some(format!("Basic {token}")),
        Some(format!("Bearer {}", "a".repeat(200))),
        Some(format!("Bearer {token}x")),
    ] {
        expect(
            &s,
            Method::PUT,
            "/api/v1/inventories/stores",
            authorization.as_deref(),
            "[]",
            401,
            E1002,
        )
        .await;
    }
    for authorization in [
        format!("Bearer {token}"),
        format!("bearer {token}"),
        token.clone(),
    ] {
        expect(
            &s,
            Method::PUT,
            "/api/v1/inventories/stores",
            Some(&authorization),
            "[]",
            200,
            "",
        )
        .await;
    }
}

#[tokio::test]
async fn events_accept_either_credential_but_only_for_the_tokens_own_user() {
    let s = token_setup().await;
    let own = installation_body("01-000000000000001");
    expect(
        &s,
        Method::POST,
        "/api/v2/installation/event",
        None,
        &own,
        401,
        E1001,
    )
    .await;
    expect(
        &s,
        Method::POST,
        "/api/v2/installation/event",
        Some("Bearer nope"),
        &own,
        401,
        E1001,
    )
    .await;
    expect(
        &s,
        Method::POST,
        "/api/v2/installation/event",
        Some(&format!("Bearer {}", s.user_token)),
        &own,
        200,
        "",
    )
    .await;
    expect(
        &s,
        Method::POST,
        "/api/v2/installation/event",
        Some(&format!("Bearer {SERVICE_TOKEN}")),
        &own,
        200,
        "",
    )
    .await;
    let other = installation_body("01-000000000000002");
    expect(
        &s,
        Method::POST,
        "/api/v2/installation/event",
        Some(&format!("Bearer {}", s.user_token)),
        &other,
        401,
        E1002,
    )
    .await;
}

#[tokio::test]
async fn an_expired_user_token_gets_1003() {
    let config = ReceiverConfig::builder()
        .service_token(SecretString::from(SERVICE_TOKEN))
        .user_token_lifetime(Duration::from_secs(3600))
        .build()
        .unwrap();
    let s = setup(
        config,
        ServiceAuth::Token(SecretString::from(SERVICE_TOKEN)),
    )
    .await;
    let stale = "stale-token-issued-in-1970";
    s.store
        .save_user_token(
            &TokenDigest::of(stale),
            UserTokenRecord {
                user_id: user(1),
                issued_at_ms: 0,
            },
        )
        .await
        .unwrap();
    expect(
        &s,
        Method::PUT,
        "/api/v1/inventories/devices",
        Some(&format!("Bearer {stale}")),
        "[]",
        401,
        E1003,
    )
    .await;
    expect(
        &s,
        Method::PUT,
        "/api/v1/inventories/devices",
        Some(&format!("Bearer {}", s.user_token)),
        "[]",
        200,
        "",
    )
    .await;
}

#[tokio::test]
async fn basic_mode_decodes_strictly() {
    let config = ReceiverConfig::builder()
        .basic("partner", SecretString::from("s3cret"))
        .build()
        .unwrap();
    let s = setup(
        config,
        ServiceAuth::Basic("partner".into(), SecretString::from("s3cret")),
    )
    .await;
    let good = STANDARD.encode("partner:s3cret");
    for authorization in [
        format!("Basic {good}"),
        format!("basic {good}"),
        format!("BASIC {good}"),
    ] {
        expect(
            &s,
            Method::POST,
            "/api/v1/user/token",
            Some(&authorization),
            &token_body(),
            200,
            "",
        )
        .await;
    }
    for authorization in [
        format!("Basic {}", good.trim_end_matches('=')),
        format!("Basic {}", STANDARD.encode("partner:s3cret:x")),
        format!("Basic {}", STANDARD.encode("partner:wrong")),
        format!("Basic {}", STANDARD.encode("Partner:s3cret")),
        format!("Basic {}", STANDARD.encode(b"partner:\xff")),
        format!("Bearer {good}"),
        good.clone(),
        format!("Bearer {SERVICE_TOKEN}"),
        "Basic !!!!".to_owned(),
    ] {
        expect(
            &s,
            Method::POST,
            "/api/v1/user/token",
            Some(&authorization),
            &token_body(),
            401,
            E1001,
        )
        .await;
    }
}

#[tokio::test]
async fn bad_bodies_get_2001_2002_2003_after_the_credential_is_checked() {
    let s = token_setup().await;
    let service = format!("Bearer {SERVICE_TOKEN}");
    expect(
        &s,
        Method::POST,
        "/api/v1/user/token",
        Some("Bearer wrong"),
        "{",
        401,
        E1001,
    )
    .await;
    expect(
        &s,
        Method::POST,
        "/api/v1/user/token",
        Some(&service),
        "{",
        400,
        r#"{"errors":[{"code":2001,"reason":"syntax","subject":"body"}]}"#,
    )
    .await;
    expect(
        &s,
        Method::POST,
        "/api/v1/user/create",
        Some(&service),
        "{}",
        400,
        r#"{"errors":[{"code":2002,"reason":"missing","subject":"userId"}]}"#,
    )
    .await;
    expect(
        &s,
        Method::POST,
        "/api/v1/user/create",
        Some(&service),
        r#"{"userId":"01 bad"}"#,
        400,
        r#"{"errors":[{"code":2003,"reason":"incorrect","subject":"userId"}]}"#,
    )
    .await;
    expect(
        &s,
        Method::POST,
        "/api/v1/user/token",
        Some(&service),
        r#"{"userId":"01-000000000000001","token":null}"#,
        400,
        r#"{"errors":[{"code":2003,"reason":"incorrect","subject":"token","value":"null"}]}"#,
    )
    .await;
    let user = format!("Bearer {}", s.user_token);
    expect(
        &s,
        Method::PUT,
        "/api/v1/inventories/stores",
        Some(&user),
        r#""not a store""#,
        400,
        r#"{"errors":[{"code":2003,"reason":"incorrect","subject":"body"}]}"#,
    )
    .await;
    expect(
        &s,
        Method::PUT,
        "/api/v1/inventories/employees",
        Some(&user),
        r#"[{"name":"no uuid"}]"#,
        400,
        r#"{"errors":[{"code":2002,"reason":"missing","subject":"[0].uuid"}]}"#,
    )
    .await;
    // The userUuid alias of older documents.
    expect(
        &s,
        Method::POST,
        "/api/v1/user/token",
        Some(&service),
        r#"{"userUuid":"01-000000000000001","token":"f46b89a5-8e80-4591-b0aa-94551790444b"}"#,
        200,
        "",
    )
    .await;
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_but_only_after_the_credential() {
    let config = ReceiverConfig::builder()
        .service_token(SecretString::from(SERVICE_TOKEN))
        .body_limit(256)
        .build()
        .unwrap();
    let s = setup(
        config,
        ServiceAuth::Token(SecretString::from(SERVICE_TOKEN)),
    )
    .await;
    let big = format!(
        r#"{{"userId":"01-000000000000001","token":"t","pad":"{}"}}"#,
        "x".repeat(1000)
    );
    expect(
        &s,
        Method::POST,
        "/api/v1/user/token",
        None,
        &big,
        401,
        E1001,
    )
    .await;
    expect(
        &s,
        Method::POST,
        "/api/v1/user/token",
        Some(&format!("Bearer {SERVICE_TOKEN}")),
        &big,
        413,
        r#"{"errors":[{"code":2003,"reason":"too-large","subject":"body"}]}"#,
    )
    .await;
}

#[tokio::test]
async fn a_repeated_event_is_acknowledged_and_applied_once() {
    let s = token_setup().await;
    let alice = user(1);
    let kind = SubscriptionEventType::SubscriptionRenewed;
    let key = &format!("subscription:{alice}:sub-1:3");
    for credential in [
        EventCredential::Service,
        EventCredential::UserToken,
        EventCredential::Service,
    ] {
        let delivery = s
            .cloud
            .subscription_event(&alice, "sub-1", &kind, 3, credential)
            .await
            .unwrap();
        assert_eq!(delivery.status, 200);
    }
    assert_eq!(s.handler.times(key), 1);
    // A new sequence number is a new event.
    s.cloud
        .subscription_event(&alice, "sub-1", &kind, 4, EventCredential::Service)
        .await
        .unwrap();
    assert_eq!(s.handler.times(&format!("subscription:{alice}:sub-1:4")), 1);

    // Ten copies at once: every one acknowledged, applied once.
    let sends = (0..10).map(|_| {
        s.cloud
            .installation_event(&alice, "inst-9", true, EventCredential::Service)
    });
    let deliveries = futures_join_all(sends).await;
    assert!(deliveries.iter().all(|d| d.as_ref().unwrap().status == 200));
    assert_eq!(s.handler.times(&format!("installation:{alice}:inst-9")), 1);
}

async fn futures_join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for future in futures {
        set.push(Box::pin(future));
    }
    let mut outputs = Vec::new();
    // Poll them together: a tiny join_all without another dependency.
    let mut pending: Vec<_> = set.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all_done = true;
        for (i, slot) in pending.iter_mut().enumerate() {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(output) => {
                        results[i] = Some(output);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all_done = false,
                }
            }
        }
        if all_done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    for result in results {
        outputs.extend(result);
    }
    outputs
}

#[tokio::test]
async fn answers_and_credentials_carrying_secrets_do_not_print_them() {
    let s = token_setup().await;
    let created = s.cloud.create_account(&user(7)).await.unwrap();
    let token = created.json()["token"].as_str().unwrap().to_owned();
    let text = format!(
        "{created:?} {:?}",
        ServiceAuth::Token(SecretString::from(SERVICE_TOKEN))
    );
    assert!(
        !text.contains(&token) && !text.contains(SERVICE_TOKEN),
        "{text}"
    );
    let basic = format!(
        "{:?}",
        ServiceAuth::Basic("partner".into(), SecretString::from("s3cret-pass"))
    );
    assert!(!basic.contains("s3cret-pass"), "{basic}");
    let response = Receiver::new(token_config(), s.store.clone(), s.handler.clone())
        .handle(
            &evotor_auth::webhook::Endpoint::UserVerify,
            &{
                let mut headers = http::HeaderMap::new();
                headers.insert(
                    http::header::AUTHORIZATION,
                    format!("Bearer {SERVICE_TOKEN}").parse().unwrap(),
                );
                headers
            },
            br#"{"userId":"01-000000000000007","username":"u","password":"superpassword"}"#,
        )
        .await;
    assert_eq!(response.status, 200);
    let issued = serde_json::from_slice::<serde_json::Value>(&response.body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!format!("{response:?}").contains(&issued));
}
