//! Authenticated requests to the Kontur emulator on loopback, with and without credential
//! refreshes in flight: no request may wait for the provider while a valid credential exists,
//! so the p99 latency across refreshes must stay within 10% of the p99 without one.
//!
//! Three clients, each with its own cache, send `GET /V1/Boxes/GetBoxesInfo` through
//! `AuthClient` to one emulator, `CALLERS` concurrent callers each:
//!
//! - **no refresh**: the credential stays fresh;
//! - **across refreshes**: a refresher marks the credential stale again and again, and every
//!   refresh's `POST /V1/Authenticate` is made 50 ms slow in the emulator, so a refresh is in
//!   flight most of the time;
//! - **no valid credential (control)**: the same, but the refresher *clears* the cache, so
//!   requests have nothing to serve and must wait for the provider: this is what the
//!   measurement sees when the claim is false, and shows it can tell.
//!
//! The first two run *at the same time*, so whatever else the machine is doing (a shared
//! 2-core box stalls a thread for milliseconds now and then) falls on both alike and cancels in
//! their ratio; the control runs after them in each round.
//!
//! Run: `cargo bench -p kontur-auth --bench refresh_p99` (about 10 s). Without `--bench` (as
//! under `cargo test --benches`) it does one short round as a smoke test. Results:
//! `docs/benchmarks.md`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use auth_core::testkit::emulator::Failure;
use auth_core::{AuthClient, CredentialCache};
use kontur_auth::KonturSource;
use kontur_auth::testkit::{Emulator, Endpoint};

/// Concurrent callers.
const CALLERS: usize = 4;
/// Requests per condition and round.
const REQUESTS: usize = 2_000;
/// Rounds; each runs every condition once.
const ROUNDS: usize = 10;
/// Requests before measuring (connections opened, code paths warm).
const WARM_UP: usize = 500;
/// How long the emulator takes to answer each refresh's authentication.
const SLOW_REFRESH: Duration = Duration::from_millis(50);
/// The pause between one refresh ending and the refresher asking for the next.
const REFRESH_PAUSE: Duration = Duration::from_millis(5);
/// The acceptance line: p99 across refreshes at most this many times p99 without.
const LIMIT: f64 = 1.10;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Condition {
    Quiet,
    Refreshing,
    NoValidCredential,
}

impl Condition {
    fn name(self) -> &'static str {
        match self {
            Condition::Quiet => "no refresh",
            Condition::Refreshing => "across refreshes",
            Condition::NoValidCredential => "no valid credential (control)",
        }
    }
}

/// One request's latency and whether a refresh (or, in the control, an acquisition) was in
/// flight when it started.
struct Sample {
    latency: Duration,
    during_refresh: bool,
}

/// What one condition's round produced.
#[derive(Default)]
struct Outcome {
    samples: Vec<Sample>,
    refreshes: usize,
}

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let (rounds, requests) = if full { (ROUNDS, REQUESTS) } else { (1, 200) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    runtime.block_on(run(rounds, requests));
}

