//! The cache's refresh policy, with a scripted source and paused time.

mod common;

use std::sync::Arc;
use std::time::Duration;

use auth_core::{CredentialCache, RefreshPolicy};
use common::{ScriptedSource, transient};
use secrecy::ExposeSecret;

fn policy() -> RefreshPolicy {
    RefreshPolicy {
        margin: Duration::from_secs(60),
        jitter: Duration::ZERO,
        min_retry_interval: Duration::from_secs(1),
        max_backoff: Duration::from_secs(60),
        ..RefreshPolicy::default()
    }
}

fn cache(source: &Arc<ScriptedSource>) -> CredentialCache {
    CredentialCache::builder(source.clone())
        .policy(policy())
        .build()
}

fn token(c: &auth_core::Credential) -> String {
    c.token().expose_secret().to_owned()
}

#[tokio::test(start_paused = true)]
async fn a_fresh_credential_is_served_without_asking_again() {
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    let cache = cache(&source);
    let first = cache.get().await.unwrap();
    for _ in 0..100 {
        assert_eq!(token(&cache.get().await.unwrap()), token(&first));
    }
    assert!(cache.fresh().is_some());
    assert_eq!(source.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn inside_the_margin_the_old_credential_is_served_while_one_refresh_runs() {
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    let cache = cache(&source);
    let first = cache.get().await.unwrap();
    tokio::time::advance(Duration::from_secs(541)).await;
    tokio::task::yield_now().await;
    assert!(
        cache.fresh().is_none(),
        "the timer marked the entry at its refresh time"
    );
    for _ in 0..10 {
        assert_eq!(
            token(&cache.get().await.unwrap()),
            token(&first),
            "no caller waits"
        );
    }
    cache.settle().await;
    assert_eq!(source.calls(), 2, "exactly one background refresh");
    assert_eq!(token(&cache.get().await.unwrap()), "token-2");
}

#[tokio::test(start_paused = true)]
async fn an_expired_credential_makes_callers_wait_for_a_new_one() {
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    let cache = cache(&source);
    cache.get().await.unwrap();
    tokio::time::advance(Duration::from_secs(601)).await;
    tokio::task::yield_now().await; // the refresh timer task runs
    assert_eq!(token(&cache.get().await.unwrap()), "token-2");
    assert_eq!(source.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn while_backing_off_callers_get_the_last_error_at_once_and_the_retry_waits() {
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    source.fail_next(transient());
    let cache = cache(&source);
    assert!(cache.get().await.unwrap_err().is_transient());
    let started = tokio::time::Instant::now();
    let again = cache.get().await.unwrap_err();
    assert!(again.is_transient(), "{again}");
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "no wait for the next attempt"
    );
    assert_eq!(source.calls(), 1, "the backoff holds the provider off");
    tokio::time::advance(Duration::from_millis(1001)).await;
    assert_eq!(
        token(&cache.get().await.unwrap()),
        "token-2",
        "the error was not kept past the backoff"
    );
    assert_eq!(source.calls(), 2);
}

/// Issue 13: once nothing valid is left and the provider is down, a caller got its error only
/// after the next backoff attempt (up to 60 s). Now every caller gets the last error within
/// 1 s, and the provider is still asked no more often than the backoff allows.
#[tokio::test(start_paused = true)]
async fn in_an_outage_a_hundred_callers_each_fail_within_a_second_and_attempts_stay_bounded() {
    let mut source = ScriptedSource::new(Duration::from_secs(600));
    source.delay = Duration::from_millis(100);
    let source = Arc::new(source);
    for _ in 0..1000 {
        source.fail_next(transient());
    }
    let cache = cache(&source);
    let started = tokio::time::Instant::now();
    let mut callers = Vec::new();
    for _ in 0..100 {
        let cache = cache.clone();
        callers.push(tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            while started.elapsed() < Duration::from_secs(20) {
                let asked = tokio::time::Instant::now();
                assert!(cache.get().await.is_err());
                slowest = slowest.max(asked.elapsed());
                tokio::time::sleep(Duration::from_millis(fastrand::u64(50..250))).await;
            }
            slowest
        }));
    }
    for caller in callers {
        let slowest = caller.await.unwrap();
        assert!(
            slowest <= Duration::from_secs(1),
            "a caller waited {slowest:?}"
        );
    }
    // Attempts at 0, 1, 3, 7 and 15 s (backoff 1, 2, 4, 8 s).
    assert!(
        source.calls() <= 6,
        "{} provider calls in 20 s",
        source.calls()
    );
    assert!(
        source.calls() >= 4,
        "{} provider calls in 20 s",
        source.calls()
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_background_refresh_serves_the_old_credential_and_backs_off() {
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    let cache = cache(&source);
    let first = cache.get().await.unwrap();
    for _ in 0..3 {
        source.fail_next(transient());
    }
    cache.mark_stale();
    assert_eq!(token(&cache.get().await.unwrap()), token(&first));
    cache.settle().await;
    assert_eq!(source.calls(), 2);
    // Within the backoff interval nobody tries again, however often they ask.
    for _ in 0..1000 {
        assert_eq!(token(&cache.get().await.unwrap()), token(&first));
    }
    cache.settle().await;
    assert_eq!(source.calls(), 2, "no busy loop");
    // After 1 s one more attempt (fails), then 2 s before the next.
    tokio::time::advance(Duration::from_millis(1001)).await;
    cache.get().await.unwrap();
    cache.settle().await;
    assert_eq!(source.calls(), 3);
    tokio::time::advance(Duration::from_millis(1001)).await;
    cache.get().await.unwrap();
    cache.settle().await;
    assert_eq!(source.calls(), 3, "the second wait is 2 s");
    tokio::time::advance(Duration::from_millis(1000)).await;
    cache.get().await.unwrap();
    cache.settle().await;
    assert_eq!(source.calls(), 4);
    tokio::time::advance(Duration::from_millis(4001)).await;
    cache.get().await.unwrap();
    cache.settle().await;
    assert_eq!(source.calls(), 5);
    assert_eq!(token(&cache.get().await.unwrap()), "token-5", "recovered");
}

#[tokio::test(start_paused = true)]
async fn invalidation_names_a_generation_and_ignores_stale_ones() {
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    let cache = cache(&source);
    let first = cache.get().await.unwrap();
    assert!(cache.invalidate(first.generation()));
    assert!(!cache.invalidate(first.generation()), "already invalidated");
    let second = cache.get().await.unwrap();
    assert_eq!(second.generation(), first.generation() + 1);
    assert!(
        !cache.invalidate(first.generation()),
        "a stale rejection is ignored"
    );
    assert_eq!(token(&cache.get().await.unwrap()), token(&second));
    assert_eq!(source.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn the_previous_credential_is_handed_to_the_source() {
    let source = Arc::new(ScriptedSource::new(Duration::from_secs(600)));
    let cache = cache(&source);
    let first = cache.get().await.unwrap();
    cache.invalidate(first.generation());
    cache.get().await.unwrap();
    let seen = source.seen_previous.lock().unwrap().clone();
    assert_eq!(seen, vec![None, Some("refresh-1".to_owned())]);
}

#[tokio::test(start_paused = true)]
async fn a_credential_issued_already_expired_does_not_cause_a_busy_loop() {
    let source = Arc::new(ScriptedSource::new(Duration::ZERO));
    let cache = cache(&source);
    for _ in 0..100 {
        cache.get().await.unwrap();
    }
    assert_eq!(source.calls(), 1, "held for the minimum retry interval");
}

#[test]
fn debug_output_never_shows_the_token() {
    let credential = auth_core::Credential::new(
        secrecy::SecretString::from("Canary-Token-123"),
        std::time::SystemTime::now(),
    )
    .with_extra("refresh", secrecy::SecretString::from("Canary-Refresh-456"))
    .with_header(
        "test",
        http::header::AUTHORIZATION,
        "Bearer Canary-Token-123",
    )
    .unwrap();
    let text = format!("{credential:?}");
    assert!(!text.contains("Canary"), "{text}");
    assert!(text.contains("authorization"), "{text}");
}
