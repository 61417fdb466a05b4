//! A stored credential is data: an entry someone tampered with (a file, a Redis key) gets none
//! of its planted headers sent; the provider rebuilds its own header from the stored token.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::store::{CredentialStore, FileStore, RedisStore};
use auth_core::testkit::{HostileServer, Misbehaviour, RedisServer};
use auth_core::{AuthClient, CredentialCache, CredentialSource};
use kontur_auth::KonturSource;
use secrecy::SecretString;

/// An entry as an older version (or an attacker) would write it: a token, and headers.
fn tampered_entry() -> String {
    let expires = SystemTime::now() + Duration::from_secs(3600);
    let expires_ms = expires.duration_since(UNIX_EPOCH).unwrap().as_millis();
    format!(
        r#"{{"format":1,"provider":"kontur","token":"stored-token","headers":[["authorization","KonturEdiAuth konturediauth_api_client_id=attacker,konturediauth_token=attacker-token"],["x-planted","1"]],"expires_at_ms":{expires_ms},"extras":{{}}}}"#
    )
}

fn source_for(server: &HostileServer) -> KonturSource {
    let config = kontur_auth::KonturConfig::builder()
        .base_url(format!("{}/", server.url()))
        .api_client_id("client-1")
        .login("login-1")
        .password(SecretString::from("password-1"))
        .build()
        .unwrap();
    KonturSource::new(config)
}

/// Sends one request through a fresh cache over `store` and returns the headers it carried.
async fn headers_sent(server: &HostileServer, store: Arc<dyn CredentialStore>) -> http::HeaderMap {
    let cache = CredentialCache::builder(Arc::new(source_for(server)))
        .store(store)
        .build();
    let client = AuthClient::new(cache.clone()).unwrap();
    let response = client
        .get(format!("{}/V1/Boxes/GetBoxesInfo", server.url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        cache.acquisitions(),
        0,
        "the stored token was reused, not replaced"
    );
    server.requests().pop().expect("one request")
}

fn assert_rebuilt(headers: &http::HeaderMap) {
    assert!(
        headers.get("x-planted").is_none(),
        "a planted header was sent: {headers:?}"
    );
    assert_eq!(
        headers["authorization"],
        "KonturEdiAuth konturediauth_api_client_id=client-1,konturediauth_token=stored-token",
        "the header is rebuilt from the stored token, not taken from the entry"
    );
}

#[tokio::test]
async fn a_tampered_file_entry_sends_no_planted_header() {
    let server = HostileServer::start(Misbehaviour::answer(200, "text/plain", "ok"));
    let folder = tempfile::tempdir().unwrap();
    let store = FileStore::new(folder.path());
    let path = store.path_for(source_for(&server).identity());
    std::fs::write(&path, tampered_entry()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    assert_rebuilt(&headers_sent(&server, Arc::new(store)).await);
}

#[tokio::test]
async fn a_tampered_redis_entry_sends_no_planted_header() {
    let redis = RedisServer::start();
    let server = HostileServer::start(Misbehaviour::answer(200, "text/plain", "ok"));
    let key = format!("propusk:{}", source_for(&server).identity().storage_key());
    let status = std::process::Command::new("redis-cli")
        .args(["-u", redis.url(), "SET", &key, &tampered_entry()])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("redis-cli (installed with redis-server)");
    assert!(status.success());
    let store = RedisStore::open(redis.url()).unwrap();
    assert_rebuilt(&headers_sent(&server, Arc::new(store)).await);
}
