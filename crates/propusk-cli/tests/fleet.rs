//! `propusk` in a fleet (issue 13): short-lived processes sharing one Redis, each with its own
//! cache folder, as a new user sets it up with `PROPUSK_STORE=redis://…`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use auth_core::testkit::emulator::Failure;
use auth_core::testkit::{RedisServer, make_tls_files, unrelated_ca_pem};
use kontur_auth::testkit::{
    DEMO_CLIENT_ID, DEMO_LOGIN, DEMO_PASSWORD, Emulator as KonturEmulator, Endpoint,
};

mod common;
use common::{run, text};

/// In Redis URLs: must never appear in any output.
const CANARY: &str = "Canary-Store-Pa55";

fn kontur(emulator: &KonturEmulator, cache: &Path, store: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_propusk"));
    command
        .args(["kontur", "token"])
        .env_clear()
        .env("KONTUR_BASE_URL", emulator.base_url())
        .env("KONTUR_API_CLIENT_ID", DEMO_CLIENT_ID)
        .env("KONTUR_LOGIN", DEMO_LOGIN)
        .env("KONTUR_PASSWORD", DEMO_PASSWORD)
        .env("PROPUSK_CACHE_DIR", cache)
        .env("PROPUSK_STORE", store);
    command
}

fn no_canary(output: &Output, what: &str) {
    let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(!all.contains(CANARY), "{what}: {all}");
}

fn connection(redis: &RedisServer) -> redis::Connection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap()
}

