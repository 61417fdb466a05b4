//! Where the proxy listens: `unix:PATH` (a socket file of mode 0600) or a loopback `HOST:PORT`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use crate::common::CliError;

/// A checked `--listen` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    /// A loopback TCP address (requests then need `Proxy-Authorization`).
    Tcp(SocketAddr),
    /// A Unix socket file.
    Unix(PathBuf),
}

impl ListenAddr {
    /// Parses `unix:PATH` or `HOST:PORT` (HOST: a loopback address, or `localhost`).
    pub fn parse(text: &str) -> Result<Self, CliError> {
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(CliError::usage(
                    "--listen unix: needs a path, e.g. --listen unix:/run/propusk/kontur.sock",
                ));
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        let address = match text.rsplit_once(':') {
            Some(("localhost", port)) => port
                .parse::<u16>()
                .ok()
                .map(|port| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)),
            _ => text.parse::<SocketAddr>().ok(),
        };
        let Some(address) = address else {
            return Err(CliError::usage(format!(
                "--listen `{text}` is neither unix:PATH nor HOST:PORT (e.g. 127.0.0.1:8080)"
            )));
        };
        if !address.ip().is_loopback() {
            return Err(CliError::usage(format!(
                "--listen {address} is not a loopback address: the proxy adds credentials to every request, so it listens only on 127.0.0.1, [::1] or a unix:PATH socket"
            )));
        }
        Ok(Self::Tcp(address))
    }

    /// The loopback IPv6 address, for tests of the parser.
    #[cfg(test)]
    fn v6(port: u16) -> Self {
        Self::Tcp(SocketAddr::new(
            IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            port,
        ))
    }
}

/// Binds a Unix socket at `path` with mode 0600 from the first moment: it is bound inside a
/// fresh folder of mode 0700 beside `path`, made 0600, and renamed into place. A socket file left
/// at `path` by an earlier run is replaced; any other file there is an error.
#[cfg(unix)]
pub fn bind_unix(path: &Path) -> Result<tokio::net::UnixListener, CliError> {
    use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
    let failed = |what: &str, error: std::io::Error| {
        CliError::usage(format!(
            "cannot listen on unix:{}: {what}: {error}",
            path.display()
        ))
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            std::fs::remove_file(path).map_err(|e| failed("removing the old socket", e))?;
        }
        Ok(_) => {
            return Err(CliError::usage(format!(
                "cannot listen on unix:{}: a file that is not a socket is there; remove it or choose another path",
                path.display()
            )));
        }
        Err(_) => {}
    }
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let staging = parent.join(format!(".propusk-proxy-{:016x}", random_suffix()));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&staging)
        .map_err(|e| failed("creating a private folder beside it", e))?;
    let staged = staging.join("socket");
    let result = (|| {
        let listener =
            std::os::unix::net::UnixListener::bind(&staged).map_err(|e| failed("binding", e))?;
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| failed("setting mode 0600", e))?;
        std::fs::rename(&staged, path).map_err(|e| failed("moving it into place", e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| failed("setting it non-blocking", e))?;
        tokio::net::UnixListener::from_std(listener).map_err(|e| failed("registering it", e))
    })();
    let _ = std::fs::remove_dir_all(&staging);
    result
}

/// A random number for a staging folder's name (collisions only make the bind fail).
fn random_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_unix_are_accepted() {
        assert_eq!(
            ListenAddr::parse("127.0.0.1:8080").unwrap(),
            ListenAddr::Tcp("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(ListenAddr::parse("[::1]:0").unwrap(), ListenAddr::v6(0));
        assert_eq!(
            ListenAddr::parse("localhost:9").unwrap(),
            ListenAddr::Tcp("127.0.0.1:9".parse().unwrap())
        );
        assert_eq!(
            ListenAddr::parse("unix:/tmp/p.sock").unwrap(),
            ListenAddr::Unix("/tmp/p.sock".into())
        );
    }

    #[test]
    fn anything_else_is_a_usage_error() {
        for text in [
            "0.0.0.0:80",
            "192.168.1.5:80",
            "[::]:80",
            "example.com:80",
            "8080",
            "unix:",
        ] {
            let error = ListenAddr::parse(text).unwrap_err();
            assert_eq!(error.code, crate::common::EXIT_USAGE, "{text}");
        }
    }
}