async fn run(rounds: usize, requests: usize) {
    let emulator = Emulator::start().await;
    let url = format!("{}V1/Boxes/GetBoxesInfo", emulator.base_url());
    let conditions = [
        Condition::Quiet,
        Condition::Refreshing,
        Condition::NoValidCredential,
    ];
    let mut clients = Vec::new();
    for _ in conditions {
        let client = Arc::new(
            AuthClient::new(CredentialCache::new(KonturSource::new(emulator.config())))
                .expect("an HTTP client"),
        );
        load(&client, &url, WARM_UP, &Arc::new(AtomicBool::new(false))).await;
        clients.push(client);
    }

    let mut pooled: Vec<Outcome> = conditions.iter().map(|_| Outcome::default()).collect();
    let mut round_p99s: Vec<Vec<Duration>> = conditions.iter().map(|_| Vec::new()).collect();
    let started = Instant::now();
    for _ in 0..rounds {
        let (quiet, refreshing) = tokio::join!(
            measure(&emulator, &clients[0], &url, Condition::Quiet, requests),
            measure(
                &emulator,
                &clients[1],
                &url,
                Condition::Refreshing,
                requests
            ),
        );
        let control = measure(
            &emulator,
            &clients[2],
            &url,
            Condition::NoValidCredential,
            requests,
        )
        .await;
        for (index, outcome) in [quiet, refreshing, control].into_iter().enumerate() {
            round_p99s[index].push(percentile(&sorted(&outcome.samples), 0.99));
            pooled[index].refreshes += outcome.refreshes;
            pooled[index].samples.extend(outcome.samples);
        }
    }
    let elapsed = started.elapsed();

    println!(
        "refresh_p99: {rounds} round(s) x {requests} requests per condition, {CALLERS} concurrent \
         callers per condition, GET /V1/Boxes/GetBoxesInfo through AuthClient to the Kontur \
         emulator on loopback; \"no refresh\" and \"across refreshes\" run side by side; each \
         refresh's authentication answered after {} ms",
        SLOW_REFRESH.as_millis()
    );
    println!();
    println!(
        "{:<40} {:>8} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10}",
        "condition",
        "requests",
        "p50 µs",
        "p90 µs",
        "p99 µs",
        "max µs",
        format!(">= {} ms", SLOW_REFRESH.as_millis()),
        "refreshes"
    );
    let mut p99 = Vec::new();
    for (condition, outcome) in conditions.iter().zip(&pooled) {
        let all = sorted(&outcome.samples);
        p99.push(percentile(&all, 0.99));
        print_row(condition.name(), &all, Some(outcome.refreshes));
        if *condition != Condition::Quiet {
            let during = sorted(outcome.samples.iter().filter(|s| s.during_refresh));
            print_row("  of which started during one", &during, None);
        }
    }
    println!();
    for (condition, p99s) in conditions.iter().zip(&round_p99s) {
        let list: Vec<String> = p99s.iter().map(|d| format!("{}", d.as_micros())).collect();
        println!(
            "p99 per round, {:<30} {} µs",
            condition.name(),
            list.join(", ")
        );
    }
    println!();
    let ratio = p99[1].as_secs_f64() / p99[0].as_secs_f64();
    let mut round_ratios: Vec<f64> = round_p99s[1]
        .iter()
        .zip(&round_p99s[0])
        .map(|(refreshing, quiet)| refreshing.as_secs_f64() / quiet.as_secs_f64())
        .collect();
    round_ratios.sort_by(f64::total_cmp);
    let median_ratio = round_ratios[round_ratios.len() / 2];
    let verdict = |r: f64| if r <= LIMIT { "PASS" } else { "FAIL" };
    println!(
        "p99 across refreshes / p99 without, pooled: {ratio:.3} (limit {LIMIT:.2}): {}",
        verdict(ratio)
    );
    println!(
        "the same, median of the per-round ratios: {median_ratio:.3} (limit {LIMIT:.2}): {}",
        verdict(median_ratio)
    );
    let waited_during_refresh = pooled[1]
        .samples
        .iter()
        .filter(|s| s.latency >= SLOW_REFRESH)
        .count();
    println!(
        "requests that took >= {} ms (the provider's answer time) across refreshes: \
         {waited_during_refresh}: {}",
        SLOW_REFRESH.as_millis(),
        if waited_during_refresh == 0 {
            "none waited for the provider"
        } else {
            "SOME MAY HAVE WAITED for the provider"
        }
    );
    println!(
        "control, p99 with no valid credential / p99 without: {:.1} (must be large: requests \
         there wait for the {} ms authentication)",
        p99[2].as_secs_f64() / p99[0].as_secs_f64(),
        SLOW_REFRESH.as_millis()
    );
    println!(
        "authenticate requests: {}; measured in {:.1} s",
        emulator.authentications(),
        elapsed.as_secs_f64()
    );
}

