//! The secrets sweep (issue 8): canary secrets planted in every provider's settings must never
//! appear in logs (everything, at TRACE), in any error's `Display` or `Debug`, in the `Debug` of
//! configs, builders, sources, caches, clients, stores and credentials, in store file names or
//! contents, or in what the `propusk` binary prints on its failure paths (and on its success
//! paths, where it prints a token but never a planted secret).
//!
//! One test: the capturing subscriber is this process's global one (stores and the cache work on
//! Tokio's blocking and worker threads), and this binary holds nothing else.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alliance_auth::testkit::{DEMO_AUTH_KEY, Emulator as AllianceEmulator};
use alliance_auth::{AllianceConfig, AllianceSource, MerchantKey};
use auth_core::store::{FileStore, RedisStore};
use auth_core::testkit::emulator::Failure as KonturFailure;
use auth_core::{AuthClient, CredentialCache, CredentialSource, RefreshPolicy};
use evotor_auth::testkit::{Emulator as EvotorEmulator, ServiceAuth};
use evotor_auth::webhook::{FileWebhookStore, Receiver, ReferenceAccounts, WebhookStore};
use evotor_auth::{EvotorConfig, EvotorSource, ReceiverConfig, UserId};
use kontur_auth::testkit::{
    DEMO_CLIENT_ID, DEMO_OIDC_CLIENT, Emulator as KonturEmulator, Endpoint as KonturEndpoint,
};
use kontur_auth::{KonturConfig, KonturOidcConfig, KonturOidcSource, KonturSource};
use rustore_auth::testkit::{
    Emulator as RustoreEmulator, Endpoint as RustoreEndpoint, TEST_KEY_ID, TEST_PRIVATE_KEY,
};
use rustore_auth::{RustoreConfig, RustorePrivateKey, RustoreSource};
use secrecy::SecretString;
use waves_auth::testkit::{Emulator as WavesEmulator, NodeAuth};
use waves_auth::{WavesConfig, WavesSource, api_key_hash};

mod common;
use common::run;

const KONTUR_PASSWORD: &str = "CANARY-kontur-password-7f3a";
const KONTUR_WRONG_PASSWORD: &str = "CANARY-kontur-wrong-password-7f3a";
const KONTUR_OIDC_SECRET: &str = "CANARY-kontur-oidc-secret-7f3a";
const RUSTORE_KEY: &str = "CANARY-rustore-private-key-7f3a";
const WAVES_PASSWORD: &str = "CANARY-waves-password-7f3a";
const WAVES_WRONG_PASSWORD: &str = "CANARY-waves-wrong-password-7f3a";
const WAVES_SERVICE_TOKEN: &str = "CANARY-waves-service-token-7f3a";
const WAVES_API_KEY: &str = "CANARY-waves-api-key-7f3a";
const WAVES_WRONG_API_KEY: &str = "CANARY-waves-wrong-api-key-7f3a";
const EVOTOR_CLOUD_TOKEN: &str = "CANARY-evotor-cloud-token-7f3a";
const EVOTOR_SERVICE_TOKEN: &str = "CANARY-evotor-service-token-7f3a";
const EVOTOR_WRONG_SERVICE_TOKEN: &str = "CANARY-evotor-wrong-service-token-7f3a";
const EVOTOR_BASIC_PASSWORD: &str = "CANARY-evotor-basic-password-7f3a";
const REDIS_PASSWORD: &str = "CANARY-redis-password-7f3a";
const URL_SECRET: &str = "CANARY-url-secret-7f3a";
const HELP_CLIENT_ID: &str = "CANARY-help-client-id-7f3a";
const GET_URL_SECRET: &str = "CANARY-get-url-userinfo-7f3a";
const KEY_FILE_SECRET: &str = "CANARY-key-file-7f3a";
/// Sent back by a Waves service at the 200-character cut: only its prefix would leak.
const STRADDLING_PASSWORD: &str = "CANARY-straddle-password-7f3a";
const ALLIANCE_CLEAR_REFRESH: &str = "CANARY-alliance-clear-refresh-7f3a";
const ALLIANCE_CLEAR_AUTH: &str = "CANARY-alliance-clear-auth-7f3a";

/// Alliance's private key material can only be planted as a key: `d` of 64 base64url
/// characters that does not belong to the demo key's public part.
fn alliance_canary_d() -> String {
    format!("CANARY-alliance-d-7f3a{}", "A".repeat(64 - 22))
}

fn alliance_canary_jwk() -> String {
    let mut jwk: serde_json::Value = serde_json::from_str(DEMO_AUTH_KEY).unwrap();
    jwk["d"] = alliance_canary_d().into();
    jwk.to_string()
}

