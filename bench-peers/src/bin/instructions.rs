//! The hot path N times in a row, for `callgrind.sh`: run under `valgrind --tool=callgrind` with
//! N and 2N, the difference of the two instruction counts over N is one call's instructions,
//! set-up excluded.
//!
//! `instructions PEER N`, PEER one of propusk_fresh, propusk_get, smithy, moka_get,
//! moka_try_get_with.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use propusk_bench_peers::moka_cache::{KEY, MokaCache};
use propusk_bench_peers::smithy::SmithyCache;
use propusk_bench_peers::{Source, Window, propusk};

const WINDOW: Window = Window {
    lifetime: Duration::from_secs(3600),
    margin: Duration::from_secs(60),
};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(peer), Some(n)) = (args.next(), args.next().and_then(|n| n.parse::<u64>().ok()))
    else {
        eprintln!(
            "usage: instructions PEER N (PEER: propusk_fresh, propusk_get, smithy, moka_get, moka_try_get_with)"
        );
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let source = Source::new(Duration::ZERO, WINDOW.lifetime);
    let source = Arc::clone(&source);
    runtime.block_on(async move {
        let mut sum = 0u64;
        match peer.as_str() {
            "propusk_fresh" | "propusk_get" => {
                let cache = propusk::cache(Arc::clone(&source), WINDOW);
                cache.get().await.expect("propusk fills");
                if peer == "propusk_fresh" {
                    for _ in 0..n {
                        sum += black_box(cache.fresh()).map_or(0, |c| c.headers().len() as u64);
                    }
                } else {
                    for _ in 0..n {
                        sum += black_box(cache.get().await).map_or(0, |c| c.headers().len() as u64);
                    }
                }
            }
            "smithy" => {
                let cache = SmithyCache::new(Arc::clone(&source), WINDOW);
                cache.get().await.expect("smithy fills");
                for _ in 0..n {
                    sum += black_box(cache.get().await).map_or(0, |i| SmithyCache::serial(&i));
                }
            }
            "moka_get" | "moka_try_get_with" => {
                let cache = MokaCache::new(Arc::clone(&source), WINDOW);
                cache.get().await.expect("moka fills");
                if peer == "moka_get" {
                    for _ in 0..n {
                        sum += black_box(cache.cache.get(KEY).await).map_or(0, |i| i.serial);
                    }
                } else {
                    for _ in 0..n {
                        sum += black_box(cache.get().await).map_or(0, |i| i.serial);
                    }
                }
            }
            other => {
                eprintln!("no peer {other:?}");
                std::process::exit(2);
            }
        }
        assert_eq!(source.calls(), 1, "the hot path called the source");
        black_box(sum);
    });
}