/// Runs `requests` requests under `condition` and returns their latencies.
async fn measure(
    emulator: &Emulator,
    client: &Arc<AuthClient>,
    url: &str,
    condition: Condition,
    requests: usize,
) -> Outcome {
    let in_flight = Arc::new(AtomicBool::new(false));
    let stop = AtomicBool::new(false);
    let requests = async {
        let samples = load(client, url, requests, &in_flight).await;
        stop.store(true, Ordering::SeqCst);
        samples
    };
    let (samples, refreshes) = match condition {
        Condition::Quiet => (requests.await, 0),
        _ => tokio::join!(
            requests,
            refresher(emulator, client.cache(), condition, &in_flight, &stop)
        ),
    };
    client.cache().settle().await;
    Outcome { samples, refreshes }
}

/// Keeps a slow refresh (or, in the control, a slow acquisition with nothing to serve) in
/// flight most of the time until `stop`; returns how many completed with a new credential.
async fn refresher(
    emulator: &Emulator,
    cache: &CredentialCache,
    condition: Condition,
    in_flight: &AtomicBool,
    stop: &AtomicBool,
) -> usize {
    let mut refreshes = 0;
    while !stop.load(Ordering::SeqCst) {
        let before = cache.get().await.expect("a credential").generation();
        emulator.inject(Endpoint::Authenticate, Failure::Slow(SLOW_REFRESH));
        in_flight.store(true, Ordering::SeqCst);
        match condition {
            Condition::Refreshing => {
                cache.mark_stale();
                // The first caller after `mark_stale` starts the background refresh; be it.
                let _ = cache.get().await;
            }
            _ => cache.clear(),
        }
        cache.settle().await;
        let after = cache.get().await.expect("a credential").generation();
        in_flight.store(false, Ordering::SeqCst);
        if after != before {
            refreshes += 1;
        }
        tokio::time::sleep(REFRESH_PAUSE).await;
    }
    refreshes
}

/// `requests` authenticated GETs from `CALLERS` concurrent tasks, each latency noted with
/// whether `in_flight` was set when the request started.
async fn load(
    client: &Arc<AuthClient>,
    url: &str,
    requests: usize,
    in_flight: &Arc<AtomicBool>,
) -> Vec<Sample> {
    let next = Arc::new(AtomicUsize::new(0));
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let client = Arc::clone(client);
            let url = url.to_owned();
            let next = Arc::clone(&next);
            let in_flight = Arc::clone(in_flight);
            tokio::spawn(async move {
                let mut samples = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < requests {
                    let during_refresh = in_flight.load(Ordering::SeqCst);
                    let started = Instant::now();
                    let response = client.get(&url).await.expect("the request succeeds");
                    let status = response.status();
                    response.bytes().await.expect("the body arrives");
                    let latency = started.elapsed();
                    assert_eq!(status, 200, "every request carries a valid token");
                    samples.push(Sample {
                        latency,
                        during_refresh,
                    });
                }
                samples
            })
        })
        .collect();
    let mut samples = Vec::with_capacity(requests);
    for caller in callers {
        samples.extend(caller.await.expect("a caller does not panic"));
    }
    samples
}

/// The latencies of `samples` (all, or those started during a refresh), sorted.
fn sorted<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> Vec<Duration> {
    let mut latencies: Vec<Duration> = samples.into_iter().map(|s| s.latency).collect();
    latencies.sort_unstable();
    latencies
}

/// The `p` quantile (nearest rank) of `sorted` latencies, zero when empty.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn print_row(name: &str, latencies: &[Duration], refreshes: Option<usize>) {
    let micros = |p: f64| percentile(latencies, p).as_micros();
    // A request that waited for the provider took at least the slow authentication's time.
    let waited = latencies.iter().filter(|l| **l >= SLOW_REFRESH).count();
    println!(
        "{:<40} {:>8} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10}",
        name,
        latencies.len(),
        micros(0.50),
        micros(0.90),
        micros(0.99),
        micros(1.0),
        waited,
        refreshes.map(|r| r.to_string()).unwrap_or_default()
    );
}
