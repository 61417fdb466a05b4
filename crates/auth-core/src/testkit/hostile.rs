//! A server that misbehaves at the HTTP level, for fault-injection tests: it resets
//! connections, trickles or truncates bodies, streams far more than any client should read, or
//! redirects elsewhere. It records the headers of every request it read, so a test can see what
//! a client sent. It speaks raw HTTP/1.1 on plain threads, so it needs no runtime and no emulator.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// How a [`HostileServer`] answers every connection.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Misbehaviour {
    /// Answers this status with this `Content-Type` and body (and a correct `Content-Length`).
    Answer {
        /// The HTTP status.
        status: u16,
        /// The `Content-Type`.
        content_type: String,
        /// The body.
        body: Vec<u8>,
    },
    /// Waits until the request arrives, then closes the connection without reading it or
    /// answering: with the request still unread, the kernel resets the connection.
    Reset,
    /// Sends `200 OK` and headers promising `length` bytes at once, then one byte every `every`.
    SlowBody {
        /// The promised `Content-Length`.
        length: usize,
        /// The pause before each byte.
        every: Duration,
    },
    /// Promises `length` bytes, sends `sent` of them, then closes the connection.
    Truncated {
        /// The promised `Content-Length`.
        length: usize,
        /// How many bytes are sent.
        sent: usize,
    },
    /// Sends `200 OK` and streams up to `limit` bytes of `A`, declaring `Content-Length: limit`
    /// when `declare_length`, chunked otherwise; stops as soon as the client goes away.
    /// [`HostileServer::bytes_sent`] tells how far it got.
    Endless {
        /// The most it sends.
        limit: usize,
        /// Whether the headers say how long the body is.
        declare_length: bool,
    },
    /// Answers `status` (a 3xx) with `Location: location` and an empty body.
    Redirect {
        /// The HTTP status.
        status: u16,
        /// Where to: usually another server's URL.
        location: String,
    },
}

impl Misbehaviour {
    /// An answer with `status`, `content_type` and `body`.
    pub fn answer(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self::Answer {
            status,
            content_type: content_type.to_owned(),
            body: body.into(),
        }
    }

    /// A JSON answer with `status`.
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self::answer(status, "application/json", body)
    }

    /// A redirect with `status` to `location`.
    pub fn redirect(status: u16, location: impl Into<String>) -> Self {
        Self::Redirect {
            status,
            location: location.into(),
        }
    }
}

struct Shared {
    misbehaviour: Misbehaviour,
    stop: AtomicBool,
    connections: AtomicUsize,
    finished: AtomicUsize,
    bytes_sent: AtomicU64,
    requests: Mutex<Vec<http::HeaderMap>>,
}

/// A loopback server that answers every connection with one [`Misbehaviour`]; stops accepting
/// when dropped. Each connection is served on its own thread with 5 s read and write limits.
pub struct HostileServer {
    address: SocketAddr,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for HostileServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostileServer")
            .field("address", &self.address)
            .field("misbehaviour", &self.shared.misbehaviour)
            .finish_non_exhaustive()
    }
}

