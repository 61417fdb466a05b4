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

/// What every provider's `token` does with the URL it is given: an unreachable server is exit 4,
/// a value that is no URL is exit 2, and the flag `url_flag` wins over a bad variable.
/// `propusk(url, args)` makes the command with `url` in the provider's URL variable.
pub async fn assert_url_handling(
    propusk: impl Fn(&str, &[&str]) -> Command,
    url_flag: &str,
    good_url: &str,
) {
    let refused = run(propusk("http://127.0.0.1:9/", &["token", "--no-cache"])).await;
    assert_eq!(refused.status.code(), Some(4), "{}", text(&refused.stderr));

    let bad_url = run(propusk("not a url", &["token"])).await;
    assert_eq!(bad_url.status.code(), Some(2), "{}", text(&bad_url.stderr));

    let flag_wins = run(propusk("not a url", &["token", url_flag, good_url])).await;
    assert_eq!(
        flag_wins.status.code(),
        Some(0),
        "{}",
        text(&flag_wins.stderr)
    );
}
