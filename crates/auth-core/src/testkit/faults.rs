//! What every provider's fault-injection tests (`tests/hardening.rs`) share: the credential
//! headers no other origin may see, the broken connections every endpoint must survive, and the
//! checks for oversized answers and redirects, each against a [`HostileServer`], and what a
//! store still holds after a failure.

use std::future::Future;
use std::time::Duration;

use super::{HostileServer, Misbehaviour};
use crate::HttpSettings;
use crate::store::CredentialStore;
use crate::{
    AuthClient, AuthError, CredentialCache, CredentialSource, ExposeSecret, Identity, RefreshPolicy,
};

/// Every header any provider authenticates with; none may reach another origin.
pub const CREDENTIAL_HEADERS: [&str; 7] = [
    "authorization",
    "public-token",
    "x-api-key",
    "x-authorization",
    "x-refresh_token",
    "x-device_id",
    "cookie",
];

/// A token a hostile answer carries; it must never show up in an error.
pub const SERVER_TOKEN: &str = "SERVER-TOKEN-7f3a";

/// The redirect statuses a client could follow.
pub const REDIRECT_STATUSES: [u16; 5] = [301, 302, 303, 307, 308];

/// The most body a client may take in before it notices an answer is over its limit.
const READ_BEFORE_HANGING_UP: u64 = 16 * 1024 * 1024;

/// The whole-exchange limit of [`short_timeout`]: 1 s, far below the slow answers the tests
/// send (a 64-byte body at one byte per 150 ms, an emulator's 5 s pause), and far above what a
/// loaded test machine needs for a normal answer.
pub const SHORT_TIMEOUT: Duration = Duration::from_secs(1);

/// HTTP settings with a [`SHORT_TIMEOUT`], so slow answers fail fast.
pub fn short_timeout() -> HttpSettings {
    let mut http = HttpSettings::default();
    http.timeout = SHORT_TIMEOUT;
    http
}

/// `policy` without retry waits: every `get` after a failure asks the provider again at once.
pub fn impatient(policy: RefreshPolicy) -> RefreshPolicy {
    RefreshPolicy {
        min_retry_interval: Duration::from_millis(1),
        max_backoff: Duration::from_millis(1),
        ..policy
    }
}

/// A reset connection, a body that trickles past the [`SHORT_TIMEOUT`], a body cut short: each must be
/// a transient [`AuthError::Transport`].
pub fn transport_faults() -> Vec<(&'static str, Misbehaviour)> {
    vec![
        ("connection reset", Misbehaviour::Reset),
        (
            "slow body",
            Misbehaviour::SlowBody {
                length: 64,
                every: Duration::from_millis(150),
            },
        ),
        (
            "truncated body",
            Misbehaviour::Truncated {
                length: 100,
                sent: 10,
            },
        ),
    ]
}

/// `error` is transient or permanent as expected, and neither its `Display` nor its `Debug`
/// shows [`SERVER_TOKEN`] or any of `secrets`.
///
/// # Panics
/// When either does not hold; `case` names the case in the message.
pub fn assert_classified(error: &AuthError, transient: bool, case: &str, secrets: &[&str]) {
    assert_eq!(error.is_transient(), transient, "{case}: {error:?}");
    let shown = format!("{error} {error:?}");
    for secret in secrets.iter().chain([&SERVER_TOKEN]) {
        assert!(!shown.contains(secret), "{case}: a secret in {shown}");
    }
}

/// Answers no token endpoint should take, each with whether the error must be transient: a
/// proxy's 502 page and a 429 (transient); a 200 maintenance page, an empty JSON body and a
/// body that is not UTF-8 (permanent).
pub fn hostile_answers() -> Vec<(Misbehaviour, bool)> {
    vec![
        (
            Misbehaviour::answer(502, "text/html", "<html><h1>502 Bad Gateway</h1></html>"),
            true,
        ),
        (
            Misbehaviour::answer(200, "text/html", "<html><body>Maintenance</body></html>"),
            false,
        ),
        (Misbehaviour::answer(429, "text/plain", "slow down"), true),
        (Misbehaviour::json(200, ""), false),
        (
            Misbehaviour::answer(200, "application/json", vec![0xff, 0xfe]),
            false,
        ),
    ]
}

