//! `cargo xtask <task>`: the project's chores in one place.
//!
//! - `test-all`: everything CI checks, in order, stopping at the first failure: dependency
//!   boundaries (`cargo tree`: no OpenSSL/JOSE outside Alliance), rustfmt, clippy with
//!   `-D warnings`, the workspace's tests (doc tests included), each crate's tests
//!   on its own, each facade feature built alone, and the docs without warnings.
//! - `check-template`: every provider crate follows the crate template of
//!   `docs/architecture.md` ("Adding a provider"); also the first step of `test-all`.
//! - `fuzz list`, `fuzz <target> <seconds>`: runs one cargo-fuzz target of `fuzz/` for that
//!   long (not part of `test-all`).

use std::env;
use std::process::{Command, ExitCode};
use std::time::Instant;

mod template;

/// The library crates, each tested on its own so a missing feature or dependency shows up. (The
/// facade is covered by its feature builds and doc tests; the CLI depends on every provider, so
/// alone it resolves as the workspace does.)
const CRATES: &[&str] = &[
    "auth-core",
    "kontur-auth",
    "rustore-auth",
    "alliance-auth",
    "waves-auth",
    "evotor-auth",
];

/// Dependencies a crate must not pull in: only Alliance may bring JOSE and OpenSSL, and a Kontur
/// user compiles no RSA either.
const FORBIDDEN: &[(&str, &[&str])] = &[
    ("auth-core", &["openssl", "josekit", "rsa"]),
    ("kontur-auth", &["openssl", "josekit", "rsa"]),
    ("rustore-auth", &["openssl", "josekit"]),
    ("waves-auth", &["openssl", "josekit"]),
    ("evotor-auth", &["openssl", "josekit"]),
];

/// The facade's features, each built alone.
const FACADE_FEATURES: &[&str] = &["kontur", "rustore", "alliance", "waves", "evotor", "full"];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("test-all") => test_all(),
        Some("check-template") => {
            if template::check(&crates_folder()) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Some("fuzz") => fuzz(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask test-all | check-template | fuzz list | fuzz <target> <seconds>"
            );
            ExitCode::from(2)
        }
    }
}

/// The workspace's `crates/` folder.
fn crates_folder() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("crates")
}

/// Crates that exist in this checkout (a provider not yet added is skipped, and said so).
fn present(name: &str) -> bool {
    let root = env!("CARGO_MANIFEST_DIR");
    std::path::Path::new(root)
        .join("..")
        .join("crates")
        .join(name)
        .join("Cargo.toml")
        .exists()
}

