//! The proxy's cost, measured against its own baseline in the same run (docs/benchmarks.md):
//!
//! - `proxy/throughput/direct` vs `proxy/throughput/proxied`: batches of 32 concurrent GETs of
//!   the Kontur emulator's boxes, sent with the credential header straight to the emulator, and
//!   the same GETs sent through `propusk kontur proxy`;
//! - after criterion: p50/p99 latency of 2 000 sequential GETs each way (the difference is what
//!   the proxy adds), and the proxy's resident memory before and with 1 000 idle client
//!   connections open.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_core::{CredentialCache, RefreshPolicy};
use criterion::{Criterion, Throughput};
use http::HeaderMap;
use kontur_auth::KonturSource;
use kontur_auth::testkit::{DEMO_CLIENT_ID, DEMO_LOGIN, DEMO_PASSWORD, Emulator as KonturEmulator};

const BATCH: usize = 32;
const PROXY_TOKEN: &str = "bench-proxy-token";

struct Setup {
    runtime: tokio::runtime::Runtime,
    _emulator: KonturEmulator,
    proxy: Child,
    _cache: tempfile::TempDir,
    direct_url: String,
    proxied_url: String,
    proxy_address: String,
    credential: HeaderMap,
    http: reqwest::Client,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = self.proxy.kill();
        let _ = self.proxy.wait();
    }
}

fn setup() -> Setup {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let emulator = runtime.block_on(KonturEmulator::start());
    let cache = tempfile::tempdir().unwrap();
    let mut proxy = Command::new(env!("CARGO_BIN_EXE_propusk"))
        .args(["kontur", "proxy", "--listen", "127.0.0.1:0"])
        .env_clear()
        .env("KONTUR_BASE_URL", emulator.base_url())
        .env("KONTUR_API_CLIENT_ID", DEMO_CLIENT_ID)
        .env("KONTUR_LOGIN", DEMO_LOGIN)
        .env("KONTUR_PASSWORD", DEMO_PASSWORD)
        .env("PROPUSK_CACHE_DIR", cache.path())
        .env("PROPUSK_PROXY_TOKEN", PROXY_TOKEN)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(proxy.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let proxy_address = line
        .trim()
        .strip_prefix("listening on ")
        .expect("the proxy's ready line")
        .to_owned();
    let cache_in_process = CredentialCache::builder(Arc::new(KonturSource::new(emulator.config())))
        .policy(RefreshPolicy::default())
        .build();
    let credential = runtime
        .block_on(cache_in_process.get())
        .unwrap()
        .headers()
        .clone();
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(BATCH)
        .build()
        .unwrap();
    Setup {
        direct_url: format!("{}V1/Boxes/GetBoxesInfo", emulator.base_url()),
        proxied_url: format!("http://{proxy_address}/V1/Boxes/GetBoxesInfo"),
        proxy_address,
        runtime,
        _emulator: emulator,
        proxy,
        _cache: cache,
        credential,
        http,
    }
}

impl Setup {
    fn direct(&self) -> reqwest::RequestBuilder {
        self.http
            .get(&self.direct_url)
            .headers(self.credential.clone())
    }

    fn proxied(&self) -> reqwest::RequestBuilder {
        self.http
            .get(&self.proxied_url)
            .header("proxy-authorization", format!("Bearer {PROXY_TOKEN}"))
    }

    async fn batch(&self, proxied: bool) {
        let requests = (0..BATCH).map(|_| {
            let request = if proxied {
                self.proxied()
            } else {
                self.direct()
            };
            async move {
                let response = request.send().await.unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap();
            }
        });
        futures_util::future::join_all(requests).await;
    }

    fn latencies(&self, proxied: bool, count: usize) -> Vec<Duration> {
        self.runtime.block_on(async {
            let mut samples = Vec::with_capacity(count);
            for _ in 0..count {
                let request = if proxied {
                    self.proxied()
                } else {
                    self.direct()
                };
                let started = Instant::now();
                let response = request.send().await.unwrap();
                response.bytes().await.unwrap();
                samples.push(started.elapsed());
            }
            samples.sort();
            samples
        })
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.proxy.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

fn throughput(criterion: &mut Criterion, setup: &Setup) {
    let mut group = criterion.benchmark_group("proxy/throughput");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("direct", |b| {
        b.to_async(&setup.runtime).iter(|| setup.batch(false));
    });
    group.bench_function("proxied", |b| {
        b.to_async(&setup.runtime).iter(|| setup.batch(true));
    });
    group.finish();
}

fn percentile(samples: &[Duration], p: f64) -> Duration {
    samples[((samples.len() as f64 - 1.0) * p) as usize]
}

fn latency_and_memory(setup: &Setup) {
    // Warm both paths, then interleave so that machine noise falls on both alike.
    let _ = setup.latencies(false, 200);
    let _ = setup.latencies(true, 200);
    let direct = setup.latencies(false, 2000);
    let proxied = setup.latencies(true, 2000);
    for (name, p) in [("p50", 0.50), ("p99", 0.99)] {
        let d = percentile(&direct, p);
        let q = percentile(&proxied, p);
        println!(
            "proxy/latency {name}: direct {d:?}, proxied {q:?}, added {:?}",
            q.saturating_sub(d)
        );
    }
    let before = setup.rss_kib();
    let mut idle = Vec::with_capacity(1000);
    for _ in 0..1000 {
        idle.push(std::net::TcpStream::connect(&setup.proxy_address).unwrap());
    }
    // Let the proxy accept them all.
    std::thread::sleep(Duration::from_secs(1));
    let after = setup.rss_kib();
    println!(
        "proxy/memory: RSS {before} KiB, with 1000 idle connections {after} KiB (+{} KiB, {:.1} KiB each)",
        after.saturating_sub(before),
        after.saturating_sub(before) as f64 / 1000.0
    );
    drop(idle);
}

fn main() {
    let setup = setup();
    let mut criterion = Criterion::default().configure_from_args();
    throughput(&mut criterion, &setup);
    criterion.final_summary();
    latency_and_memory(&setup);
}