/// Key material that is secret without being planted: the demo Alliance `d` and a stretch of
/// the RuStore test key, both used on the success paths.
fn real_key_pieces() -> Vec<String> {
    let jwk: serde_json::Value = serde_json::from_str(DEMO_AUTH_KEY).unwrap();
    vec![
        jwk["d"].as_str().unwrap().to_owned(),
        TEST_PRIVATE_KEY.trim()[100..160].to_owned(),
    ]
}

fn canaries() -> Vec<String> {
    let mut all: Vec<String> = [
        KONTUR_PASSWORD,
        KONTUR_WRONG_PASSWORD,
        KONTUR_OIDC_SECRET,
        RUSTORE_KEY,
        WAVES_PASSWORD,
        WAVES_WRONG_PASSWORD,
        WAVES_SERVICE_TOKEN,
        WAVES_API_KEY,
        WAVES_WRONG_API_KEY,
        EVOTOR_CLOUD_TOKEN,
        EVOTOR_SERVICE_TOKEN,
        EVOTOR_WRONG_SERVICE_TOKEN,
        EVOTOR_BASIC_PASSWORD,
        REDIS_PASSWORD,
        URL_SECRET,
        HELP_CLIENT_ID,
        GET_URL_SECRET,
        KEY_FILE_SECRET,
        STRADDLING_PASSWORD,
        // The part before the cut, which scrubbing after cutting used to let through.
        &STRADDLING_PASSWORD[..15],
        ALLIANCE_CLEAR_REFRESH,
        ALLIANCE_CLEAR_AUTH,
    ]
    .map(str::to_owned)
    .to_vec();
    all.push(alliance_canary_d());
    all.extend(real_key_pieces());
    all
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// What was shown anywhere: each entry says where it came from.
#[derive(Default)]
struct Exhibits(Vec<(String, String)>);

impl Exhibits {
    fn add(&mut self, place: impl Into<String>, text: impl Into<String>) {
        self.0.push((place.into(), text.into()));
    }

    fn debug(&mut self, place: &str, value: &dyn std::fmt::Debug) {
        self.add(format!("Debug of {place}"), format!("{value:?}"));
    }

    fn error(&mut self, place: &str, error: &dyn std::error::Error) {
        self.add(
            format!("error from {place}"),
            format!("{error} | {error:?}"),
        );
    }

    fn output(&mut self, place: &str, output: &Output) {
        self.add(
            format!("stdout of {place}"),
            String::from_utf8_lossy(&output.stdout),
        );
        self.add(
            format!("stderr of {place}"),
            String::from_utf8_lossy(&output.stderr),
        );
    }

    fn folder(&mut self, place: &str, folder: &Path) {
        for entry in walk(folder) {
            self.add(
                format!("a file name in {place}"),
                entry.display().to_string(),
            );
            if let Ok(bytes) = std::fs::read(&entry) {
                self.add(
                    format!("{} in {place}", entry.display()),
                    String::from_utf8_lossy(&bytes),
                );
            }
        }
    }
}

fn walk(folder: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(folder) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(walk(&path));
            }
            found.push(path);
        }
    }
    found
}

fn impatient() -> RefreshPolicy {
    RefreshPolicy {
        min_retry_interval: Duration::from_millis(1),
        max_backoff: Duration::from_millis(1),
        ..RefreshPolicy::default()
    }
}

/// One run of the binary: what it is, its arguments, its environment, its exit code (-1: any
/// failure).
type Run<'a> = (&'a str, Vec<&'a str>, Vec<(&'a str, &'a str)>, i32);

fn propusk(cache: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_propusk"));
    command
        .args(args)
        .env_clear()
        .env("PROPUSK_LOG", "trace")
        .env("PROPUSK_CACHE_DIR", cache)
        .envs(env.iter().copied());
    command
}

