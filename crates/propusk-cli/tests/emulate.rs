//! `propusk emulate <provider>` as a test in another language meets it: the JSON line read from
//! stdout, the control API driven by curl alone, `propusk <provider> token | get` run with the
//! printed settings.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

mod common;
use common::text;

/// A running `propusk emulate`, killed when dropped.
struct Emulated {
    child: Child,
    settings: Value,
}

impl Drop for Emulated {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn emulate(provider: &str) -> Emulated {
    let mut child = Command::new(env!("CARGO_BIN_EXE_propusk"))
        .args(["emulate", provider, "--listen", "127.0.0.1:0"])
        .env_clear()
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let settings: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    Emulated { child, settings }
}

impl Emulated {
    fn field(&self, name: &str) -> String {
        self.settings[name]
            .as_str()
            .unwrap_or_else(|| panic!("no `{name}` in {}", self.settings))
            .to_owned()
    }

    /// `propusk <provider> ARGS` with the printed settings: flags for the non-secret ones,
    /// environment variables for the secrets.
    fn propusk(&self, cache: &std::path::Path, args: &[&str]) -> Output {
        let provider = self.field("provider");
        let mut command = Command::new(env!("CARGO_BIN_EXE_propusk"));
        command.arg(&provider).args(args).env_clear();
        command.env("PROPUSK_CACHE_DIR", cache);
        for (name, value) in self.settings.as_object().unwrap() {
            let value = value.as_str().unwrap();
            if name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                command.env(name, value);
            } else if [
                "base-url",
                "client-id",
                "login",
                "key-id",
                "service-code",
                "auth-url",
            ]
            .contains(&name.as_str())
            {
                command.arg(format!("--{name}")).arg(value);
            }
        }
        command.output().unwrap()
    }

    /// `curl` on the control API: `POST what` (e.g. `revoke`), or `GET counters`.
    fn control(&self, what: &str) -> Value {
        let url = format!("{}{what}", self.field("control"));
        let method = if what == "counters" { "GET" } else { "POST" };
        let output = Command::new("curl")
            .args(["-sS", "--fail", "-X", method, &url])
            .output()
            .expect("curl is needed for this test (Debian: apt-get install curl)");
        assert!(output.status.success(), "{}", text(&output.stderr));
        if output.stdout.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&output.stdout).unwrap()
        }
    }

    fn counter(&self, name: &str) -> u64 {
        self.control("counters")[name].as_u64().unwrap()
    }
}

/// The acceptance path for a provider that authenticates: token, get from the cache, revoke,
/// get again with exactly one new authentication.
fn token_then_revoke_reauthenticates(provider: &str) {
    let emulated = emulate(provider);
    let cache = tempfile::tempdir().unwrap();
    let token = emulated.propusk(cache.path(), &["token"]);
    assert!(
        token.status.success(),
        "{provider}: {}",
        text(&token.stderr)
    );
    assert!(!text(&token.stdout).trim().is_empty());
    assert_eq!(emulated.counter("authentications"), 1, "{provider}");
    let resource = emulated.field("resource");
    let get = emulated.propusk(cache.path(), &["get", &resource]);
    assert!(get.status.success(), "{provider}: {}", text(&get.stderr));
    assert_eq!(emulated.counter("authentications"), 1, "{provider}: cached");
    assert_eq!(emulated.control("revoke"), Value::Null);
    let get = emulated.propusk(cache.path(), &["get", &resource]);
    assert!(get.status.success(), "{provider}: {}", text(&get.stderr));
    assert_eq!(
        emulated.counter("authentications"),
        2,
        "{provider}: one re-authentication after the revoke"
    );
    assert_eq!(emulated.counter("api_rejections"), 1, "{provider}");
}

#[test]
fn kontur_settings_work_and_revoke_reauthenticates() {
    token_then_revoke_reauthenticates("kontur");
}

#[test]
fn rustore_settings_work_and_revoke_reauthenticates() {
    token_then_revoke_reauthenticates("rustore");
}

#[test]
fn alliance_settings_work_and_revoke_reauthenticates() {
    token_then_revoke_reauthenticates("alliance");
}

#[test]
fn waves_settings_work_and_revoke_reauthenticates() {
    token_then_revoke_reauthenticates("waves");
}

#[test]
fn waves_revoke_and_expire_are_answered_by_a_refresh_not_a_login() {
    for what in ["revoke", "expire"] {
        let emulated = emulate("waves");
        let cache = tempfile::tempdir().unwrap();
        let resource = emulated.field("resource");
        assert!(
            emulated
                .propusk(cache.path(), &["get", &resource])
                .status
                .success()
        );
        emulated.control(what);
        let get = emulated.propusk(cache.path(), &["get", &resource]);
        assert!(get.status.success(), "{what}: {}", text(&get.stderr));
        let counters = emulated.control("counters");
        assert_eq!(counters["logins"], 1, "{what}: {counters}");
        assert_eq!(counters["refreshes"], 1, "{what}: {counters}");
    }
}

#[test]
fn evotor_token_works_and_revoke_is_final() {
    let emulated = emulate("evotor");
    let cache = tempfile::tempdir().unwrap();
    let token = emulated.propusk(cache.path(), &["token"]);
    assert!(token.status.success(), "{}", text(&token.stderr));
    assert_eq!(text(&token.stdout).trim(), emulated.field("EVOTOR_TOKEN"));
    let resource = emulated.field("resource");
    let get = emulated.propusk(cache.path(), &["get", &resource]);
    assert!(get.status.success(), "{}", text(&get.stderr));
    emulated.control("revoke");
    // The Cloud token is the credential: nothing to authenticate again with, so the repeat
    // is rejected too, and that is final.
    let get = emulated.propusk(cache.path(), &["get", &resource]);
    assert_eq!(get.status.code(), Some(3), "{}", text(&get.stderr));
    assert_eq!(emulated.counter("api_rejections"), 2);
}

#[test]
fn fail_auth_fails_the_next_authentications_with_the_status() {
    for provider in ["kontur", "rustore", "alliance", "waves"] {
        let emulated = emulate(provider);
        let cache = tempfile::tempdir().unwrap();
        emulated.control("fail-auth?count=2&status=503");
        for _ in 0..2 {
            let token = emulated.propusk(cache.path(), &["token"]);
            assert_eq!(
                token.status.code(),
                Some(4),
                "{provider}: {}",
                text(&token.stderr)
            );
        }
        let token = emulated.propusk(cache.path(), &["token"]);
        assert!(
            token.status.success(),
            "{provider}: {}",
            text(&token.stderr)
        );
    }
}

#[test]
fn the_json_line_names_settings_by_flag_and_secrets_by_variable() {
    let expected: [(&str, &[&str]); 5] = [
        ("kontur", &["url", "client-id", "login", "KONTUR_PASSWORD"]),
        ("rustore", &["url", "key-id", "RUSTORE_PRIVATE_KEY"]),
        ("alliance", &["url", "service-code", "ALLIANCE_AUTH_KEY"]),
        ("waves", &["url", "auth-url", "login", "WAVES_PASSWORD"]),
        ("evotor", &["url", "EVOTOR_TOKEN"]),
    ];
    for (provider, names) in expected {
        let emulated = emulate(provider);
        for name in names {
            assert!(
                emulated.settings[name].is_string(),
                "{provider}: no {name} in {}",
                emulated.settings
            );
        }
    }
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_emulator_with_exit_0() {
    let mut emulated = emulate("kontur");
    let pid = emulated.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = emulated.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_busy_listen_address_is_a_usage_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_propusk"))
        .args(["emulate", "kontur", "--listen", &address])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
}