fn test_all() -> ExitCode {
    let started = Instant::now();
    let mut steps: Vec<Step> = vec![
        step("rustfmt", &["fmt", "--all", "--", "--check"]),
        step(
            "clippy",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ],
        ),
        step(
            "workspace tests",
            &["test", "--workspace", "--all-features", "--no-fail-fast"],
        ),
    ];
    for name in CRATES.iter().copied().filter(|c| present(c)) {
        steps.push(step(
            &format!("{name} tests alone"),
            &["test", "-p", name, "--lib", "--tests"],
        ));
    }
    if present("propusk") {
        for feature in FACADE_FEATURES {
            steps.push(step(
                &format!("facade feature `{feature}` alone"),
                &[
                    "check",
                    "-p",
                    "propusk",
                    "--no-default-features",
                    "--features",
                    feature,
                ],
            ));
        }
    }
    let mut docs = step(
        "docs",
        &["doc", "--workspace", "--no-deps", "--all-features"],
    );
    docs.envs.push(("RUSTDOCFLAGS", "-D warnings"));
    steps.push(docs);

    if !required_servers_present() {
        return ExitCode::FAILURE;
    }
    if !check_dependency_boundaries() {
        return ExitCode::FAILURE;
    }
    println!("xtask: == crate template (docs/architecture.md, Adding a provider)");
    if !template::check(&crates_folder()) {
        eprintln!("xtask: FAILED crate template");
        return ExitCode::FAILURE;
    }

    for Step { name, args, envs } in &steps {
        let step_started = Instant::now();
        println!("xtask: == {name}: cargo {}", args.join(" "));
        let status = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(args)
            .envs(envs.iter().copied())
            .status();
        match status {
            Ok(status) if status.success() => {
                println!(
                    "xtask: ok   {name} ({:.0} s)",
                    step_started.elapsed().as_secs_f64()
                );
            }
            Ok(status) => {
                eprintln!("xtask: FAILED {name} ({status})");
                return ExitCode::FAILURE;
            }
            Err(error) => {
                eprintln!("xtask: could not run cargo for {name}: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!(
        "xtask: all {} checks passed in {:.0} s",
        steps.len(),
        started.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}

/// `cargo fuzz list`, or `cargo fuzz run <target> -- -max_total_time=<seconds>` in `fuzz/`, on
/// stable through `RUSTC_BOOTSTRAP=1` (cargo-fuzz wants nightly flags). The corpus grows in
/// `fuzz/corpus/<target>` (ignored by git), starting from the committed `fuzz/seeds/<target>`.
fn fuzz(args: &[String]) -> ExitCode {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("fuzz");
    let mut command = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(&dir)
        .env("RUSTC_BOOTSTRAP", "1")
        .arg("fuzz");
    match args {
        [list] if list == "list" => {
            command.arg("list");
        }
        [target, seconds] if seconds.parse::<u64>().is_ok_and(|s| s > 0) => {
            let corpus = dir.join("corpus").join(target);
            if let Err(error) = std::fs::create_dir_all(&corpus) {
                eprintln!("xtask: could not create {}: {error}", corpus.display());
                return ExitCode::FAILURE;
            }
            command.args(["run", target.as_str()]).arg(corpus);
            let seeds = dir.join("seeds").join(target);
            if seeds.is_dir() {
                command.arg(seeds);
            }
            command.args([
                "--".to_owned(),
                format!("-max_total_time={seconds}"),
                "-print_final_stats=1".to_owned(),
            ]);
        }
        _ => {
            eprintln!("usage: cargo xtask fuzz list | fuzz <target> <seconds>");
            return ExitCode::from(2);
        }
    }
    if !tool_present_as(&["fuzz", "--version"]) {
        eprintln!("xtask: cargo-fuzz is not installed: cargo install cargo-fuzz --locked");
        return ExitCode::FAILURE;
    }
    match command.status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("xtask: FAILED cargo fuzz ({status})");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("xtask: could not run cargo fuzz: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Whether `cargo <args>` runs.
fn tool_present_as(args: &[&str]) -> bool {
    Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The servers and clients the tests start or drive, each with what to install when missing;
/// says every missing one at once.
fn required_servers_present() -> bool {
    let needed: [(&str, bool, &str); 4] = [
        (
            "the fleet tests start a real redis-server on loopback",
            tool_present("redis-server"),
            "apt-get install redis-server; macOS: brew install redis",
        ),
        (
            "the tampered-entry tests plant Redis keys with redis-cli",
            tool_present("redis-cli"),
            "apt-get install redis-tools; macOS: brew install redis",
        ),
        (
            "the Evotor PostgreSQL store's tests start a real PostgreSQL (initdb, pg_ctl)",
            postgres_present(),
            "apt-get install postgresql; macOS: brew install postgresql",
        ),
        (
            "the proxy and emulate tests drive the binary with curl",
            tool_present("curl"),
            "apt-get install curl",
        ),
    ];
    let mut all = true;
    for (why, present, install) in needed {
        if !present {
            eprintln!(
                "xtask: {why}, and it is not installed: install it (Debian/Ubuntu: {install})"
            );
            all = false;
        }
    }
    all
}

/// Whether PostgreSQL's initdb is on PATH or where Debian puts it
/// (`/usr/lib/postgresql/<version>/bin`), as the Evotor test helper looks for it.
fn postgres_present() -> bool {
    tool_present("initdb")
        || std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|versions| {
            versions
                .filter_map(Result::ok)
                .any(|version| version.path().join("bin").join("initdb").is_file())
        })
}

/// Whether `tool` runs (`tool --version`).
fn tool_present(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `cargo tree -p <crate> -e normal` must not list a forbidden package.
fn check_dependency_boundaries() -> bool {
    let mut ok = true;
    for (name, forbidden) in FORBIDDEN.iter().filter(|(c, _)| present(c)) {
        let output = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["tree", "-p", name, "-e", "normal", "--prefix", "none"])
            .output();
        let Some(output) = output.ok().filter(|o| o.status.success()) else {
            eprintln!("xtask: FAILED cargo tree -p {name}");
            return false;
        };
        let tree = String::from_utf8_lossy(&output.stdout);
        let found: Vec<&str> = tree
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .filter(|package| forbidden.contains(package))
            .collect();
        if found.is_empty() {
            println!("xtask: ok   {name} depends on none of {forbidden:?}");
        } else {
            eprintln!("xtask: FAILED {name} depends on {found:?}, which belong elsewhere");
            ok = false;
        }
    }
    ok
}

/// One cargo invocation of `test-all`.
struct Step {
    name: String,
    args: Vec<String>,
    envs: Vec<(&'static str, &'static str)>,
}

fn step(name: &str, args: &[&str]) -> Step {
    Step {
        name: name.to_owned(),
        args: args.iter().map(|s| s.to_string()).collect(),
        envs: Vec::new(),
    }
}
