//! The hot path of each cache holding a fresh credential, in one run: propusk's `fresh()` and
//! `get()`, smithy's `resolve_cached_identity`, moka's `get` and `try_get_with`. Each async call
//! is awaited inside criterion's Tokio executor (a current-thread runtime), the same harness for
//! all.
//!
//! Run from `bench-peers/`: `cargo bench --bench hot_path`. Figures: `docs/benchmarks.md`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::Criterion;
use propusk_bench_peers::moka_cache::{KEY, MokaCache};
use propusk_bench_peers::smithy::SmithyCache;
use propusk_bench_peers::{Source, Window, propusk};

const WINDOW: Window = Window {
    lifetime: Duration::from_secs(3600),
    margin: Duration::from_secs(60),
};

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let source = Source::new(Duration::ZERO, WINDOW.lifetime);
    let (cache, smithy, moka) = runtime.block_on(async {
        let cache = propusk::cache(Arc::clone(&source), WINDOW);
        cache.get().await.expect("propusk fills");
        let smithy = SmithyCache::new(Arc::clone(&source), WINDOW);
        smithy.get().await.expect("smithy fills");
        let moka = MokaCache::new(Arc::clone(&source), WINDOW);
        moka.get().await.expect("moka fills");
        (cache, smithy, moka)
    });
    let filled = source.calls();

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("peers_hot_path");
    group.bench_function("propusk_fresh", |b| {
        b.iter(|| black_box(cache.fresh()).map(|c| c.headers().len()))
    });
    group.bench_function("propusk_get", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(cache.get().await).map(|c| c.headers().len()) })
    });
    group.bench_function("smithy_resolve_cached_identity", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(smithy.get().await).map(|i| SmithyCache::serial(&i)) })
    });
    group.bench_function("moka_get", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(moka.cache.get(KEY).await).map(|i| i.serial) })
    });
    group.bench_function("moka_try_get_with", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(moka.get().await).map(|i| i.serial) })
    });
    group.finish();
    criterion.final_summary();
    assert_eq!(
        source.calls(),
        filled,
        "a cache called the source on its hot path"
    );
}