async fn kontur(shown: &mut Exhibits, folder: &Path) {
    let emulator = KonturEmulator::start().await;
    let login = "sweep@example.com";
    emulator.add_account(DEMO_CLIENT_ID, login, KONTUR_PASSWORD);
    let builder = || {
        KonturConfig::builder()
            .base_url(emulator.base_url())
            .api_client_id(DEMO_CLIENT_ID)
            .login(login)
            .password(SecretString::from(KONTUR_PASSWORD))
    };
    shown.debug("KonturConfigBuilder", &builder());
    let config = builder().build().unwrap();
    shown.debug("KonturConfig", &config);
    let source = Arc::new(KonturSource::new(config));
    shown.debug("KonturSource", &source);
    let store = Arc::new(FileStore::new(folder.join("kontur")));
    let cache = CredentialCache::builder(source.clone())
        .policy(impatient())
        .store(store.clone())
        .build();
    let client = AuthClient::new(cache.clone()).unwrap();
    let response = client
        .get(format!("{}V1/Boxes/GetBoxesInfo", emulator.base_url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the planted password was accepted");
    shown.debug("a Kontur credential", &cache.get().await.unwrap());
    shown.debug("CredentialCache", &cache);
    shown.debug("AuthClient", &client);
    shown.debug("FileStore", &store);

    // Failure paths: a refused password, a broken server, a value the header cannot carry.
    let wrong = KonturSource::new(
        builder()
            .password(SecretString::from(KONTUR_WRONG_PASSWORD))
            .build()
            .unwrap(),
    );
    shown.error(
        "Kontur, wrong password",
        &wrong.acquire(None).await.unwrap_err(),
    );
    let current = cache.get().await.unwrap();
    for failure in [
        KonturFailure::Status(503),
        KonturFailure::Garbage,
        KonturFailure::Html,
    ] {
        emulator.inject(KonturEndpoint::Authenticate, failure);
        cache.invalidate(current.generation());
        shown.error("Kontur, hostile server", &cache.get().await.unwrap_err());
    }
    let unusable = builder()
        .password(SecretString::from(format!("{KONTUR_PASSWORD},=\n")))
        .build()
        .unwrap_err();
    shown.error("Kontur, unusable password", &unusable);

    let oidc = KonturOidcConfig::builder()
        .identity_url(emulator.base_url())
        .client_id(DEMO_OIDC_CLIENT)
        .client_secret(SecretString::from(KONTUR_OIDC_SECRET))
        .scope("edi-public-api-staging")
        .build()
        .unwrap();
    shown.debug("KonturOidcConfig", &oidc);
    let oidc = KonturOidcSource::new(oidc);
    shown.debug("KonturOidcSource", &oidc);
    shown.error(
        "Kontur OIDC, wrong secret",
        &oidc.acquire(None).await.unwrap_err(),
    );

    // The binary: success (prints the token), a refused password, an unreachable Redis store
    // whose URL holds a password.
    let cache_dir = folder.join("cli-kontur");
    let env = |password: &'static str| {
        vec![
            ("KONTUR_BASE_URL", emulator.base_url()),
            ("KONTUR_API_CLIENT_ID", DEMO_CLIENT_ID.to_owned()),
            ("KONTUR_LOGIN", login.to_owned()),
            ("KONTUR_PASSWORD", password.to_owned()),
        ]
    };
    let redis_url = format!("redis://:{REDIS_PASSWORD}@127.0.0.1:1/");
    for (case, args, mut vars, code) in [
        (
            "kontur token",
            vec!["kontur", "token"],
            env(KONTUR_PASSWORD),
            0,
        ),
        (
            "kontur header, wrong password",
            vec!["kontur", "header"],
            env(KONTUR_WRONG_PASSWORD),
            3,
        ),
        (
            "kontur token, Redis store",
            vec!["kontur", "token"],
            env(KONTUR_PASSWORD),
            0,
        ),
        (
            "kontur --help",
            vec!["kontur", "--help"],
            env(KONTUR_PASSWORD),
            0,
        ),
    ] {
        if case.contains("Redis") {
            vars.push(("PROPUSK_STORE", redis_url.clone()));
        }
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        // A folder per run: a stored credential would spare a wrong password its refusal.
        let output = run(propusk(&cache_dir.join(case), &args, &vars)).await;
        assert_eq!(output.status.code(), Some(code), "{case}: {output:?}");
        shown.output(case, &output);
    }
    shown.folder("the Kontur stores", folder);

    let redis = RedisStore::open(&redis_url).unwrap();
    shown.debug("RedisStore", &redis);
    let cache = CredentialCache::builder(source)
        .store(Arc::new(redis))
        .build();
    cache.get().await.unwrap();
}

async fn rustore(shown: &mut Exhibits, folder: &Path) {
    let emulator = RustoreEmulator::start().await;
    let builder = || {
        RustoreConfig::builder()
            .base_url(emulator.base_url())
            .key_id(TEST_KEY_ID)
            .private_key(SecretString::from(TEST_PRIVATE_KEY))
    };
    shown.debug("RustoreConfigBuilder", &builder());
    let config = builder().build().unwrap();
    shown.debug("RustoreConfig", &config);
    let source = Arc::new(RustoreSource::new(config));
    shown.debug("RustoreSource", &source);
    let cache = CredentialCache::builder(source.clone())
        .policy(impatient())
        .store(Arc::new(FileStore::new(folder.join("rustore"))))
        .build();
    let client = AuthClient::new(cache.clone()).unwrap();
    assert_eq!(
        client.get(emulator.resource_url()).await.unwrap().status(),
        200
    );
    shown.debug("a RuStore credential", &cache.get().await.unwrap());
    let current = cache.get().await.unwrap();
    emulator.inject(
        RustoreEndpoint::Auth,
        auth_core::testkit::emulator::Failure::Garbage,
    );
    cache.invalidate(current.generation());
    shown.error("RuStore, garbage", &cache.get().await.unwrap_err());

    let armoured =
        format!("-----BEGIN PRIVATE KEY-----\n{RUSTORE_KEY}\n-----END PRIVATE KEY-----\n");
    for key in [RUSTORE_KEY.to_owned(), armoured.clone()] {
        let error = builder()
            .private_key(SecretString::from(key.clone()))
            .build()
            .unwrap_err();
        shown.error("RuStore, unusable key", &error);
        if let Err(error) = RustorePrivateKey::parse(&key) {
            shown.error("RuStore, key parsing", &error);
        }
    }

    let cache_dir = folder.join("cli-rustore");
    for (case, key) in [
        ("rustore token, bare canary key", RUSTORE_KEY.to_owned()),
        ("rustore header, armoured canary key", armoured),
    ] {
        let action = if case.contains("token") {
            "token"
        } else {
            "header"
        };
        let output = run(propusk(
            &cache_dir,
            &["rustore", action],
            &[
                ("RUSTORE_BASE_URL", &emulator.base_url()),
                ("RUSTORE_KEY_ID", TEST_KEY_ID),
                ("RUSTORE_PRIVATE_KEY", &key),
            ],
        ))
        .await;
        assert_eq!(output.status.code(), Some(2), "{case}: {output:?}");
        shown.output(case, &output);
    }
    let output = run(propusk(
        &cache_dir,
        &["rustore", "token"],
        &[
            ("RUSTORE_BASE_URL", &emulator.base_url()),
            ("RUSTORE_KEY_ID", TEST_KEY_ID),
            ("RUSTORE_PRIVATE_KEY", TEST_PRIVATE_KEY),
        ],
    ))
    .await;
    assert!(output.status.success(), "{output:?}");
    shown.output("rustore token", &output);
}

async fn alliance(shown: &mut Exhibits, folder: &Path) {
    let emulator = AllianceEmulator::start().await;
    shown.debug("AllianceConfigBuilder", &emulator.config_builder());
    let config = emulator.config();
    shown.debug("AllianceConfig", &config);
    let source = Arc::new(AllianceSource::new(config));
    shown.debug("AllianceSource", &source);
    let cache = CredentialCache::builder(source)
        .policy(impatient())
        .store(Arc::new(FileStore::new(folder.join("alliance"))))
        .build();
    let client = AuthClient::new(cache.clone()).unwrap();
    assert_eq!(
        client
            .get(emulator.url("ecom/execute_request/hpp/v1/operations"))
            .await
            .unwrap()
            .status(),
        200
    );
    shown.debug("an Alliance credential", &cache.get().await.unwrap());

    let canary_jwk = alliance_canary_jwk();
    let error = MerchantKey::from_jwk(&canary_jwk).unwrap_err();
    shown.error("Alliance, key with a foreign d", &error);
    let armoured = format!("{{\"kty\":\"EC\",\"d\":\"{}\"}}", alliance_canary_d());
    if let Err(error) = MerchantKey::from_jwk(&armoured) {
        shown.error("Alliance, incomplete key", &error);
    }
    shown.debug(
        "AllianceConfig",
        &AllianceConfig::builder()
            .base_url(emulator.base_url())
            .service_code("a51e68aa-c6fa-11ed-afa1-0242ac120005"),
    );

    let cache_dir = folder.join("cli-alliance");
    let base_url = emulator.base_url();
    for (case, args, key, code) in [
        (
            "alliance token, canary key",
            vec!["alliance", "token"],
            canary_jwk.as_str(),
            2,
        ),
        (
            "alliance check-key, canary key",
            vec!["alliance", "check-key"],
            canary_jwk.as_str(),
            2,
        ),
        (
            "alliance header",
            vec!["alliance", "header"],
            DEMO_AUTH_KEY,
            0,
        ),
    ] {
        let output = run(propusk(
            &cache_dir,
            &args,
            &[
                ("ALLIANCE_BASE_URL", base_url.as_str()),
                (
                    "ALLIANCE_SERVICE_CODE",
                    "a51e68aa-c6fa-11ed-afa1-0242ac120005",
                ),
                ("ALLIANCE_AUTH_KEY", key),
            ],
        ))
        .await;
        assert_eq!(output.status.code(), Some(code), "{case}: {output:?}");
        shown.output(case, &output);
    }
}

async fn waves(shown: &mut Exhibits, folder: &Path) {
    let emulator = WavesEmulator::start().await;
    let login = "sweep@example.com";
    emulator.add_user(login, WAVES_PASSWORD);
    let builder = || {
        WavesConfig::builder()
            .auth_url(emulator.base_url())
            .login(login)
            .password(SecretString::from(WAVES_PASSWORD))
    };
    shown.debug("WavesConfigBuilder", &builder());
    let config = builder().build().unwrap();
    shown.debug("WavesConfig", &config);
    let source = WavesSource::new(config);
    shown.debug("WavesSource", &source);
    let cache = source
        .into_cache_builder()
        .store(Arc::new(FileStore::new(folder.join("waves"))))
        .build();
    let client = AuthClient::new(cache.clone()).unwrap();
    assert_eq!(client.get(emulator.node_url()).await.unwrap().status(), 200);
    // A refresh, sending the refresh token.
    cache.mark_stale();
    cache.get().await.unwrap();
    cache.settle().await;
    assert_eq!(emulator.refreshes(), 1);
    shown.debug("a Waves credential", &cache.get().await.unwrap());

    let wrong = WavesSource::new(
        builder()
            .password(SecretString::from(WAVES_WRONG_PASSWORD))
            .build()
            .unwrap(),
    );
    shown.error(
        "Waves, wrong password",
        &wrong.acquire(None).await.unwrap_err(),
    );
    let service = WavesConfig::builder()
        .auth_url(emulator.base_url())
        .service_token(SecretString::from(WAVES_SERVICE_TOKEN))
        .build()
        .unwrap();
    shown.debug("WavesConfig (service)", &service);
    shown.error(
        "Waves, wrong service token",
        &WavesSource::new(service).acquire(None).await.unwrap_err(),
    );

    emulator.set_node_auth(NodeAuth::ApiKey(api_key_hash(WAVES_API_KEY)));
    let keyed = WavesSource::new(
        WavesConfig::builder()
            .api_key(SecretString::from(WAVES_API_KEY))
            .build()
            .unwrap(),
    );
    shown.debug("WavesSource (API key)", &keyed);
    let client = keyed.into_client().unwrap();
    assert_eq!(client.get(emulator.node_url()).await.unwrap().status(), 200);
    shown.debug(
        "a Waves API-key credential",
        &client.cache().get().await.unwrap(),
    );
    shown.debug("AuthClient (API key)", &client);

    let cache_dir = folder.join("cli-waves");
    let base_url = emulator.base_url();
    let node_url = emulator.node_url();
    let runs: [Run; 4] = [
        (
            "waves token",
            vec!["waves", "token"],
            vec![
                ("WAVES_AUTH_URL", &base_url),
                ("WAVES_LOGIN", login),
                ("WAVES_PASSWORD", WAVES_PASSWORD),
            ],
            0,
        ),
        (
            "waves header, wrong password",
            vec!["waves", "header"],
            vec![
                ("WAVES_AUTH_URL", &base_url),
                ("WAVES_LOGIN", login),
                ("WAVES_PASSWORD", WAVES_WRONG_PASSWORD),
            ],
            3,
        ),
        (
            "waves token, wrong service token",
            vec!["waves", "token"],
            vec![
                ("WAVES_AUTH_URL", &base_url),
                ("WAVES_SERVICE_TOKEN", WAVES_SERVICE_TOKEN),
            ],
            3,
        ),
        (
            "waves get, wrong API key",
            vec!["waves", "get", &node_url],
            vec![
                ("WAVES_API_KEY", WAVES_WRONG_API_KEY),
                ("WAVES_NODE_URLS", &node_url),
            ],
            5,
        ),
    ];
    for (case, args, vars, code) in runs {
        // A folder per run: a stored credential would spare a wrong password its refusal.
        let output = run(propusk(&cache_dir.join(case), &args, &vars)).await;
        assert_eq!(output.status.code(), Some(code), "{case}: {output:?}");
        shown.output(case, &output);
    }
}

async fn evotor(shown: &mut Exhibits, folder: &Path) {
    // The receiver, with both service credentials planted.
    let file_store = Arc::new(FileWebhookStore::open(folder.join("evotor")).unwrap());
    shown.debug("FileWebhookStore", &file_store);
    let store: Arc<dyn WebhookStore> = file_store;
    let basic_login = "sweep-login";
    let receiver_config = ReceiverConfig::builder()
        .service_token(SecretString::from(EVOTOR_SERVICE_TOKEN))
        .basic(basic_login, SecretString::from(EVOTOR_BASIC_PASSWORD))
        .build()
        .unwrap();
    shown.debug("ReceiverConfig", &receiver_config);
    let receiver = Receiver::new(
        receiver_config,
        store.clone(),
        Arc::new(ReferenceAccounts::new(store.clone())),
    );
    shown.debug("Receiver", &receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver_url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(evotor_auth::axum::serve_until(
        listener,
        receiver,
        async move {
            let _ = stopped.await;
        },
    ));

    let user = UserId::parse("01-000000000000001").unwrap();
    let cloud = EvotorEmulator::builder()
        .receiver_url(&receiver_url)
        .service_auth(ServiceAuth::Token(SecretString::from(EVOTOR_SERVICE_TOKEN)))
        .start()
        .await;
    shown.debug("the Evotor emulator", &cloud);
    let created = cloud.create_account(&user).await.unwrap();
    assert_eq!(
        created.status, 200,
        "the planted service token was accepted"
    );
    cloud.hand_over_token(&user).await.unwrap();
    let basic = EvotorEmulator::builder()
        .receiver_url(&receiver_url)
        .service_auth(ServiceAuth::Basic(
            basic_login.to_owned(),
            SecretString::from(EVOTOR_BASIC_PASSWORD),
        ))
        .start()
        .await;
    let other_user = UserId::parse("01-000000000000002").unwrap();
    let created = basic.create_account(&other_user).await.unwrap();
    assert_eq!(
        created.status, 200,
        "the planted Basic password was accepted"
    );
    let intruder = EvotorEmulator::builder()
        .receiver_url(&receiver_url)
        .service_auth(ServiceAuth::Token(SecretString::from(
            EVOTOR_WRONG_SERVICE_TOKEN,
        )))
        .start()
        .await;
    match intruder
        .create_account(&UserId::parse("01-000000000000003").unwrap())
        .await
    {
        Ok(delivery) => {
            assert_eq!(delivery.status, 401);
            shown.add("the receiver's refusal", delivery.body.clone());
            shown.debug("a refused delivery", &delivery);
        }
        Err(error) => shown.error("Evotor, wrong service token", &error),
    }

    // The client: the delivered token (success), then the planted one (refused by the Cloud).
    let config = EvotorConfig::builder()
        .base_url(cloud.base_url())
        .user_id(user.as_str());
    let source = EvotorSource::new(config.cloud_tokens(store.clone()).build().unwrap());
    let client = AuthClient::new(CredentialCache::new(source)).unwrap();
    let url = format!("{}api/v1/inventories/stores/search", cloud.base_url());
    assert_eq!(client.get(&url).await.unwrap().status(), 200);
    let fixed_config = EvotorConfig::builder()
        .base_url(cloud.base_url())
        .user_id(user.as_str())
        .cloud_token(SecretString::from(EVOTOR_CLOUD_TOKEN));
    shown.debug("EvotorConfigBuilder with a fixed token", &fixed_config);
    let fixed = EvotorSource::new(fixed_config.build().unwrap());
    shown.debug("EvotorSource", &fixed);
    let cache = CredentialCache::new(fixed);
    shown.debug("an Evotor credential", &cache.get().await.unwrap());
    let client = AuthClient::new(cache).unwrap();
    shown.error(
        "Evotor, refused Cloud token",
        &client.get(&url).await.unwrap_err(),
    );

    let cache_dir = folder.join("cli-evotor");
    let base_url = cloud.base_url();
    let with_newline = format!("{EVOTOR_CLOUD_TOKEN}\nX-Other: 1");
    let runs: [Run; 3] = [
        (
            "evotor get, refused Cloud token",
            vec!["evotor", "get", &url],
            vec![
                ("EVOTOR_BASE_URL", &base_url),
                ("EVOTOR_TOKEN", EVOTOR_CLOUD_TOKEN),
            ],
            3,
        ),
        (
            "evotor header, unusable Cloud token",
            vec!["evotor", "header"],
            vec![("EVOTOR_TOKEN", &with_newline)],
            -1,
        ),
        (
            "evotor serve, Basic password without a login",
            vec!["evotor", "serve", "--listen", "127.0.0.1:0"],
            vec![
                ("EVOTOR_SERVICE_TOKEN", EVOTOR_SERVICE_TOKEN),
                ("EVOTOR_WEBHOOK_PASSWORD", EVOTOR_BASIC_PASSWORD),
            ],
            2,
        ),
    ];
    for (case, args, vars, code) in runs {
        // A folder per run: a stored credential would spare a wrong password its refusal.
        let output = run(propusk(&cache_dir.join(case), &args, &vars)).await;
        if code >= 0 {
            assert_eq!(output.status.code(), Some(code), "{case}: {output:?}");
        } else {
            assert!(!output.status.success(), "{case}: {output:?}");
        }
        shown.output(case, &output);
    }

    let _ = stop.send(());
    let _ = served.await;
}

/// The leaks of issue 14: `--help` showing variables, an invalid `get` URL echoed with its user
/// information, an oversized key file, a Waves password straddling the excerpt cut, and an
/// Alliance authorize answer with a session in clear.
async fn issue_14_leaks(shown: &mut Exhibits, folder: &Path) {
    use auth_core::testkit::{HostileServer, Misbehaviour};
    let cache = folder.join("cli-issue-14");

    for provider in ["kontur", "rustore", "waves", "alliance", "evotor"] {
        for help in [&[provider, "--help"][..], &[provider, "get", "--help"]] {
            let output = run(propusk(
                &cache,
                help,
                &[
                    ("KONTUR_API_CLIENT_ID", HELP_CLIENT_ID),
                    ("KONTUR_LOGIN", HELP_CLIENT_ID),
                    ("RUSTORE_KEY_ID", HELP_CLIENT_ID),
                    ("ALLIANCE_SERVICE_CODE", HELP_CLIENT_ID),
                    ("WAVES_LOGIN", HELP_CLIENT_ID),
                    ("WAVES_NODE_URLS", HELP_CLIENT_ID),
                    ("PROPUSK_ALLOW_ORIGINS", HELP_CLIENT_ID),
                    ("PROPUSK_CACHE_DIR", HELP_CLIENT_ID),
                ],
            ))
            .await;
            assert!(output.status.success(), "{help:?}");
            shown.output(&format!("{help:?}"), &output);
        }
    }

    let bad_url = format!("http://user:{GET_URL_SECRET}@[::1/x");
    let output = run(propusk(
        &cache,
        &["evotor", "get", &bad_url],
        &[("EVOTOR_TOKEN", "f46b89a5-8e80-4591-b0aa-94551790444b")],
    ))
    .await;
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    shown.output("get with an invalid URL carrying user information", &output);

    let key_file = folder.join("huge-key.json");
    let mut huge = format!(r#"{{"kty":"EC","d":"{KEY_FILE_SECRET}","pad":""#);
    huge.push_str(&"A".repeat(2 * 1024 * 1024));
    huge.push_str("\"}");
    std::fs::write(&key_file, huge).unwrap();
    let key_path = key_file.display().to_string();
    let output = run(propusk(
        &cache,
        &["alliance", "check-key", "--key-file", &key_path],
        &[],
    ))
    .await;
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("larger than 65536 bytes"),
        "the key file is capped: {output:?}"
    );
    shown.output("alliance check-key, a 2 MiB key file", &output);
    // The planted file itself holds the canary: not part of what the tool wrote.
    std::fs::remove_file(&key_file).unwrap();

    let message = format!(
        "{}{STRADDLING_PASSWORD} is not the password",
        "x".repeat(185)
    );
    let waves = HostileServer::start(Misbehaviour::json(
        400,
        serde_json::json!({ "code": 400, "message": message }).to_string(),
    ));
    let output = run(propusk(
        &cache,
        &["waves", "token"],
        &[
            ("WAVES_AUTH_URL", &waves.url()),
            ("WAVES_LOGIN", "sweep"),
            ("WAVES_PASSWORD", STRADDLING_PASSWORD),
        ],
    ))
    .await;
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    shown.output("waves token, the password echoed at the cut", &output);

    let in_clear = serde_json::json!({
        "refreshToken": ALLIANCE_CLEAR_REFRESH,
        "authToken": ALLIANCE_CLEAR_AUTH,
        "deviceId": "d-1",
    })
    .to_string();
    for status in [200, 403, 500] {
        let alliance = HostileServer::start(Misbehaviour::json(status, in_clear.clone()));
        let output = run(propusk(
            &cache,
            &["alliance", "token"],
            &[
                ("ALLIANCE_BASE_URL", &alliance.url()),
                (
                    "ALLIANCE_SERVICE_CODE",
                    "a51e68aa-c6fa-11ed-afa1-0242ac120005",
                ),
                ("ALLIANCE_AUTH_KEY", DEMO_AUTH_KEY),
            ],
        ))
        .await;
        assert!(!output.status.success(), "{output:?}");
        shown.output(
            &format!("alliance token, a session in clear (HTTP {status})"),
            &output,
        );
    }
}

/// Base URLs that carry a secret (user information, a query, a fragment, or all of it typed
/// without a scheme) are refused by every provider, library and command line, without showing it.
async fn base_urls(shown: &mut Exhibits, folder: &Path) {
    let urls = [
        format!("http://user:{URL_SECRET}@api.example"),
        format!("https://user:{URL_SECRET}@api.example"),
        format!("ftp://user:{URL_SECRET}@api.example"),
        format!("user:{URL_SECRET}@api.example"),
        format!("http://api.example/?token={URL_SECRET}"),
        format!("https://api.example/#{URL_SECRET}"),
    ];
    for url in &urls {
        let kontur = KonturConfig::builder()
            .base_url(url.as_str())
            .api_client_id(DEMO_CLIENT_ID)
            .login("sweep@example.com")
            .password(SecretString::from(KONTUR_PASSWORD))
            .build()
            .unwrap_err();
        shown.error("a Kontur base URL with a secret", &kontur);
        let rustore = RustoreConfig::builder()
            .base_url(url.as_str())
            .key_id("1")
            .private_key(SecretString::from(RUSTORE_KEY))
            .build()
            .unwrap_err();
        shown.error("a RuStore base URL with a secret", &rustore);
        let alliance = AllianceConfig::builder()
            .base_url(url.as_str())
            .service_code("a51e68aa-c6fa-11ed-afa1-0242ac120005")
            .authorization_key(MerchantKey::from_jwk(DEMO_AUTH_KEY).unwrap())
            .build()
            .unwrap_err();
        shown.error("an Alliance base URL with a secret", &alliance);
        let evotor = EvotorConfig::builder()
            .base_url(url.as_str())
            .cloud_token(SecretString::from(EVOTOR_CLOUD_TOKEN))
            .build()
            .unwrap_err();
        shown.error("an Evotor base URL with a secret", &evotor);
        let waves = WavesConfig::builder()
            .auth_url(url.as_str())
            .login("sweep")
            .password(SecretString::from(WAVES_PASSWORD))
            .build()
            .unwrap_err();
        shown.error("a Waves auth URL with a secret", &waves);
    }
    let cache = folder.join("cli-urls");
    let runs: [(&str, Vec<(&str, &str)>); 5] = [
        (
            "kontur",
            vec![
                ("KONTUR_API_CLIENT_ID", DEMO_CLIENT_ID),
                ("KONTUR_LOGIN", "sweep@example.com"),
                ("KONTUR_PASSWORD", KONTUR_PASSWORD),
            ],
        ),
        (
            "rustore",
            vec![
                ("RUSTORE_KEY_ID", "1"),
                ("RUSTORE_PRIVATE_KEY", RUSTORE_KEY),
            ],
        ),
        (
            "alliance",
            vec![
                (
                    "ALLIANCE_SERVICE_CODE",
                    "a51e68aa-c6fa-11ed-afa1-0242ac120005",
                ),
                ("ALLIANCE_AUTH_KEY", DEMO_AUTH_KEY),
            ],
        ),
        (
            "waves",
            vec![("WAVES_LOGIN", "sweep"), ("WAVES_PASSWORD", WAVES_PASSWORD)],
        ),
        ("evotor", vec![("EVOTOR_TOKEN", EVOTOR_CLOUD_TOKEN)]),
    ];
    let url = &urls[0];
    for (provider, mut env) in runs {
        let variable = match provider {
            "waves" => "WAVES_AUTH_URL".to_owned(),
            other => format!("{}_BASE_URL", other.to_uppercase()),
        };
        env.push((variable.as_str(), url.as_str()));
        let output = run(propusk(&cache, &[provider, "token"], &env)).await;
        assert!(!output.status.success(), "{provider} took the URL");
        shown.output(
            &format!("propusk {provider} token, base URL with a secret"),
            &output,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_planted_secret_shows_up_anywhere() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
            .with_writer(move || writer.clone())
            .finish(),
    )
    .expect("the only subscriber of this test binary");

    let folder = tempfile::tempdir().unwrap();
    let mut shown = Exhibits::default();
    kontur(&mut shown, folder.path()).await;
    rustore(&mut shown, folder.path()).await;
    alliance(&mut shown, folder.path()).await;
    waves(&mut shown, folder.path()).await;
    evotor(&mut shown, folder.path()).await;
    base_urls(&mut shown, folder.path()).await;
    issue_14_leaks(&mut shown, folder.path()).await;
    shown.folder("the stores and cache folders", folder.path());

    let captured = logs.text();
    // The capture works and saw the flows (a silent subscriber would prove nothing).
    for expected in [
        "credential acquired",
        "propusk.acquire",
        "refreshing the access token",
        "credential store unavailable; acquiring without its lock",
    ] {
        assert!(captured.contains(expected), "`{expected}` not logged");
    }
    shown.add("the captured logs", captured);

    let mut leaks = Vec::new();
    for canary in canaries() {
        for (place, text) in &shown.0 {
            if text.contains(&canary) {
                leaks.push(format!("`{canary}` in {place}"));
            }
        }
    }
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
    assert!(shown.0.len() > 80, "only {} exhibits", shown.0.len());
}
