//! The hot path: a fresh cached credential to its headers in hand, beside the obvious
//! alternative measured in the same run — a `tokio::sync::RwLock<Option<Arc<_>>>` cache that
//! reads the clock to check expiry — and beside the floor (one atomic load, one clock read).
//!
//! Run: `cargo bench -p auth-core --bench hot_path`. Results and their reading:
//! `docs/benchmarks.md`.

use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use auth_core::{AuthError, Credential, CredentialCache, CredentialSource, Identity};
use criterion::Criterion;
use futures_util::FutureExt;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use secrecy::SecretString;

/// A source that never leaves the process: the bench measures the cache, not a provider.
struct StaticSource(Identity);

#[async_trait::async_trait]
impl CredentialSource for StaticSource {
    fn identity(&self) -> &Identity {
        &self.0
    }

    async fn acquire(&self, _previous: Option<&Credential>) -> Result<Credential, AuthError> {
        Credential::new(
            SecretString::from("t0ken"),
            SystemTime::now() + Duration::from_secs(3600),
        )
        .with_header(
            "bench",
            AUTHORIZATION,
            "KonturEdiAuth konturediauth_api_client_id=bench,konturediauth_token=t0ken",
        )
    }
}

/// The baseline: what one would write without arc-swap and a refresh timer.
struct RwLockCache {
    current: tokio::sync::RwLock<Option<BaselineEntry>>,
}

struct BaselineEntry {
    credential: Arc<Credential>,
    expires_at: Instant,
}

impl RwLockCache {
    fn new(credential: Credential) -> Self {
        Self {
            current: tokio::sync::RwLock::new(Some(BaselineEntry {
                credential: Arc::new(credential),
                expires_at: Instant::now() + Duration::from_secs(3600),
            })),
        }
    }

    /// The async read, as a cache behind `get().await` would do it: a clone of the credential
    /// if still good.
    async fn fresh(&self) -> Option<Arc<Credential>> {
        let current = self.current.read().await;
        Self::check(current.as_ref())
    }

    /// The same without `await` (`try_read`), to set beside the synchronous
    /// `CredentialCache::fresh`. With readers only it never fails.
    fn try_fresh(&self) -> Option<Arc<Credential>> {
        let current = self.current.try_read().ok()?;
        Self::check(current.as_ref())
    }

    fn check(entry: Option<&BaselineEntry>) -> Option<Arc<Credential>> {
        match entry {
            Some(entry) if Instant::now() < entry.expires_at => Some(Arc::clone(&entry.credential)),
            _ => None,
        }
    }
}

/// Runs `contender` in a loop on a second thread while `measure` runs, then stops it.
fn with_contender<C, M>(contender: C, measure: M)
where
    C: Fn() + Send + Sync,
    M: FnOnce(),
{
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                contender();
            }
        });
        measure();
        stop.store(true, Ordering::Relaxed);
    });
}

