//! The demo's table of steps: provider, step, outcome, requests the emulator saw, time.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// One line of the table.
struct Row {
    provider: &'static str,
    step: String,
    outcome: Result<String, String>,
    requests: usize,
    took: Duration,
}

/// Collects the steps and prints a progress line while they run.
pub struct Report {
    rows: Vec<Row>,
}

impl Report {
    pub fn new() -> Self {
        Self { rows: Vec::new() }
    }

    /// Shows what runs now, on one overwritten stderr line.
    pub fn progress(&self, provider: &str, step: &str) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let mut stderr = std::io::stderr().lock();
        let _ = write!(
            stderr,
            "\r\x1b[2K[{:>2}] {provider}: {step} …",
            self.rows.len() + 1
        );
        let _ = stderr.flush();
    }

    /// Records a finished step. `requests` is what the emulator's auth endpoint saw during it.
    pub fn record(
        &mut self,
        provider: &'static str,
        step: impl Into<String>,
        outcome: Result<String, String>,
        requests: usize,
        took: Duration,
    ) {
        self.rows.push(Row {
            provider,
            step: step.into(),
            outcome,
            requests,
            took,
        });
    }

    /// Runs one step: shows the progress line, times `work`, and records its outcome with how
    /// far `requests` (the emulator's auth-endpoint counter) moved meanwhile.
    pub async fn step(
        &mut self,
        provider: &'static str,
        step: &str,
        requests: impl Fn() -> usize,
        work: impl Future<Output = Result<String, String>>,
    ) {
        self.progress(provider, step);
        let (before, started) = (requests(), Instant::now());
        let outcome = work.await;
        let took = started.elapsed();
        self.record(
            provider,
            step,
            outcome,
            requests().saturating_sub(before),
            took,
        );
    }

    /// How many steps failed.
    pub fn failures(&self) -> usize {
        self.rows.iter().filter(|r| r.outcome.is_err()).count()
    }

    /// Prints the table to stdout.
    pub fn print(&self, total: Duration) {
        if std::io::stderr().is_terminal() {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[2K");
            let _ = stderr.flush();
        }
        let step_width = self
            .rows
            .iter()
            .map(|r| r.step.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        let outcome_width = self
            .rows
            .iter()
            .map(|r| outcome_text(r).chars().count())
            .max()
            .unwrap_or(7)
            .clamp(7, 70);
        println!(
            "{:<9} {:<step_width$} {:<outcome_width$} {:>8} {:>9}",
            "provider", "step", "outcome", "auth req", "time"
        );
        println!("{}", "-".repeat(9 + step_width + outcome_width + 8 + 9 + 4));
        for row in &self.rows {
            let mut outcome = outcome_text(row);
            if outcome.chars().count() > outcome_width {
                outcome = outcome.chars().take(outcome_width - 1).collect::<String>() + "…";
            }
            println!(
                "{:<9} {:<step_width$} {:<outcome_width$} {:>8} {:>7.1}ms",
                row.provider,
                row.step,
                outcome,
                row.requests,
                row.took.as_secs_f64() * 1000.0
            );
        }
        println!(
            "{} steps, {} failed, {:.2} s in all",
            self.rows.len(),
            self.failures(),
            total.as_secs_f64()
        );
    }
}

fn outcome_text(row: &Row) -> String {
    match &row.outcome {
        Ok(text) => format!("ok: {text}"),
        Err(text) => format!("FAILED: {text}"),
    }
}