impl HostileServer {
    /// Starts on `127.0.0.1` at a free port.
    ///
    /// # Panics
    /// If no loopback port can be bound (a broken test machine).
    pub fn start(misbehaviour: Misbehaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let address = listener.local_addr().expect("a bound address");
        let shared = Arc::new(Shared {
            misbehaviour,
            stop: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            bytes_sent: AtomicU64::new(0),
            requests: Mutex::new(Vec::new()),
        });
        let accepting = Arc::clone(&shared);
        thread::spawn(move || {
            for stream in listener.incoming() {
                if accepting.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                accepting.connections.fetch_add(1, Ordering::SeqCst);
                let serving = Arc::clone(&accepting);
                thread::spawn(move || {
                    let _ = serve(&serving, stream);
                    serving.finished.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        Self { address, shared }
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// How many connections were accepted.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// How many body bytes were written to clients so far.
    pub fn bytes_sent(&self) -> u64 {
        self.shared.bytes_sent.load(Ordering::SeqCst)
    }

    /// The headers of every request read so far, in the order they arrived (a
    /// [`Misbehaviour::Reset`] reads none).
    pub fn requests(&self) -> Vec<http::HeaderMap> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits (at most `limit`) until every accepted connection has been dealt with; `false` if
    /// some were still being served when the time ran out.
    pub fn wait_until_quiet(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if self.shared.finished.load(Ordering::SeqCst)
                >= self.shared.connections.load(Ordering::SeqCst)
            {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
    }
}

fn serve(shared: &Shared, mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    if matches!(shared.misbehaviour, Misbehaviour::Reset) {
        // Wait for the request without consuming it, then close: unread data means RST.
        let mut byte = [0u8; 1];
        let _ = stream.peek(&mut byte);
        return Ok(());
    }
    let headers = read_request(&mut stream)?;
    shared
        .requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(headers);
    let sent = |n: usize| {
        shared.bytes_sent.fetch_add(n as u64, Ordering::SeqCst);
    };
    match &shared.misbehaviour {
        Misbehaviour::Reset => Ok(()),
        Misbehaviour::Answer {
            status,
            content_type,
            body,
        } => {
            write_head(&mut stream, *status, content_type, Some(body.len()))?;
            stream.write_all(body)?;
            sent(body.len());
            stream.flush()
        }
        Misbehaviour::Redirect { status, location } => {
            let head = format!(
                "HTTP/1.1 {status} Elsewhere\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
            stream.write_all(head.as_bytes())?;
            stream.flush()
        }
        Misbehaviour::SlowBody { length, every } => {
            write_head(&mut stream, 200, "application/json", Some(*length))?;
            for _ in 0..*length {
                thread::sleep(*every);
                stream.write_all(b" ")?;
                stream.flush()?;
                sent(1);
            }
            Ok(())
        }
        Misbehaviour::Truncated {
            length,
            sent: count,
        } => {
            write_head(&mut stream, 200, "application/json", Some(*length))?;
            let part = vec![b'{'; (*count).min(*length)];
            stream.write_all(&part)?;
            stream.flush()?;
            sent(part.len());
            // Closing here leaves the body short of what was promised.
            stream.shutdown(std::net::Shutdown::Write)
        }
        Misbehaviour::Endless {
            limit,
            declare_length,
        } => {
            let declared = declare_length.then_some(*limit);
            write_head(&mut stream, 200, "text/plain", declared)?;
            const CHUNK: usize = 64 * 1024;
            let data = vec![b'A'; CHUNK];
            let mut written = 0;
            while written < *limit {
                let n = CHUNK.min(limit - written);
                if *declare_length {
                    stream.write_all(&data[..n])?;
                } else {
                    stream.write_all(format!("{n:x}\r\n").as_bytes())?;
                    stream.write_all(&data[..n])?;
                    stream.write_all(b"\r\n")?;
                }
                written += n;
                sent(n);
            }
            if !declare_length {
                stream.write_all(b"0\r\n\r\n")?;
            }
            stream.flush()
        }
    }
}

/// Reads the request head and any `Content-Length` body (at most 1 MiB); returns the headers
/// (those that are valid HTTP; an incomplete head gives what arrived).
fn read_request(stream: &mut TcpStream) -> std::io::Result<http::HeaderMap> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 || head.len() > 64 * 1024 {
            break;
        }
        head.push(byte[0]);
    }
    let mut headers = http::HeaderMap::new();
    for line in head.split(|b| *b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(&line[..colon]),
            http::HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) {
            headers.append(name, value);
        }
    }
    if !head.ends_with(b"\r\n\r\n") {
        return Ok(headers);
    }
    let length = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(1024 * 1024);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body)?;
    Ok(headers)
}

fn write_head(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    length: Option<usize>,
) -> std::io::Result<()> {
    let framing = match length {
        Some(length) => format!("content-length: {length}\r\n"),
        None => "transfer-encoding: chunked\r\n".to_owned(),
    };
    let head = format!(
        "HTTP/1.1 {status} Hostile\r\ncontent-type: {content_type}\r\n{framing}connection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes())?;
    stream.flush()
}
