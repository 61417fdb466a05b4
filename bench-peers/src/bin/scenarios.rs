//! The scenarios beyond the hot path, for the three caches on one source each, in one process:
//! a cold herd, a refresh window, an invalidation storm, a failing source before and after
//! expiry. Prints markdown tables, with ratios to propusk measured in the same run.
//!
//! Run: `cargo run --release --bin scenarios [herd|refresh|storm|failing]...` (all by default),
//! from `bench-peers/`. What each scenario does: `docs/benchmarks.md`.

use std::sync::Arc;
use std::time::Duration;

use propusk_bench_peers::{PEERS, Peer, Source, Window};
use tokio::time::Instant;

/// A window for scenarios where no refresh comes due.
const LONG: Window = Window {
    lifetime: Duration::from_secs(3600),
    margin: Duration::from_secs(60),
};

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let mut wanted: Vec<String> = std::env::args().skip(1).collect();
    if wanted.is_empty() {
        wanted = ["herd", "refresh", "storm", "failing"]
            .map(String::from)
            .to_vec();
    }
    runtime.block_on(async {
        for scenario in &wanted {
            match scenario.as_str() {
                "herd" => cold_herd().await,
                "refresh" => refresh_window().await,
                "storm" => invalidation_storm().await,
                "failing" => failing_source().await,
                other => eprintln!("unknown scenario {other:?}: herd, refresh, storm, failing"),
            }
        }
    });
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn ratio(value: f64, propusk: f64) -> String {
    if propusk == 0.0 {
        if value == 0.0 {
            "1×".into()
        } else {
            "∞".into()
        }
    } else {
        format!("{:.2}×", value / propusk)
    }
}

/// 10 000 callers at once on an empty cache; the source answers after 50 ms. 5 rounds per
/// peer, peers interleaved round by round; median wall time from the first spawn to the last
/// answer.
async fn cold_herd() {
    const CALLERS: usize = 10_000;
    const ROUNDS: usize = 5;
    let delay = Duration::from_millis(50);
    let mut walls = vec![Vec::new(); PEERS.len()];
    let mut calls = vec![Vec::new(); PEERS.len()];
    let mut errors = vec![0usize; PEERS.len()];
    for _ in 0..ROUNDS {
        for (p, name) in PEERS.iter().enumerate() {
            let source = Source::new(delay, LONG.lifetime);
            let peer = Arc::new(Peer::new(name, Arc::clone(&source), LONG));
            let started = Instant::now();
            let tasks: Vec<_> = (0..CALLERS)
                .map(|_| {
                    let peer = Arc::clone(&peer);
                    tokio::spawn(async move { peer.get().await })
                })
                .collect();
            for task in tasks {
                if task.await.expect("a caller").is_err() {
                    errors[p] += 1;
                }
            }
            walls[p].push(ms(started.elapsed()));
            calls[p].push(source.calls() as f64);
        }
    }
    println!("\n### Cold herd: {CALLERS} callers, empty cache, source answers in 50 ms\n");
    println!(
        "| cache | source calls (median of {ROUNDS}) | max | wall ms (median) | min … max | errors | wall vs propusk |"
    );
    println!("|---|---:|---:|---:|---|---:|---:|");
    let base = median(walls[0].clone());
    for (p, name) in PEERS.iter().enumerate() {
        let wall = median(walls[p].clone());
        let (lo, hi) = min_max(&walls[p]);
        println!(
            "| {name} | {} | {} | {wall:.1} | {lo:.1} … {hi:.1} | {} | {} |",
            median(calls[p].clone()),
            calls[p].iter().cloned().fold(0.0, f64::max),
            errors[p],
            ratio(wall, base)
        );
    }
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)))
}

