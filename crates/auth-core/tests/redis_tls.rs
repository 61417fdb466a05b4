//! `rediss://` (issue 13): a TLS redis-server with a certificate this test makes, an ACL user
//! with a password. A trusted CA works; a wrong CA and a plain-text server are errors that are
//! not taken for an outage, and no error shows the password.

use std::time::{Duration, SystemTime};

use auth_core::store::{CredentialStore, LockAttempt, RedisStore};
use auth_core::testkit::{RedisServer, make_tls_files, unrelated_ca_pem};
use auth_core::{AuthError, Credential, Identity, SecretString};
use secrecy::ExposeSecret;

const PASSWORD: &str = "Canary-Redis-Pa55";

fn acl_user() -> Vec<String> {
    ["--user", "default", "off", "--user", "fleet", "on"]
        .iter()
        .map(|s| s.to_string())
        .chain([format!(">{PASSWORD}"), "~*".into(), "+@all".into()])
        .collect()
}

fn tls_url(server: &RedisServer) -> String {
    format!("rediss://fleet:{PASSWORD}@127.0.0.1:{}/", server.port())
}

fn assert_refusal(attempt: Result<LockAttempt, AuthError>, what: &str) -> String {
    let error = match attempt {
        Err(error) => error,
        Ok(other) => panic!("{what}: {other:?}"),
    };
    let text = format!("{error} {error:?}");
    assert!(!text.contains(PASSWORD), "{what}: {text}");
    assert!(
        matches!(error, AuthError::StoreConnection { .. }),
        "{what}: {error:?}"
    );
    text
}

#[tokio::test]
async fn rediss_works_with_the_ca_and_refuses_a_wrong_ca_and_a_plain_text_server() {
    let folder = tempfile::tempdir().unwrap();
    let files = make_tls_files(folder.path());
    let args = acl_user();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = RedisServer::start_tls(&files, &args);
    let ca = std::fs::read(&files.ca).unwrap();
    let identity = Identity::new("test", ["account"]);

    let store = RedisStore::open_with_roots(&tls_url(&server), &ca).unwrap();
    assert!(!format!("{store:?}").contains(PASSWORD));
    let credential = Credential::new(
        SecretString::from("tls-token"),
        SystemTime::now() + Duration::from_secs(600),
    );
    store.save(&identity, &credential).await.unwrap();
    let loaded = store.load(&identity).await.unwrap().unwrap();
    assert_eq!(loaded.token().expose_secret(), "tls-token");
    let LockAttempt::Taken(lock) = store.try_lock(&identity).await.unwrap() else {
        panic!("the lock is free");
    };
    lock.release().await;

    // The system's roots alone do not know the test's CA.
    let untrusted = RedisStore::open(&tls_url(&server)).unwrap();
    let text = assert_refusal(untrusted.try_lock(&identity).await, "system roots");
    assert!(text.contains("certificate"), "{text}");

    let wrong =
        RedisStore::open_with_roots(&tls_url(&server), unrelated_ca_pem().as_bytes()).unwrap();
    let text = assert_refusal(wrong.try_lock(&identity).await, "wrong CA");
    assert!(text.contains("certificate"), "{text}");

    let plain = RedisServer::start_with_args(&args);
    let url = format!("rediss://fleet:{PASSWORD}@127.0.0.1:{}/", plain.port());
    let to_plain = RedisStore::open_with_roots(&url, &ca).unwrap();
    assert_refusal(to_plain.try_lock(&identity).await, "plain-text server");

    // And a wrong password is a refusal too, not an outage.
    let wrong_password = format!("rediss://fleet:Canary-Wrong@127.0.0.1:{}/", server.port());
    let refused = RedisStore::open_with_roots(&wrong_password, &ca).unwrap();
    let text = assert_refusal(refused.try_lock(&identity).await, "wrong password");
    assert!(!text.contains("Canary-Wrong"), "{text}");
}

#[test]
fn extra_roots_must_hold_a_certificate_and_belong_to_a_tls_url() {
    let empty = RedisStore::open_with_roots("rediss://127.0.0.1:1/", b"not pem").unwrap_err();
    assert!(empty.to_string().contains("no PEM certificate"), "{empty}");
    let plain = RedisStore::open_with_roots("redis://127.0.0.1:1/", b"").unwrap_err();
    assert!(plain.to_string().contains("rediss://"), "{plain}");
}
