//! `propusk`: tokens, auth headers and authenticated GETs for Kontur EDI, RuStore, Bank
//! Alliance, Waves Enterprise and Evotor, from a shell. The contract (flags, variables, output,
//! exit codes) is in `docs/cli.md`.

#![forbid(unsafe_code)]

mod alliance;
mod common;
mod demo;
mod emulate;
mod evotor;
mod hints;
mod kontur;
mod proxy;
mod rustore;
mod waves;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::common::CliError;

/// Authentication for five business APIs of Russia and Ukraine.
///
/// Secrets (passwords, keys, tokens) are read from environment variables or files, never from
/// flags. Exit codes: 0 ok, 2 usage/configuration, 3 rejected, 4 transport/server, 5 `get` got
/// another non-success status.
#[derive(Debug, Parser)]
#[command(name = "propusk", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Kontur EDI (KonturEdiAuth token).
    Kontur(kontur::KonturArgs),
    /// Bank Alliance (device session: x-device_id, x-refresh_token; key checks, JWE encryption).
    Alliance(alliance::AllianceArgs),
    /// RuStore Public API (JWE token sent as Public-Token).
    Rustore(rustore::RustoreArgs),
    /// Waves Enterprise (X-API-Key, or OAuth Bearer tokens with rotating refresh tokens).
    Waves(waves::WavesArgs),
    /// Evotor Cloud (Cloud token; `serve` runs the reference webhook receiver).
    Evotor(evotor::EvotorArgs),
    /// Run every provider's flows against embedded emulators (no network, no credentials).
    Demo,
    /// Run a provider's emulator as a server for your own tests; prints its URL and settings as
    /// one JSON line (docs/proxy.md).
    Emulate(emulate::EmulateArgs),
}

impl Command {
    /// Whether this runs a server (it then gets a worker pool).
    fn serves(&self) -> bool {
        match self {
            Self::Demo | Self::Emulate(_) => true,
            Self::Kontur(args) => args.serves(),
            Self::Alliance(args) => args.serves(),
            Self::Rustore(args) => args.serves(),
            Self::Waves(args) => args.serves(),
            Self::Evotor(args) => args.serves(),
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(common::EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_tracing();
    // One thread is plenty for a token lookup and starts fastest (the warm-cache `token` run is
    // benchmarked in docs/benchmarks.md); the demo and the servers get a worker pool.
    let mut builder = if cli.command.serves() {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(2);
        builder
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("propusk: could not start the async runtime: {error}");
            return ExitCode::from(common::EXIT_TRANSPORT);
        }
    };
    let result: Result<(), CliError> = runtime.block_on(async move {
        match cli.command {
            Command::Kontur(args) => kontur::run(args).await,
            Command::Alliance(args) => alliance::run(args).await,
            Command::Rustore(args) => rustore::run(args).await,
            Command::Waves(args) => waves::run(args).await,
            Command::Evotor(args) => evotor::run(args).await,
            Command::Demo => demo::run().await,
            Command::Emulate(args) => emulate::run(args).await,
        }
    });
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("propusk: {}", error.message);
            ExitCode::from(error.code)
        }
    }
}

/// Diagnostics on stderr, off unless `PROPUSK_LOG` asks (e.g. `PROPUSK_LOG=debug`). Secrets are
/// never recorded in spans or events.
fn init_tracing() {
    let Ok(filter) = std::env::var("PROPUSK_LOG") else {
        // Without PROPUSK_LOG, only what the user must hear: a cached credential file that was
        // ignored (a symbolic link, FIFO, another user's file...) or a stored entry with fields
        // that are not used (stored headers), one line each on stderr.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "auth_core::store=warn,auth_core::provider::private_fs=warn",
            ))
            .with_writer(std::io::stderr)
            .without_time()
            .with_target(false)
            .with_ansi(false)
            .try_init();
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