/// Commands Redis ran since the last `CONFIG RESETSTAT`, by name, with their call counts.
fn commands(redis: &RedisServer) -> BTreeMap<String, u64> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut connection(redis))
        .unwrap();
    info.lines()
        .filter_map(|line| {
            let (name, stats) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = stats
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}

fn lock_keys(redis: &RedisServer) -> Vec<String> {
    redis::cmd("KEYS")
        .arg("*:lock")
        .query(&mut connection(redis))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_runs_after_the_first_make_no_authentication_and_take_no_lock() {
    let redis = RedisServer::start();
    let emulator = KonturEmulator::start().await;
    let folders: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let first = run(kontur(&emulator, folders[0].path(), redis.url())).await;
    assert!(first.status.success(), "{}", text(&first.stderr));
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut connection(&redis))
        .unwrap();
    for folder in &folders[1..] {
        let again = run(kontur(&emulator, folder.path(), redis.url())).await;
        assert!(again.status.success(), "{}", text(&again.stderr));
        assert_eq!(again.stdout, first.stdout);
    }
    assert_eq!(emulator.authentications(), 1);
    let ran = commands(&redis);
    // The test's own RESETSTAT and INFO count too.
    let ran: BTreeMap<_, _> = ran
        .into_iter()
        .filter(|(name, _)| name != "info" && name != "config|resetstat")
        .collect();
    assert_eq!(ran.get("get"), Some(&2), "one GET a run: {ran:?}");
    for command in ran.keys() {
        assert!(
            command == "get" || command.starts_with("client") || command == "hello",
            "a run after the first ran {command}: {ran:?}"
        );
    }
    assert!(lock_keys(&redis).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_runs_started_together_on_an_empty_redis_authenticate_once_and_finish_together() {
    let redis = RedisServer::start();
    let emulator = KonturEmulator::start().await;
    let answer_time = Duration::from_secs(2);
    emulator.inject(Endpoint::Authenticate, Failure::Slow(answer_time));
    let folders: Vec<_> = (0..8).map(|_| tempfile::tempdir().unwrap()).collect();
    let started = Instant::now();
    let children: Vec<_> = folders
        .iter()
        .map(|folder| {
            kontur(&emulator, folder.path(), redis.url())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|child| child.wait_with_output().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let took = started.elapsed();
    eprintln!("eight runs with a {answer_time:?} answer: the last finished after {took:?}");
    for output in &outputs {
        assert!(output.status.success(), "{}", text(&output.stderr));
        assert_eq!(output.stdout, outputs[0].stdout);
    }
    assert_eq!(emulator.authentications(), 1);
    assert!(
        took < answer_time + Duration::from_secs(1),
        "the last of eight finished after {took:?}"
    );
    assert!(lock_keys(&redis).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_command_leaves_its_lock_behind_in_redis_or_in_a_folder() {
    let redis = RedisServer::start();
    let emulator = KonturEmulator::start().await;
    let store_folder = tempfile::tempdir().unwrap();
    let folder_store = store_folder.path().join("store").display().to_string();
    for store in [redis.url().to_owned(), folder_store.clone()] {
        let cache = tempfile::tempdir().unwrap();
        let ok = run(kontur(&emulator, cache.path(), &store)).await;
        assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));

        let mut wrong = kontur(&emulator, cache.path(), &store);
        wrong.args(["--login", "someone-else"]);
        let wrong = run(wrong).await;
        assert_eq!(wrong.status.code(), Some(3), "{}", text(&wrong.stderr));

        emulator.inject(Endpoint::Authenticate, Failure::Status(503));
        let mut failing = kontur(&emulator, cache.path(), &store);
        failing.args(["--login", "a-third-one"]);
        let failing = run(failing).await;
        assert_eq!(failing.status.code(), Some(4), "{}", text(&failing.stderr));
    }
    assert!(lock_keys(&redis).is_empty(), "{:?}", lock_keys(&redis));
    let mut leases = 0;
    for entry in std::fs::read_dir(&folder_store).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "lease") {
            leases += 1;
            let record = std::fs::read_to_string(&path).unwrap();
            assert!(record.is_empty(), "a lease is still recorded: {record:?}");
        }
    }
    assert_eq!(leases, 3, "one lease file per identity tried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistyped_store_urls_are_configuration_errors_that_create_no_folder() {
    let emulator = KonturEmulator::start().await;
    let cache = tempfile::tempdir().unwrap();
    let workdir = tempfile::tempdir().unwrap();
    for (store, says) in [
        (format!("redis:/:{CANARY}@127.0.0.1:6379"), "mistyped URL"),
        (format!("redis:{CANARY}@127.0.0.1"), "mistyped URL"),
        (format!("rediss:/:{CANARY}@cache.example"), "mistyped URL"),
        (
            format!("http://user:{CANARY}@127.0.0.1/"),
            "`http://` is not a credential store",
        ),
        (
            format!("postgres://user:{CANARY}@127.0.0.1/db"),
            "`postgres://` is not a credential store",
        ),
        (format!("redis://:{CANARY}@"), "not valid"),
    ] {
        let mut command = kontur(&emulator, cache.path(), &store);
        command.current_dir(workdir.path());
        let output = run(command).await;
        assert_eq!(
            output.status.code(),
            Some(2),
            "{store}: {}",
            text(&output.stderr)
        );
        assert!(
            text(&output.stderr).contains(says),
            "{}",
            text(&output.stderr)
        );
        assert_eq!(text(&output.stderr).lines().count(), 1);
        no_canary(&output, "a mistyped store");
        assert_eq!(
            std::fs::read_dir(workdir.path()).unwrap().count(),
            0,
            "{store}: a folder was created"
        );
    }
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
    assert_eq!(emulator.authentications(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_works_with_its_ca_file_and_a_wrong_ca_or_a_plain_text_server_is_exit_4() {
    let certificates = tempfile::tempdir().unwrap();
    let files = make_tls_files(certificates.path());
    let acl = format!(">{CANARY}");
    let args = [
        "--user", "default", "off", "--user", "fleet", "on", &acl, "~*", "+@all",
    ];
    let tls = RedisServer::start_tls(&files, &args);
    let plain = RedisServer::start_with_args(&args);
    let emulator = KonturEmulator::start().await;
    let url =
        |server: &RedisServer| format!("rediss://fleet:{CANARY}@127.0.0.1:{}/", server.port());
    let wrong_ca = certificates.path().join("wrong-ca.pem");
    std::fs::write(&wrong_ca, unrelated_ca_pem()).unwrap();

    let mut tokens = Vec::new();
    for _ in 0..2 {
        let cache = tempfile::tempdir().unwrap();
        let mut command = kontur(&emulator, cache.path(), &url(&tls));
        command.env("PROPUSK_STORE_CA_FILE", &files.ca);
        let output = run(command).await;
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        no_canary(&output, "rediss");
        tokens.push(output.stdout);
    }
    assert_eq!(tokens[0], tokens[1], "the second run took the stored token");
    assert_eq!(emulator.authentications(), 1);

    for (case, server, ca) in [
        ("wrong CA", &tls, wrong_ca.as_path()),
        ("plain-text server", &plain, files.ca.as_path()),
    ] {
        let cache = tempfile::tempdir().unwrap();
        let mut command = kontur(&emulator, cache.path(), &url(server));
        command.env("PROPUSK_STORE_CA_FILE", ca);
        let output = run(command).await;
        assert_eq!(
            output.status.code(),
            Some(4),
            "{case}: {}",
            text(&output.stderr)
        );
        let stderr = text(&output.stderr);
        assert!(stderr.contains("Redis"), "{case}: {stderr}");
        assert!(output.stdout.is_empty(), "{case}");
        no_canary(&output, case);
    }
    let stderr_of = |output: &Output| text(&output.stderr);
    let cache = tempfile::tempdir().unwrap();
    let mut command = kontur(&emulator, cache.path(), &url(&tls));
    command.env("PROPUSK_STORE_CA_FILE", &wrong_ca);
    let output = run(command).await;
    assert!(
        stderr_of(&output).contains("certificate"),
        "{}",
        stderr_of(&output)
    );
    assert_eq!(
        emulator.authentications(),
        1,
        "no refused store led to a login"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_kontur_acquires_without_the_lock_and_waves_and_alliance_refuse() {
    let down = format!("redis://:{CANARY}@127.0.0.1:1/");
    let emulator = KonturEmulator::start().await;
    let cache = tempfile::tempdir().unwrap();
    let output = run(kontur(&emulator, cache.path(), &down)).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(emulator.authentications(), 1);
    no_canary(&output, "kontur, Redis down");

    let waves = waves_auth::testkit::Emulator::start().await;
    let mut command = Command::new(env!("CARGO_BIN_EXE_propusk"));
    command
        .args(["waves", "token"])
        .env_clear()
        .env("WAVES_AUTH_URL", waves.base_url())
        .env("WAVES_LOGIN", waves_auth::testkit::DEMO_LOGIN)
        .env("WAVES_PASSWORD", waves_auth::testkit::DEMO_PASSWORD)
        .env("PROPUSK_CACHE_DIR", cache.path())
        .env("PROPUSK_STORE", &down);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(4), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("waves does not acquire without the store's lock"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(waves.logins(), 0);
    no_canary(&output, "waves, Redis down");

    let alliance = alliance_auth::testkit::Emulator::start().await;
    let mut command = Command::new(env!("CARGO_BIN_EXE_propusk"));
    command
        .args(["alliance", "token"])
        .env_clear()
        .env("ALLIANCE_BASE_URL", alliance.base_url())
        .env(
            "ALLIANCE_SERVICE_CODE",
            alliance_auth::testkit::DEMO_SERVICE_CODE,
        )
        .env("ALLIANCE_AUTH_KEY", alliance_auth::testkit::DEMO_AUTH_KEY)
        .env("PROPUSK_CACHE_DIR", cache.path())
        .env("PROPUSK_STORE", &down);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(4), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("alliance does not acquire"));
    assert_eq!(alliance.authorizations(), 0);
    no_canary(&output, "alliance, Redis down");
}