/// For each `(answer, transient)` of `cases`: `attempts(url)` asks the token endpoint (or
/// several) of a server at `url` that answers so; every error passes [`assert_classified`].
///
/// # Panics
/// When any error does not.
pub async fn assert_answers_classified<F, Fut>(
    cases: Vec<(Misbehaviour, bool)>,
    mut attempts: F,
    secrets: &[&str],
) where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Vec<AuthError>>,
{
    for (misbehaviour, transient) in cases {
        let case = format!("{misbehaviour:?}");
        let server = HostileServer::start(misbehaviour);
        let errors = attempts(server.url()).await;
        assert!(!errors.is_empty(), "no attempt was made");
        for error in &errors {
            assert_classified(error, transient, &case, secrets);
        }
    }
}

/// For each of [`transport_faults`]: `attempts(url)` asks the token endpoint (or several) of a
/// server at `url` that misbehaves so; every error it returns is a transient
/// [`AuthError::Transport`] showing no secret, and each attempt made one connection.
///
/// # Panics
/// When any of that does not hold.
pub async fn assert_transport_faults_are_transient<F, Fut>(mut attempts: F, secrets: &[&str])
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Vec<AuthError>>,
{
    for (case, misbehaviour) in transport_faults() {
        let server = HostileServer::start(misbehaviour);
        let errors = attempts(server.url()).await;
        assert!(!errors.is_empty(), "no attempt was made");
        for error in &errors {
            assert!(
                matches!(error, AuthError::Transport { .. }),
                "{case}: {error:?}"
            );
            assert_classified(error, true, case, secrets);
        }
        assert_eq!(server.connections(), errors.len(), "{case}");
    }
}

/// Runs `attempts(url)` against a server streaming 64 MiB, with and without `Content-Length`:
/// every error it returns is a permanent [`AuthError::Protocol`] naming the limit, and the
/// server got less than 16 MiB out per attempt before the client hung up.
///
/// # Panics
/// When any of that does not hold.
pub async fn assert_oversized_refused<F, Fut>(mut attempts: F, secrets: &[&str])
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Vec<AuthError>>,
{
    for declare_length in [true, false] {
        let server = HostileServer::start(Misbehaviour::Endless {
            limit: 64 * 1024 * 1024,
            declare_length,
        });
        let errors = attempts(server.url()).await;
        assert!(!errors.is_empty(), "no attempt was made");
        for error in &errors {
            assert!(matches!(error, AuthError::Protocol { .. }), "{error:?}");
            assert!(error.to_string().contains("limit"), "{error}");
            assert_classified(error, false, "oversized", secrets);
        }
        assert!(server.wait_until_quiet(Duration::from_secs(10)));
        let most = READ_BEFORE_HANGING_UP * errors.len() as u64;
        assert!(
            server.bytes_sent() < most,
            "declared length {declare_length}: {} bytes went out before the client hung up",
            server.bytes_sent()
        );
    }
}

/// For each of [`REDIRECT_STATUSES`]: `send(home)` sends one authenticated request to a path
/// under `home`, which redirects it to another origin. The answer must come from there, `home`
/// must have got `header` (so a leak would show), and the other origin none of
/// [`CREDENTIAL_HEADERS`].
///
/// # Panics
/// When any of that does not hold.
pub async fn assert_credentials_stay_home<F, Fut>(header: &str, mut send: F)
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<reqwest::Response, AuthError>>,
{
    let elsewhere = HostileServer::start(Misbehaviour::answer(200, "text/plain", "landed"));
    for status in REDIRECT_STATUSES {
        let home = HostileServer::start(Misbehaviour::redirect(
            status,
            format!("{}/landing", elsewhere.url()),
        ));
        let response = send(home.url())
            .await
            .unwrap_or_else(|error| panic!("HTTP {status}: {error:?}"));
        let body = response.text().await.unwrap_or_default();
        assert_eq!(
            body, "landed",
            "HTTP {status}: the redirect was not followed"
        );
        let at_home = home.requests();
        assert!(
            at_home.len() == 1 && at_home[0].get(header).is_some(),
            "HTTP {status}: the first origin did not get `{header}`, so a leak would not show"
        );
    }
    let received = elsewhere.requests();
    assert_eq!(received.len(), REDIRECT_STATUSES.len());
    for headers in &received {
        for name in CREDENTIAL_HEADERS {
            assert!(
                headers.get(name).is_none(),
                "`{name}` reached the other origin"
            );
        }
    }
}

