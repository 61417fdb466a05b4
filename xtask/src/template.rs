//! `cargo xtask check-template`: every provider crate follows the template of
//! `docs/architecture.md` ("Adding a provider"): the same files with the same meaning, the same
//! type, constant, getter and test-file names, one emulator type and one failure-injection API.
//!
//! The check reads source text; it is a guard against drift, not a parser. Each finding names
//! the crate, the file and what is missing or misnamed.

use std::fs;
use std::path::Path;

/// The provider crates and the prefix of their type names (`KonturConfig`, `KonturSource`).
pub const PROVIDERS: &[(&str, &str)] = &[
    ("kontur-auth", "Kontur"),
    ("rustore-auth", "Rustore"),
    ("alliance-auth", "Alliance"),
    ("waves-auth", "Waves"),
    ("evotor-auth", "Evotor"),
];

/// Files every provider crate has (paths relative to the crate; `a|b` means either).
const TEMPLATE_FILES: &[&str] = &[
    "Cargo.toml",
    "src/lib.rs",
    "src/config.rs",
    "src/source.rs",
    "src/protocol.rs",
    "src/error.rs",
    "src/testkit.rs|src/testkit/mod.rs",
    "tests/emulator.rs",
    "tests/hardening.rs",
    "tests/properties.rs",
];

/// Template rules a provider does not follow for a reason of the provider's own, with that
/// reason: (crate, the rule's text, why).
const EXEMPTIONS: &[(&str, &str, &str)] = &[
    (
        "waves-auth",
        "pub const PRODUCTION_URL: &str",
        "every Waves Enterprise deployment has its own authorization service; there is no public one",
    ),
    (
        "waves-auth",
        "pub fn base_url(&self) -> &Url",
        "in API-key mode there is no authorization service: `auth_url() -> Option<&Url>` instead",
    ),
];

/// Names of emulators the template replaced: a crate that still declares one fails.
const OLD_EMULATOR_NAMES: &[&str] = &["FakeCloud", "KonturEmulator", "WavesEmulator"];

