//! (features `testkit` + `postgres`) A throw-away PostgreSQL server on loopback for tests:
//! `initdb` into a temporary folder, `pg_ctl start` on a free port with its socket in that
//! folder, stopped and removed when dropped.
//!
//! PostgreSQL refuses to run as root; as root the server runs as the `postgres` user (or
//! `propusk-pg`, created with `useradd` when neither exists) through `runuser`. The binaries are
//! looked for on `PATH`, then in `/usr/lib/postgresql/<newest>/bin` (Debian's `postgresql`
//! package).

use std::fmt;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use secrecy::SecretString;

/// A running test server. Dropping it stops the server and removes its folder.
pub struct TestPostgres {
    folder: PathBuf,
    bin: PathBuf,
    run_as: Option<String>,
    port: u16,
    password: String,
}

impl fmt::Debug for TestPostgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestPostgres")
            .field("folder", &self.folder)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// The user the tests' database login is: `propusk`.
pub const TEST_USER: &str = "propusk";

fn failed(what: &str, output: &Output) -> String {
    format!(
        "{what} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The folder holding `initdb` and `pg_ctl`.
fn find_bin() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return Ok(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin): apt-get install postgresql".to_owned()
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn uid_gid(user: &str) -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let output = Command::new("id").args([flag, user]).output().ok()?;
        output.status.success().then_some(())?;
        String::from_utf8_lossy(&output.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

/// An unprivileged user to run the server as (only asked for when running as root).
fn server_user() -> Result<String, String> {
    for user in ["postgres", "propusk-pg"] {
        if uid_gid(user).is_some() {
            return Ok(user.to_owned());
        }
    }
    let output = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            "propusk-pg",
        ])
        .output()
        .map_err(|e| format!("useradd: {e}"))?;
    // A parallel test may have created it first.
    if uid_gid("propusk-pg").is_some() {
        Ok("propusk-pg".to_owned())
    } else {
        Err(failed("useradd propusk-pg", &output))
    }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

impl TestPostgres {
    /// Initialises and starts a server; the error says what is missing or what failed.
    pub fn start() -> Result<Self, String> {
        let bin = find_bin()?;
        let run_as = if is_root() {
            Some(server_user()?)
        } else {
            None
        };
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|e| e.to_string())?;
        let tag = u64::from_le_bytes(random);
        let folder = std::env::temp_dir().join(format!("propusk-pg-{tag:016x}"));
        std::fs::create_dir(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        let password = format!("pw-{:016x}", tag.rotate_left(17));
        let mut server = Self {
            folder,
            bin,
            run_as,
            port: 0,
            password,
        };
        server.init()?;
        for _ in 0..3 {
            server.port = free_port()?;
            if server.pg_ctl_start().is_ok() {
                return Ok(server);
            }
        }
        server.pg_ctl_start().map(|()| server)
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        match &self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(program);
                command
            }
            None => Command::new(program),
        }
    }

    fn hand_over(&self, path: &Path) -> Result<(), String> {
        #[cfg(unix)]
        if let Some(user) = &self.run_as {
            let (uid, gid) = uid_gid(user).ok_or_else(|| format!("no user {user}"))?;
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .map_err(|e| format!("chown {}: {e}", path.display()))?;
        }
        let _ = path;
        Ok(())
    }

    fn init(&self) -> Result<(), String> {
        self.hand_over(&self.folder)?;
        let pwfile = self.folder.join("pwfile");
        std::fs::write(&pwfile, &self.password).map_err(|e| e.to_string())?;
        self.hand_over(&pwfile)?;
        let output = self
            .command("initdb")
            .arg("-D")
            .arg(self.folder.join("data"))
            .args(["-U", TEST_USER, "-E", "UTF8", "--no-sync"])
            .args(["--auth=scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .map_err(|e| format!("initdb: {e}"))?;
        let _ = std::fs::remove_file(&pwfile);
        if output.status.success() {
            Ok(())
        } else {
            Err(failed("initdb", &output))
        }
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c max_connections=300",
            self.port,
            self.folder.display()
        );
        let output = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.folder.join("data"))
            .arg("-l")
            .arg(self.folder.join("server.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .output()
            .map_err(|e| format!("pg_ctl: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            let log = std::fs::read_to_string(self.folder.join("server.log")).unwrap_or_default();
            Err(format!("{}\n{log}", failed("pg_ctl start", &output)))
        }
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The login's password (random per server).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// `postgres://propusk:PASSWORD@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> SecretString {
        SecretString::from(format!(
            "postgres://{TEST_USER}:{}@127.0.0.1:{}/postgres",
            self.password, self.port
        ))
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.folder.join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}