fn hot_path(c: &mut Criterion) {
    // The cache arms a refresh timer on the runtime that installs the credential; the runtime
    // must outlive the measurement or the entry drops to its clock-checking state.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a Tokio runtime");
    let cache = CredentialCache::new(StaticSource(Identity::new("bench", ["account"])));
    let credential = runtime
        .block_on(cache.get())
        .expect("the static source always answers");
    assert!(
        cache.fresh().is_some(),
        "the entry must be fresh, or the bench measures the slow path"
    );
    let baseline = RwLockCache::new((*credential).clone());
    assert!(baseline.fresh().now_or_never().flatten().is_some());

    let mut group = c.benchmark_group("hot_path");

    // The floor, for reference: one atomic load, one clock read, one Arc clone (and its drop).
    let word = AtomicU64::new(7);
    group.bench_function("floor/atomic_u64_load", |b| {
        b.iter(|| black_box(&word).load(Ordering::Acquire))
    });
    group.bench_function("floor/std_instant_now", |b| b.iter(Instant::now));
    group.bench_function("floor/arc_clone_drop", |b| {
        b.iter(|| Arc::clone(black_box(&credential)))
    });

    // What `fresh()` is made of: an arc-swap load (a debt slot taken, then paid back when the
    // guard drops), the state flag, and the Arc clone.
    let swap = arc_swap::ArcSwapOption::from(Some(Arc::clone(&credential)));
    group.bench_function("anatomy/arc_swap_load_guard", |b| {
        b.iter(|| {
            black_box(&swap)
                .load()
                .as_deref()
                .map(Credential::generation)
        })
    });
    group.bench_function("anatomy/arc_swap_load_full", |b| {
        b.iter(|| black_box(&swap).load_full())
    });

    // Fresh credential to headers in hand, synchronously: the cache's `fresh()` against the
    // baseline's `try_read()` + clock check + clone.
    group.bench_function("sync/cache_fresh", |b| {
        b.iter(|| {
            let credential = black_box(&cache).fresh().expect("fresh");
            black_box(credential.headers().len());
            credential
        })
    });
    group.bench_function("sync/baseline_rwlock_try_read", |b| {
        b.iter(|| {
            let credential = black_box(&baseline).try_fresh().expect("fresh");
            black_box(credential.headers().len());
            credential
        })
    });

    // The same through the async entry points (`get()`, `read().await`), each future polled
    // once with a no-op waker, no runtime involved. Two ways: handed to `now_or_never` (which
    // takes the future by value, so it is moved: a memcpy right after it was written), and
    // pinned where it was made and polled there. `AuthClient::send` awaits `get()` inside its
    // own future, which also moves it (the third line shows that shape).
    group.bench_function("async/cache_get_now_or_never", |b| {
        b.iter(|| {
            let credential = black_box(&cache)
                .get()
                .now_or_never()
                .expect("a fresh hit never waits")
                .expect("fresh");
            black_box(credential.headers().len());
            credential
        })
    });
    group.bench_function("async/cache_get_pinned", |b| {
        let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
        b.iter(|| {
            let get = pin!(black_box(&cache).get());
            let Poll::Ready(Ok(credential)) = get.poll(&mut cx) else {
                panic!("a fresh hit is ready at once");
            };
            black_box(credential.headers().len());
            credential
        })
    });
    group.bench_function("async/cache_get_awaited_in_async_block", |b| {
        b.iter(|| {
            let credential = async { black_box(&cache).get().await }
                .now_or_never()
                .expect("a fresh hit never waits")
                .expect("fresh");
            black_box(credential.headers().len());
            credential
        })
    });
    group.bench_function("async/baseline_rwlock_read_now_or_never", |b| {
        b.iter(|| {
            let credential = black_box(&baseline)
                .fresh()
                .now_or_never()
                .expect("an uncontended read lock never waits")
                .expect("fresh");
            black_box(credential.headers().len());
            credential
        })
    });
    group.bench_function("async/baseline_rwlock_read_pinned", |b| {
        let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
        b.iter(|| {
            let read = pin!(black_box(&baseline).fresh());
            let Poll::Ready(Some(credential)) = read.poll(&mut cx) else {
                panic!("an uncontended read lock never waits");
            };
            black_box(credential.headers().len());
            credential
        })
    });

    // The step after "headers ready", the same for either cache: copying them onto a request.
    let source = StaticSource(Identity::new("bench", ["account"]));
    group.bench_function("apply/headers_onto_request", |b| {
        b.iter(|| {
            let mut headers = HeaderMap::new();
            source.apply(
                black_box(&credential),
                "/V1/Boxes/GetBoxesInfo",
                &mut headers,
            );
            headers
        })
    });

    // Two threads on the same cache: the measured one and a contender doing the same read.
    with_contender(
        || drop(black_box(cache.fresh())),
        || {
            group.bench_function("contended_2_threads/cache_fresh", |b| {
                b.iter(|| black_box(&cache).fresh().expect("fresh"))
            });
        },
    );
    with_contender(
        || drop(black_box(baseline.try_fresh())),
        || {
            group.bench_function("contended_2_threads/baseline_rwlock_try_read", |b| {
                // Readers never exclude each other; there is no writer here.
                b.iter(|| black_box(&baseline).try_fresh().expect("fresh"))
            });
        },
    );
    group.finish();
    drop(runtime);
}

fn main() {
    // `criterion_group!` would generate an undocumented `pub fn`; this is the same by hand.
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    hot_path(&mut criterion);
    criterion.final_summary();
}