/// A credential living 6 s with a 3 s refresh margin (smithy expires it 1.5–3 s early, at
/// random; moka's time-to-live is 3 s). 4.6 s after it was issued, every cache is inside its
/// window and the credential is still valid; then 1 000 callers arrive, one per millisecond.
/// The source answers in 100 ms. A caller "waited" when its answer took ≥ 1 ms (a hit takes
/// microseconds).
async fn refresh_window() {
    const CALLERS: usize = 1_000;
    let delay = Duration::from_millis(100);
    let window = Window {
        lifetime: Duration::from_secs(6),
        margin: Duration::from_secs(3),
    };
    println!(
        "\n### Refresh window: {CALLERS} callers over 1 s, credential still valid, source answers in 100 ms\n"
    );
    println!(
        "| cache | callers that waited ≥ 1 ms | ≥ 50 ms | max wait ms | p50 µs | source calls in the window | errors | arrivals took ms |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for name in PEERS {
        let source = Source::new(delay, window.lifetime);
        let peer = Arc::new(Peer::new(name, Arc::clone(&source), window));
        let filled = Instant::now();
        peer.get().await.expect("the first credential");
        tokio::time::sleep_until(filled + Duration::from_millis(4_600)).await;
        let calls_before = source.calls();
        let arrivals = Instant::now();
        let mut ticker = tokio::time::interval(Duration::from_millis(1));
        let mut tasks = Vec::with_capacity(CALLERS);
        for _ in 0..CALLERS {
            ticker.tick().await;
            let peer = Arc::clone(&peer);
            tasks.push(tokio::spawn(async move {
                let started = Instant::now();
                let result = peer.get().await;
                (started.elapsed(), result.is_err())
            }));
        }
        let arrivals = arrivals.elapsed();
        let mut latencies = Vec::with_capacity(CALLERS);
        let mut errors = 0;
        for task in tasks {
            let (latency, failed) = task.await.expect("a caller");
            latencies.push(latency);
            errors += usize::from(failed);
        }
        let ended = filled.elapsed();
        let waited = latencies
            .iter()
            .filter(|l| **l >= Duration::from_millis(1))
            .count();
        let waited_half = latencies.iter().filter(|l| **l >= delay / 2).count();
        let max = latencies.iter().max().copied().unwrap_or_default();
        let p50 = median(latencies.iter().map(|l| l.as_secs_f64() * 1e6).collect());
        println!(
            "| {name} | {waited} | {waited_half} | {:.1} | {p50:.1} | {} | {errors} | {:.0} |",
            ms(max),
            source.calls() - calls_before,
            ms(arrivals)
        );
        assert!(
            ended < window.lifetime,
            "the window ran past expiry: {ended:?}"
        );
    }
}

/// 1 000 callers all got a 401 for the current credential and react as each cache lets them:
/// propusk `invalidate(generation)`, moka `invalidate(key)`, then a `get`. The source answers in
/// 50 ms. Two shapes: all 1 000 rejections at once, and spread over 200 ms (as answers of
/// requests in flight come back).
async fn invalidation_storm() {
    const CALLERS: usize = 1_000;
    let delay = Duration::from_millis(50);
    println!(
        "\n### Invalidation storm: {CALLERS} callers reject the current credential, source answers in 50 ms\n"
    );
    println!(
        "| cache | rejections | source calls | wall ms | callers ending on a credential issued after the rejected one | calls vs propusk |"
    );
    println!("|---|---|---:|---:|---:|---:|");
    for spread in [Duration::ZERO, Duration::from_millis(200)] {
        let mut base = None;
        for name in PEERS {
            let source = Source::new(delay, LONG.lifetime);
            let peer = Arc::new(Peer::new(name, Arc::clone(&source), LONG));
            let rejected = peer.get().await.expect("the first credential");
            if !peer.invalidate(rejected).await {
                println!(
                    "| {name} | {} | — | — | — | no invalidation: `IdentityCache` has no call to drop or replace a cached identity; the rejected one is served until its buffer time |",
                    shape(spread)
                );
                continue;
            }
            // That first invalidation was a probe; start again with the same credential cached.
            let source = Source::new(delay, LONG.lifetime);
            let peer = Arc::new(Peer::new(name, Arc::clone(&source), LONG));
            let rejected = peer.get().await.expect("the first credential");
            let calls_before = source.calls();
            let started = Instant::now();
            let tasks: Vec<_> = (0..CALLERS)
                .map(|i| {
                    let peer = Arc::clone(&peer);
                    let at = started + spread.mul_f64(i as f64 / CALLERS as f64);
                    tokio::spawn(async move {
                        tokio::time::sleep_until(at).await;
                        peer.invalidate(rejected).await;
                        peer.get().await
                    })
                })
                .collect();
            let mut renewed = 0;
            for task in tasks {
                if let Ok(id) = task.await.expect("a caller")
                    && id != rejected
                {
                    renewed += 1;
                }
            }
            let wall = ms(started.elapsed());
            let calls = (source.calls() - calls_before) as f64;
            let base = *base.get_or_insert(calls);
            println!(
                "| {name} | {} | {calls} | {wall:.1} | {renewed} | {} |",
                shape(spread),
                ratio(calls, base)
            );
        }
    }
}