/// What `crate_dir` (a provider crate with type prefix `prefix`) lacks of the template; empty
/// when it follows it.
pub fn findings(crate_dir: &Path, prefix: &str) -> Vec<String> {
    let name = crate_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut found = Vec::new();
    let mut missing = |file: &str, what: String| found.push(format!("{name}/{file}: {what}"));

    for file in TEMPLATE_FILES {
        if !file.split('|').any(|f| crate_dir.join(f).is_file()) {
            missing(file, "missing (a template file)".to_owned());
        }
    }
    let read = |file: &str| fs::read_to_string(crate_dir.join(file)).unwrap_or_default();
    let testkit_file = if crate_dir.join("src/testkit.rs").is_file() {
        "src/testkit.rs"
    } else {
        "src/testkit/mod.rs"
    };
    let testkit_all = read_tree(&crate_dir.join("src/testkit"))
        + &read("src/testkit.rs")
        + &read("src/testkit/mod.rs");

    let rules: Vec<(&str, String, String)> = vec![
        (
            "Cargo.toml",
            "testkit = [".into(),
            "a `testkit` feature".into(),
        ),
        (
            "src/lib.rs",
            "# Example".into(),
            "a `# Example` in the crate docs".into(),
        ),
        (
            "src/lib.rs",
            "pub const PROVIDER: &str".into(),
            "`pub const PROVIDER: &str`".into(),
        ),
        ("src/lib.rs", "mod config;".into(), "`mod config;`".into()),
        ("src/lib.rs", "mod source;".into(), "`mod source;`".into()),
        ("src/lib.rs", "mod error;".into(), "`mod error;`".into()),
        (
            "src/lib.rs",
            "pub mod protocol;".into(),
            "`pub mod protocol;`".into(),
        ),
        (
            "src/lib.rs",
            "pub mod testkit;".into(),
            "`pub mod testkit;` (feature `testkit`)".into(),
        ),
        (
            "src/config.rs",
            format!("pub struct {prefix}Config "),
            format!("`pub struct {prefix}Config`"),
        ),
        (
            "src/config.rs",
            format!("pub struct {prefix}ConfigBuilder "),
            format!("`pub struct {prefix}ConfigBuilder`"),
        ),
        (
            "src/config.rs",
            format!("pub fn builder() -> {prefix}ConfigBuilder"),
            format!("`{prefix}Config::builder()`"),
        ),
        (
            "src/config.rs",
            "pub const PRODUCTION_URL: &str".into(),
            "`pub const PRODUCTION_URL: &str`".into(),
        ),
        (
            "src/config.rs",
            "pub fn base_url(&self) -> &Url".into(),
            "the getter `base_url(&self) -> &Url`".into(),
        ),
        (
            "src/config.rs",
            "pub fn http_settings(&self) -> &HttpSettings".into(),
            "the getter `http_settings(&self) -> &HttpSettings`".into(),
        ),
        (
            "src/source.rs",
            format!("pub struct {prefix}Source "),
            format!("`pub struct {prefix}Source`"),
        ),
        (
            "src/source.rs",
            format!("pub fn new(config: {prefix}Config) -> Self"),
            format!("`{prefix}Source::new(config: {prefix}Config) -> Self` (infallible)"),
        ),
        (
            "src/source.rs",
            format!("source_shortcuts!({prefix}Source)"),
            format!("`auth_core::provider::source_shortcuts!({prefix}Source)`"),
        ),
    ];
    for (file, needle, what) in rules {
        let exempt = EXEMPTIONS
            .iter()
            .any(|(krate, rule, _)| *krate == name && *rule == needle);
        if crate_dir.join(file).is_file() && !exempt && !read(file).contains(&needle) {
            missing(file, format!("lacks {what}"));
        }
    }
    if !crate_dir.join(testkit_file).is_file() {
        return found;
    }
    for (needle, what) in [
        ("pub struct Emulator ", "`pub struct Emulator`"),
        (
            "pub struct EmulatorBuilder ",
            "`pub struct EmulatorBuilder`",
        ),
        (
            "pub fn builder() -> EmulatorBuilder",
            "`Emulator::builder()`",
        ),
        ("pub enum Endpoint ", "`pub enum Endpoint`"),
        (
            "pub fn inject(&self, endpoint: Endpoint, failure: Failure",
            "`Emulator::inject(&self, endpoint: Endpoint, failure: Failure…)`",
        ),
        (
            "impl EmulatorControl for ",
            "an `EmulatorControl` impl (the control API)",
        ),
    ] {
        if !testkit_all.contains(needle) {
            found.push(format!("{name}/{testkit_file}: lacks {what}"));
        }
    }
    for old in OLD_EMULATOR_NAMES {
        if testkit_all.contains(&format!("pub struct {old} ")) {
            found.push(format!(
                "{name}/{testkit_file}: declares `{old}`; the template's emulator is `Emulator`"
            ));
        }
    }
    found
}

/// The text of every `.rs` file under `folder` (none when it does not exist).
fn read_tree(folder: &Path) -> String {
    let mut text = String::new();
    let Ok(entries) = fs::read_dir(folder) else {
        return text;
    };
    let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            text += &read_tree(&path);
        } else if path.extension().is_some_and(|e| e == "rs") {
            text += &fs::read_to_string(&path).unwrap_or_default();
        }
    }
    text
}

