//! Helpers for fleet tests (feature `testkit`): a throw-away `redis-server`, and this test binary
//! started again as a worker process. For fault-injection tests: [`HostileServer`], which resets
//! connections, trickles, truncates, floods or redirects its answers, and [`faults`], the checks
//! every provider's hardening tests share.

pub mod faults;
mod hostile;

pub use hostile::{HostileServer, Misbehaviour};

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` of its own on a free loopback port, with no persistence; stopped when
/// dropped. Needs the `redis-server` binary on `PATH`.
pub struct RedisServer {
    child: Child,
    url: String,
    _folder: TempFolder,
}

impl std::fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisServer")
            .field("url", &self.url)
            .finish()
    }
}

impl RedisServer {
    /// Starts one and waits (up to 10 s) until it accepts connections.
    ///
    /// # Panics
    /// When `redis-server` is not installed or does not start: this is for tests, and the
    /// message says what to install.
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let folder = TempFolder::new();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .current_dir(&folder.0)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is needed for the fleet tests: install it (Debian: apt-get install redis-server); .ci/run does");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child,
            url: format!("redis://127.0.0.1:{port}/"),
            _folder: folder,
        }
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct TempFolder(std::path::PathBuf);

impl TempFolder {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("propusk-redis-{:016x}", fastrand::u64(..)));
        std::fs::create_dir_all(&path).expect("a temporary folder");
        Self(path)
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts this test binary again, running only the test `worker_test`, with `variable=spec` in
/// its environment. The worker test returns at once when `variable` is unset, so it is harmless
/// in a normal run. Its stderr is captured for [`wait_for_workers`].
pub fn start_worker(worker_test: &str, variable: &str, spec: &str) -> Child {
    Command::new(std::env::current_exe().expect("the test binary's path"))
        .args(["--exact", worker_test, "--test-threads=1", "--quiet"])
        .env(variable, spec)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a worker process")
}

/// Waits for every worker and panics, with its stderr, if one failed.
pub fn wait_for_workers(workers: Vec<Child>) {
    for worker in workers {
        let output = worker.wait_with_output().expect("wait for a worker");
        assert!(
            output.status.success(),
            "a worker failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