fn shape(spread: Duration) -> String {
    if spread.is_zero() {
        "all at once".into()
    } else {
        format!("over {} ms", spread.as_millis())
    }
}

/// The source goes down right after issuing a credential that lives 12 s with a 6 s margin
/// (moka: time-to-live 6 s; smithy: expired 3–6 s early, at random). 100 callers each call,
/// record, pause 100 ms, for 20 s; the source fails after its 50 ms delay. The three caches run
/// at the same time, each on its own source. Calls are grouped by when they started: fresh
/// (0–6 s), refresh window with the credential still valid (6–12 s), expired (12–20 s).
async fn failing_source() {
    const CALLERS: usize = 100;
    let delay = Duration::from_millis(50);
    let window = Window {
        lifetime: Duration::from_secs(12),
        margin: Duration::from_secs(6),
    };
    let run = Duration::from_secs(20);
    let runs: Vec<_> = PEERS
        .iter()
        .map(|name| {
            tokio::spawn(async move {
                let source = Source::new(delay, window.lifetime);
                let peer = Arc::new(Peer::new(name, Arc::clone(&source), window));
                peer.get().await.expect("the first credential");
                let t0 = Instant::now();
                source.set_failing(true);
                let callers: Vec<_> = (0..CALLERS)
                    .map(|_| {
                        let peer = Arc::clone(&peer);
                        tokio::spawn(async move {
                            let mut records = Vec::new();
                            while t0.elapsed() < run {
                                let started = Instant::now();
                                let result = peer.get().await;
                                records.push((started - t0, started.elapsed(), result.is_ok()));
                                tokio::time::sleep(Duration::from_millis(100)).await;
                            }
                            records
                        })
                    })
                    .collect();
                let mut records = Vec::new();
                for caller in callers {
                    records.extend(caller.await.expect("a caller"));
                }
                // Calls from t = 0 on: the first fill is not one.
                let calls: Vec<Duration> = source
                    .call_times()
                    .into_iter()
                    .filter(|at| *at >= t0)
                    .map(|at| at - t0)
                    .collect();
                (*name, records, calls)
            })
        })
        .collect();
    let mut results = Vec::new();
    for run in runs {
        results.push(run.await.expect("a peer's run"));
    }
    println!(
        "\n### Failing source: {CALLERS} callers for 20 s, source down from t = 0, credential valid until 12 s, fails in 50 ms\n"
    );
    println!(
        "| cache | phase | calls made | served a credential | errors | median answer ms | max answer ms | source calls started in the phase |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    let phases = [
        ("fresh, 0–6 s", Duration::ZERO, Duration::from_secs(6)),
        (
            "window, valid, 6–12 s",
            Duration::from_secs(6),
            Duration::from_secs(12),
        ),
        ("expired, 12–20 s", Duration::from_secs(12), run),
    ];
    let mut totals = Vec::new();
    for (name, records, calls) in &results {
        for (phase, from, to) in phases {
            let in_phase: Vec<_> = records.iter().filter(|r| r.0 >= from && r.0 < to).collect();
            let served = in_phase.iter().filter(|r| r.2).count();
            let answers: Vec<f64> = in_phase.iter().map(|r| ms(r.1)).collect();
            let max = answers.iter().cloned().fold(0.0, f64::max);
            let started = calls.iter().filter(|c| **c >= from && **c < to).count();
            println!(
                "| {name} | {phase} | {} | {served} | {} | {:.1} | {max:.1} | {started} |",
                in_phase.len(),
                in_phase.len() - served,
                if answers.is_empty() {
                    0.0
                } else {
                    median(answers)
                },
            );
        }
        let errors: Vec<f64> = records.iter().filter(|r| !r.2).map(|r| ms(r.1)).collect();
        totals.push((
            *name,
            calls.iter().filter(|c| **c < run).count(),
            if errors.is_empty() {
                0.0
            } else {
                median(errors.clone())
            },
            errors.iter().cloned().fold(0.0, f64::max),
        ));
    }
    println!(
        "\n| cache | source calls in 20 s | median time to an error ms | max time to an error ms | calls vs propusk | max time to error vs propusk |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let (base_calls, base_max) = (totals[0].1 as f64, totals[0].3);
    for (name, calls, median_error, max_error) in totals {
        println!(
            "| {name} | {calls} | {median_error:.1} | {max_error:.1} | {} | {} |",
            ratio(calls as f64, base_calls),
            ratio(max_error, base_max)
        );
    }
}
