//! `propusk demo`: every provider's real flows, through the real client code, against the
//! embedded loopback emulators. No network, no credentials.

mod kontur;
mod report;

use std::time::Instant;

use crate::common::CliError;
use report::Report;

/// Runs every provider's walk-through and prints the table.
pub async fn run() -> Result<(), CliError> {
    let started = Instant::now();
    let mut report = Report::new();
    eprintln!("propusk demo: starting loopback emulators (no network, no credentials)");
    kontur::run(&mut report).await?;
    report.print(started.elapsed());
    if report.failures() > 0 {
        return Err(CliError {
            code: crate::common::EXIT_TRANSPORT,
            message: format!("{} demo step(s) failed", report.failures()),
        });
    }
    Ok(())
}