/// Checks every provider crate under `crates/`; prints the findings and answers whether there
/// were none.
pub fn check(crates: &Path) -> bool {
    let mut all = Vec::new();
    for (name, prefix) in PROVIDERS {
        let dir = crates.join(name);
        if dir.join("Cargo.toml").is_file() {
            all.extend(findings(&dir, prefix));
        }
    }
    for finding in &all {
        eprintln!("xtask: template: {finding}");
    }
    if all.is_empty() {
        println!(
            "xtask: template: all {} provider crates follow docs/architecture.md (Adding a provider)",
            PROVIDERS.len()
        );
    } else {
        eprintln!(
            "xtask: template: {} finding(s); the template is in docs/architecture.md (Adding a provider)",
            all.len()
        );
    }
    all.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn crates() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("crates")
    }

    /// Copies the template-relevant files of a real crate into a temporary folder.
    fn copy_of(name: &str) -> tempdir::Folder {
        let folder = tempdir::Folder::new(name);
        copy_tree(&crates().join(name), &folder.path, 0);
        folder
    }

    fn copy_tree(from: &Path, to: &Path, depth: usize) {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap().filter_map(Result::ok) {
            let path = entry.path();
            let target = to.join(entry.file_name());
            if path.is_dir() {
                if depth < 3 && entry.file_name() != "fixtures" {
                    copy_tree(&path, &target, depth + 1);
                }
            } else if path.extension().is_some_and(|e| e == "rs" || e == "toml") {
                fs::copy(&path, &target).unwrap();
            }
        }
    }

    /// A folder of this test's own under the system's temporary folder, removed when dropped.
    mod tempdir {
        use std::path::PathBuf;

        pub struct Folder {
            pub path: PathBuf,
        }

        impl Folder {
            pub fn new(name: &str) -> Self {
                let path = std::env::temp_dir()
                    .join(format!(
                        "xtask-template-{}-{}",
                        std::process::id(),
                        fastrand_u64()
                    ))
                    .join(name);
                Self { path }
            }
        }

        impl Drop for Folder {
            fn drop(&mut self) {
                if let Some(parent) = self.path.parent() {
                    let _ = std::fs::remove_dir_all(parent);
                }
            }
        }

        fn fastrand_u64() -> u64 {
            use std::hash::{BuildHasher, Hasher};
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u64(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or_default(),
            );
            hasher.finish()
        }
    }

    #[test]
    fn every_provider_crate_follows_the_template() {
        let mut all = Vec::new();
        for (name, prefix) in PROVIDERS {
            all.extend(findings(&crates().join(name), prefix));
        }
        assert!(all.is_empty(), "{all:#?}");
    }

    #[test]
    fn a_crate_whose_emulator_has_another_name_fails() {
        let copy = copy_of("kontur-auth");
        let testkit = copy.path.join("src/testkit.rs");
        let text = fs::read_to_string(&testkit).unwrap();
        fs::write(
            &testkit,
            text.replace("pub struct Emulator ", "pub struct KonturEmulator "),
        )
        .unwrap();
        let found = findings(&copy.path, "Kontur");
        assert!(
            found
                .iter()
                .any(|f| f.contains("declares `KonturEmulator`"))
                && found.iter().any(|f| f.contains("`pub struct Emulator`")),
            "{found:#?}"
        );
    }

    #[test]
    fn a_crate_without_a_template_file_fails() {
        let copy = copy_of("rustore-auth");
        fs::remove_file(copy.path.join("tests/emulator.rs")).unwrap();
        fs::remove_file(copy.path.join("src/error.rs")).unwrap();
        let found = findings(&copy.path, "Rustore");
        assert_eq!(
            found,
            [
                "rustore-auth/src/error.rs: missing (a template file)",
                "rustore-auth/tests/emulator.rs: missing (a template file)",
            ],
        );
    }

    #[test]
    fn a_crate_with_an_old_constant_or_getter_fails() {
        let copy = copy_of("kontur-auth");
        let config = copy.path.join("src/config.rs");
        let text = fs::read_to_string(&config).unwrap();
        fs::write(
            &config,
            text.replace(
                "pub fn http_settings(&self) -> &HttpSettings",
                "pub fn http(&self) -> &HttpSettings",
            ),
        )
        .unwrap();
        let found = findings(&copy.path, "Kontur");
        assert_eq!(
            found,
            ["kontur-auth/src/config.rs: lacks the getter `http_settings(&self) -> &HttpSettings`"]
        );
    }
}
