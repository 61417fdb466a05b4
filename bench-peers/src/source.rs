//! The one credential source all three caches are put in front of: answers after a configurable
//! delay, fails while its failure switch is on, and counts (and timestamps) every call.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use auth_core::{Credential, SecretString};
use http::header::AUTHORIZATION;
use tokio::time::Instant;

/// What the source hands out: a propusk [`Credential`] (one `Authorization` header) and the
/// source's serial number for it, which the peers without generations use to tell credentials
/// apart.
#[derive(Debug, Clone)]
pub struct Issued {
    /// 1 for the first credential this source issued, 2 for the next, ...
    pub serial: u64,
    /// The credential itself.
    pub credential: Credential,
}

/// The source's failure, as every cache sees it.
#[derive(Debug, Clone)]
pub struct SourceDown;

impl std::fmt::Display for SourceDown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the credential source is down (HTTP 503)")
    }
}

impl std::error::Error for SourceDown {}

/// A credential source shared by reference (`Arc<Source>`).
#[derive(Debug)]
pub struct Source {
    delay_us: AtomicU64,
    lifetime_ms: AtomicU64,
    failing: AtomicBool,
    calls: AtomicU64,
    issued: AtomicU64,
    call_times: Mutex<Vec<Instant>>,
}

impl Source {
    /// A source answering after `delay` with credentials living `lifetime`.
    pub fn new(delay: Duration, lifetime: Duration) -> Arc<Self> {
        Arc::new(Self {
            delay_us: AtomicU64::new(delay.as_micros() as u64),
            lifetime_ms: AtomicU64::new(lifetime.as_millis() as u64),
            failing: AtomicBool::new(false),
            calls: AtomicU64::new(0),
            issued: AtomicU64::new(0),
            call_times: Mutex::new(Vec::new()),
        })
    }

    /// From now on every call fails (after the delay), or succeeds again.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// How many times a cache called the source.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    /// When each call started.
    pub fn call_times(&self) -> Vec<Instant> {
        self.call_times.lock().unwrap().clone()
    }

    /// One call: waits the delay, then issues a credential or fails.
    pub async fn fetch(&self) -> Result<Issued, SourceDown> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.call_times.lock().unwrap().push(Instant::now());
        let delay = Duration::from_micros(self.delay_us.load(Ordering::SeqCst));
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if self.failing.load(Ordering::SeqCst) {
            return Err(SourceDown);
        }
        let serial = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let lifetime = Duration::from_millis(self.lifetime_ms.load(Ordering::SeqCst));
        let token = format!("t0ken-{serial}");
        let credential = Credential::new(
            SecretString::from(token.clone()),
            SystemTime::now() + lifetime,
        )
        .with_header("bench", AUTHORIZATION, &format!("Bearer {token}"))
        .expect("an ASCII header value");
        Ok(Issued { serial, credential })
    }
}
