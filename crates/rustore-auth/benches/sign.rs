//! One SHA512withRSA signature with a 2048-bit key: the cost of each token request on the
//! client, and of parsing the console key.
//!
//! Run: `cargo bench -p rustore-auth --bench sign`.

// criterion's macros generate undocumented functions.
#![allow(missing_docs)]

use std::time::Duration;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rustore_auth::RustorePrivateKey;
use rustore_auth::protocol::signing_message;

const CONSOLE_KEY: &str = include_str!("../tests/fixtures/test-key.console.txt");

fn sign(c: &mut Criterion) {
    let key = RustorePrivateKey::parse(CONSOLE_KEY).expect("the fixture key parses");
    let message = signing_message("2351024845", "2025-01-01T12:00:00.123+00:00");
    c.bench_function("rustore/sign_2048", |b| {
        b.iter(|| key.sign_base64(black_box(message.as_bytes())).unwrap())
    });
    c.bench_function("rustore/parse_console_key", |b| {
        b.iter(|| RustorePrivateKey::parse(black_box(CONSOLE_KEY)).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = sign
}
criterion_main!(benches);
