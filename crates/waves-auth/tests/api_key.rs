//! API-key mode against the emulated node.

use auth_core::{AuthClient, SecretString};
use waves_auth::testkit::{DEMO_API_KEY, NodeAuth, WavesEmulator};
use waves_auth::{NodeErrorCode, WavesConfig, WavesSource, api_key_hash};

fn client(key: &str) -> AuthClient {
    let config = WavesConfig::api_key(SecretString::from(key.to_owned())).unwrap();
    AuthClient::new(WavesSource::new(config).into_cache()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_accepts_the_key_whose_hash_it_holds() {
    let emulator = WavesEmulator::start().await;
    emulator.set_node_auth(NodeAuth::ApiKey(
        "H6nsiifwYKYEx6YzYD7woP1XCn72RVvx6tC1zjjLXqsu".to_owned(),
    ));
    let response = client(DEMO_API_KEY).get(emulator.node_url()).await.unwrap();
    assert_eq!(response.status(), 200);
    let recorded = emulator.requests();
    assert_eq!(recorded.len(), 1);
    assert!(recorded[0].api_key && !recorded[0].authorization);
    assert_eq!((emulator.logins(), emulator.refreshes()), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_gets_the_nodes_403_back_as_is() {
    let emulator = WavesEmulator::start().await;
    emulator.set_node_auth(NodeAuth::ApiKey(api_key_hash(DEMO_API_KEY)));
    let response = client("not-the-key")
        .get(emulator.node_url())
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body = response.bytes().await.unwrap();
    assert_eq!(
        NodeErrorCode::from_body(&body),
        Some(NodeErrorCode::ApiKeyNotCorrect)
    );
    assert_eq!(emulator.node_requests(), 1, "a 403 is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulated_nodes_secure_hash_agrees() {
    let emulator = WavesEmulator::start().await;
    let body = reqwest::Client::new()
        .post(format!("{}/utils/hash/secure", emulator.base_url()))
        .body("foo")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["message"], "foo");
    assert_eq!(
        answer["hash"],
        "53gRrs1z87TXZgevWK3NpiNsGpvqk62EkuRdCtiFefhR"
    );
}
