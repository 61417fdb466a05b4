//! Helpers for fleet tests (feature `testkit`): a throw-away `redis-server`, and this test binary
//! started again as a worker process. For fault-injection tests: [`HostileServer`], which resets
//! connections, trickles, truncates, floods or redirects its answers, and [`faults`], the checks
//! every provider's hardening tests share. For provider emulators: [`emulator`], the server,
//! failure injection and control API they all stand on.

pub mod emulator;
pub mod faults;
mod hostile;
#[cfg(feature = "testkit-tls")]
mod tls;

pub use hostile::{HostileServer, Misbehaviour};
#[cfg(feature = "testkit-tls")]
pub use tls::{make_tls_files, unrelated_ca_pem};

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` of its own on a free loopback port, with no persistence; stopped when
/// dropped. Needs the `redis-server` binary on `PATH`.
pub struct RedisServer {
    child: Child,
    url: String,
    port: u16,
    _folder: TempFolder,
}

impl std::fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisServer")
            .field("url", &self.url)
            .finish()
    }
}

/// The files a TLS `redis-server` needs, made by the test (PEM).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The server's certificate.
    pub cert: std::path::PathBuf,
    /// The server's private key.
    pub key: std::path::PathBuf,
    /// The CA that signed the certificate.
    pub ca: std::path::PathBuf,
}

impl RedisServer {
    /// Starts one and waits (up to 10 s) until it accepts connections.
    ///
    /// # Panics
    /// When `redis-server` is not installed or does not start: this is for tests, and the
    /// message says what to install.
    pub fn start() -> Self {
        Self::start_with(None, &[])
    }

    /// Starts one with extra configuration arguments, e.g. `["--user", "fleet", "on", ">pw",
    /// "~*", "+@all"]` for an ACL user.
    pub fn start_with_args(args: &[&str]) -> Self {
        Self::start_with(None, args)
    }

    /// Starts one that speaks only TLS (`--tls-port`, `--port 0`, no client certificates
    /// asked); its [`url`](Self::url) is `rediss://127.0.0.1:<port>/`.
    pub fn start_tls(files: &TlsFiles, args: &[&str]) -> Self {
        Self::start_with(Some(files), args)
    }

    fn start_with(tls: Option<&TlsFiles>, args: &[&str]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let folder = TempFolder::new();
        let mut command = Command::new("redis-server");
        match tls {
            None => {
                command.args(["--port", &port.to_string()]);
            }
            Some(files) => {
                command
                    .args(["--port", "0", "--tls-port", &port.to_string()])
                    .arg("--tls-cert-file")
                    .arg(&files.cert)
                    .arg("--tls-key-file")
                    .arg(&files.key)
                    .arg("--tls-ca-cert-file")
                    .arg(&files.ca)
                    .args(["--tls-auth-clients", "no"]);
            }
        }
        let child = command
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(args)
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
        let scheme = if tls.is_some() { "rediss" } else { "redis" };
        Self {
            child,
            url: format!("{scheme}://127.0.0.1:{port}/"),
            port,
            _folder: folder,
        }
    }

    /// `redis://127.0.0.1:<port>/` (`rediss://` for a TLS server).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
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