/// [`assert_credentials_stay_home`] for `client`: a POST with a small body to `<home>/go`.
///
/// # Panics
/// As [`assert_credentials_stay_home`].
pub async fn assert_client_keeps_credentials_home(client: &AuthClient, header: &str) {
    assert_credentials_stay_home(header, |home| {
        // `home` stands for the provider's API: the client is told it is an allowed origin.
        let client = client
            .clone()
            .allow_origin(&url::Url::parse(&home).expect("a loopback URL"));
        let request = client
            .request(http::Method::POST, format!("{home}/go"))
            .body("payload")
            .build()
            .expect("a POST to a loopback URL builds");
        async move { client.send(request).await }
    })
    .await;
}

/// For each of [`REDIRECT_STATUSES`]: `attempts(home)` asks a token endpoint (or several) under
/// `home`, which redirects every request to another origin. Each error must be permanent, say
/// `redirect`, and show no secret; `home` must have seen one request per error, and the other
/// origin none at all.
///
/// # Panics
/// When any of that does not hold.
pub async fn assert_token_endpoints_follow_no_redirect<F, Fut>(mut attempts: F, secrets: &[&str])
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Vec<AuthError>>,
{
    let elsewhere = HostileServer::start(Misbehaviour::json(
        200,
        format!(r#"{{"token":"{SERVER_TOKEN}"}}"#),
    ));
    for status in REDIRECT_STATUSES {
        let home = HostileServer::start(Misbehaviour::redirect(
            status,
            format!("{}/stolen", elsewhere.url()),
        ));
        let errors = attempts(home.url()).await;
        assert!(!errors.is_empty(), "no attempt was made");
        for error in &errors {
            assert!(
                error.to_string().contains("redirect"),
                "HTTP {status}: {error}"
            );
            assert_classified(error, false, &format!("redirect {status}"), secrets);
        }
        assert_eq!(home.requests().len(), errors.len(), "HTTP {status}");
    }
    assert_eq!(
        elsewhere.connections(),
        0,
        "the redirect target was contacted"
    );
}

/// The token `store` holds for `identity`.
///
/// # Panics
/// When the store fails or holds nothing: the credential a test expects to survive is gone.
pub async fn stored_token(store: &dyn CredentialStore, identity: &Identity) -> String {
    store
        .load(identity)
        .await
        .expect("the store answers")
        .expect("the stored credential is still there")
        .token()
        .expose_secret()
        .to_owned()
}

/// The scenario every provider's hardening test runs against its emulator: "a failed refresh
/// never replaces the stored credential".
///
/// A cache over `source()` with `store` and an impatient policy gets a first credential, which
/// is stored. A background refresh that fails (the first of `failures` is injected through
/// `inject` for it) keeps it in service and stored. Then each of `failures` in turn, injected
/// before a re-authentication forced by a rejection, gives an error that is transient or not as
/// its flag says and shows no secret, and leaves the store as it was. Answers a new cache over a
/// new `source()` and the same store (another process), for the caller to check that the
/// provider still accepts the stored credential.
///
/// # Panics
/// When any of that does not hold.
pub async fn assert_failed_refresh_keeps_stored<S, Q>(
    source: impl Fn() -> S,
    store: std::sync::Arc<dyn CredentialStore>,
    inject: impl Fn(super::emulator::Failure<Q>),
    failures: &[(super::emulator::Failure<Q>, bool)],
    secrets: &[&str],
) -> CredentialCache
where
    S: CredentialSource,
    Q: Clone + std::fmt::Debug,
{
    let first_source = source();
    let identity = first_source.identity().clone();
    let cache = CredentialCache::builder(first_source)
        .policy(impatient(RefreshPolicy::default()))
        .store(std::sync::Arc::clone(&store))
        .build();
    let first = cache.get().await.expect("a first credential");
    let expected = first.token().expose_secret().to_owned();
    assert_eq!(stored_token(&*store, &identity).await, expected);

    let (background, _) = failures.first().expect("at least one failure to inject");
    inject(background.clone());
    cache.mark_stale();
    assert!(
        cache
            .get()
            .await
            .expect("the old credential")
            .same_token(&first),
        "a failing background refresh took the credential out of service"
    );
    cache.settle().await;
    assert_eq!(
        stored_token(&*store, &identity).await,
        expected,
        "a failed background refresh ({background:?}) replaced the stored credential"
    );

    for (failure, transient) in failures {
        inject(failure.clone());
        cache.invalidate(first.generation());
        let error = cache
            .get()
            .await
            .expect_err("the injected failure reaches the caller");
        assert_classified(&error, *transient, &format!("{failure:?}"), secrets);
        assert_eq!(
            stored_token(&*store, &identity).await,
            expected,
            "{failure:?} replaced the stored credential"
        );
    }
    CredentialCache::builder(source()).store(store).build()
}
