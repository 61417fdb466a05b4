//! Registering a user: `POST /v1/user`, 201.

use auth_core::HttpSettings;
use auth_core::testkit::emulator::Failure;
use auth_core::{AuthError, CredentialSource, SecretString};
use waves_auth::protocol::LoginField;
use waves_auth::testkit::{DEMO_LOGIN, Emulator, Endpoint};
use waves_auth::{Locale, Registration, UserKind, WavesConfig, WavesSource};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_user_can_log_in() {
    let emulator = Emulator::start().await;
    Registration::new("new@example.com", SecretString::from("new-password"))
        .locale(Locale::Ru)
        .kind(UserKind::Voting)
        .submit(&emulator.base_url(), &HttpSettings::default())
        .await
        .unwrap();
    assert!(emulator.has_user("new@example.com"));
    let config = WavesConfig::builder()
        .auth_url(emulator.base_url())
        .login("new@example.com")
        .password(SecretString::from("new-password"))
        .build()
        .unwrap();
    WavesSource::new(config).acquire(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_field_is_configurable_and_only_one_is_sent() {
    let emulator = Emulator::builder()
        .register_field(LoginField::Username)
        .start()
        .await;
    let registration = Registration::new("web@example.com", SecretString::from("pw-secret-1"));
    let error = registration
        .submit(&emulator.base_url(), &HttpSettings::default())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("HTTP 400"), "{error}");
    assert!(!error.to_string().contains("pw-secret-1"));
    registration
        .login_field(LoginField::Username)
        .submit(&emulator.base_url(), &HttpSettings::default())
        .await
        .unwrap();
    assert!(emulator.has_user("web@example.com"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anything_but_201_is_not_a_registration() {
    let emulator = Emulator::start().await;
    let duplicate = Registration::new(DEMO_LOGIN, SecretString::from("pw-secret-2"))
        .submit(&emulator.base_url(), &HttpSettings::default())
        .await
        .unwrap_err();
    assert!(
        matches!(duplicate, AuthError::Server { status: 409, .. }),
        "{duplicate}"
    );
    assert!(
        duplicate.to_string().contains("already exists"),
        "{duplicate}"
    );

    emulator.inject(Endpoint::Register, Failure::Garbage); // 200, not 201
    let error = Registration::new("other@example.com", SecretString::from("pw-secret-3"))
        .submit(&emulator.base_url(), &HttpSettings::default())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("instead of 201"), "{error}");
    assert!(!emulator.has_user("other@example.com"));

    let bad_url = Registration::new("x@example.com", SecretString::from("pw"))
        .submit("not a url", &HttpSettings::default())
        .await
        .unwrap_err();
    assert!(matches!(bad_url, AuthError::Config { .. }));
}
