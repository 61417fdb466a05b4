//! Helpers every CLI test file shares. (Each test file is its own crate and uses a part of them.)
#![allow(dead_code)]

use std::process::{Command, Output};

/// Runs `command` to its end off the async runtime's threads.
pub async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// Output bytes as text (lossy).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
