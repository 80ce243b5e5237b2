//! A minimal HTTP/1.1 server for one read-only page.
//!
//! Why not a crate: the endpoint answers `GET /metrics` and closes; what it
//! must guarantee is that no client can stall it or the process (bounded
//! request size, a deadline per connection for reading the request and for
//! writing the answer, a cap on connections in service with an immediate
//! 503 beyond it). The small servers on crates.io (tiny_http and the like)
//! do not bound connections or set deadlines, so they would need the same
//! code around them, plus their build time on a 2-core machine.
//!
//! Threads: one acceptor and one short-lived thread per connection in
//! service (at most [`Limits::connections`]); none is a DPDK lcore.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a client may take.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections served at once; more are answered 503 and closed.
    pub connections: usize,
    /// Longest request head (request line and headers), bytes.
    pub head_bytes: usize,
    /// Time a client has to send its request head.
    pub read_deadline: Duration,
    /// Time a client has to take the answer.
    pub write_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections: 8,
            head_bytes: 8 * 1024,
            read_deadline: Duration::from_secs(5),
            write_deadline: Duration::from_secs(10),
        }
    }
}

/// A page to serve: called per request for the current body.
pub type Page = Arc<dyn Fn() -> String + Send + Sync>;

/// A running server.
pub struct Server {
    addr: SocketAddr,
    #[cfg(test)]
    active: Arc<AtomicUsize>,
}

impl Server {
    /// Listens on `addr` and serves `page` at `path` from a thread of its
    /// own (it lives as long as the process).
    pub fn start(
        addr: SocketAddr,
        path: &'static str,
        page: Page,
        limits: Limits,
    ) -> Result<Server, String> {
        let listener =
            TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| format!("{addr}: {e}"))?;
        let active = Arc::new(AtomicUsize::new(0));
        let act = active.clone();
        std::thread::Builder::new()
            .name("mf-metrics".into())
            .spawn(move || accept_loop(listener, path, page, limits, act))
            .map_err(|e| format!("cannot start the metrics thread: {e}"))?;
        Ok(Server {
            addr,
            #[cfg(test)]
            active,
        })
    }

    /// The address actually bound (the port the kernel chose for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections in service now.
    #[cfg(test)]
    pub fn active(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }
}

fn accept_loop(
    listener: TcpListener,
    path: &'static str,
    page: Page,
    limits: Limits,
    active: Arc<AtomicUsize>,
) {
    for conn in listener.incoming() {
        let mut conn = match conn {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors and the like: back off a little rather
                // than spin on the error.
                log::debug!("metrics: accept: {e}");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if active.fetch_add(1, Ordering::AcqRel) >= limits.connections {
            active.fetch_sub(1, Ordering::AcqRel);
            // Never blocks: the few bytes go to the socket buffer or not at all.
            let _ = conn.set_nonblocking(true);
            let _ = conn.write_all(&head(
                503,
                "Service Unavailable",
                "text/plain",
                0,
                "Retry-After: 1\r\n",
            ));
            // Take what the client already sent, so the close is a FIN
            // after the answer rather than a reset that may discard it.
            let _ = conn.shutdown(Shutdown::Write);
            let mut sink = [0u8; 4096];
            // Bounded, so a client that keeps sending cannot hold the acceptor.
            for _ in 0..16 {
                if !matches!(conn.read(&mut sink), Ok(n) if n > 0) {
                    break;
                }
            }
            continue;
        }
        let (page, act) = (page.clone(), active.clone());
        let spawned = std::thread::Builder::new()
            .name("mf-metrics-conn".into())
            .spawn(move || {
                serve(conn, path, &page, limits);
                act.fetch_sub(1, Ordering::AcqRel);
            });
        if spawned.is_err() {
            active.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

fn head(code: u16, reason: &str, ctype: &str, len: usize, extra: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len}\r\n{extra}Connection: close\r\n\r\n"
    )
    .into_bytes()
}

/// Why a request head could not be read.
#[derive(Debug, PartialEq, Eq)]
enum HeadError {
    TooLarge,
    Timeout,
    Closed,
}

/// Reads up to the blank line ending the head, within the deadline and
/// the size limit.
fn read_head(conn: &mut TcpStream, limits: Limits) -> Result<Vec<u8>, HeadError> {
    let deadline = Instant::now() + limits.read_deadline;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.truncate(end);
            return Ok(buf);
        }
        if buf.len() > limits.head_bytes {
            return Err(HeadError::TooLarge);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HeadError::Timeout);
        }
        let _ = conn.set_read_timeout(Some(left));
        match conn.read(&mut chunk) {
            Ok(0) => return Err(HeadError::Closed),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(HeadError::Timeout)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Err(HeadError::Closed),
        }
    }
}

/// Writes all of `data` before the deadline, or gives up.
fn write_bounded(conn: &mut TcpStream, data: &[u8], limits: Limits) {
    let deadline = Instant::now() + limits.write_deadline;
    let mut at = 0;
    while at < data.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        let _ = conn.set_write_timeout(Some(left));
        match conn.write(&data[at..]) {
            Ok(0) => return,
            Ok(n) => at += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

fn serve(mut conn: TcpStream, path: &str, page: &Page, limits: Limits) {
    let reply = match read_head(&mut conn, limits) {
        Ok(h) => answer(&h, path, page),
        Err(HeadError::TooLarge) => {
            head(431, "Request Header Fields Too Large", "text/plain", 0, "")
        }
        Err(HeadError::Timeout) => head(408, "Request Timeout", "text/plain", 0, ""),
        Err(HeadError::Closed) => return,
    };
    write_bounded(&mut conn, &reply, limits);
    let _ = conn.shutdown(Shutdown::Write);
}

/// The whole answer to a request head.
fn answer(h: &[u8], path: &str, page: &Page) -> Vec<u8> {
    let line = h.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, target, version) = (parts.next(), parts.next(), parts.next());
    let (Some(method), Some(target), Some(version)) = (method, target, version) else {
        return head(400, "Bad Request", "text/plain", 0, "");
    };
    if !version.starts_with("HTTP/1.") {
        return head(505, "HTTP Version Not Supported", "text/plain", 0, "");
    }
    if method != "GET" && method != "HEAD" {
        return head(
            405,
            "Method Not Allowed",
            "text/plain",
            0,
            "Allow: GET, HEAD\r\n",
        );
    }
    let target = target.split('?').next().unwrap_or_default();
    let (ctype, body) = if target == path {
        ("text/plain; version=0.0.4; charset=utf-8", page())
    } else if target == "/" {
        (
            "text/html; charset=utf-8",
            format!("<html><body><a href=\"{path}\">{path}</a></body></html>\n"),
        )
    } else {
        return head(404, "Not Found", "text/plain", 0, "");
    };
    let mut out = head(200, "OK", ctype, body.len(), "");
    if method == "GET" {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Page {
        Arc::new(|| "up 1\n".to_string())
    }

    fn get(addr: SocketAddr, req: &[u8]) -> String {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(req).unwrap();
        let mut s = String::new();
        c.read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn serves_the_page_and_refuses_the_rest() {
        let srv = Server::start(
            "127.0.0.1:0".parse().unwrap(),
            "/metrics",
            page(),
            Limits::default(),
        )
        .unwrap();
        let a = srv.addr();
        let ok = get(a, b"GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(
            ok.contains("Content-Length: 5\r\n") && ok.ends_with("\r\n\r\nup 1\n"),
            "{ok}"
        );
        let h = get(a, b"HEAD /metrics HTTP/1.0\r\n\r\n");
        assert!(
            h.starts_with("HTTP/1.1 200") && h.ends_with("\r\n\r\n"),
            "{h}"
        );
        assert!(get(a, b"GET /nope HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(get(a, b"POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        assert!(get(a, b"garbage\r\n\r\n").starts_with("HTTP/1.1 400"));
        assert!(get(a, b"GET /metrics SPDY/3\r\n\r\n").starts_with("HTTP/1.1 505"));
        let mut big = b"GET /metrics HTTP/1.1\r\nX: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', 64 * 1024));
        let mut c = TcpStream::connect(a).unwrap();
        let _ = c.write_all(&big);
        let mut s = String::new();
        let _ = c.read_to_string(&mut s);
        assert!(s.starts_with("HTTP/1.1 431"), "{s}");
    }

    #[test]
    fn a_silent_client_times_out_and_the_cap_answers_503() {
        let limits = Limits {
            connections: 1,
            read_deadline: Duration::from_millis(300),
            ..Limits::default()
        };
        let srv =
            Server::start("127.0.0.1:0".parse().unwrap(), "/metrics", page(), limits).unwrap();
        // A silent client is answered 408 once its deadline passes.
        let mut idle = TcpStream::connect(srv.addr()).unwrap();
        let mut s = String::new();
        idle.read_to_string(&mut s).unwrap();
        assert!(s.starts_with("HTTP/1.1 408"), "{s}");

        let limits = Limits {
            connections: 1,
            read_deadline: Duration::from_secs(600),
            ..Limits::default()
        };
        let srv =
            Server::start("127.0.0.1:0".parse().unwrap(), "/metrics", page(), limits).unwrap();
        let held = TcpStream::connect(srv.addr()).unwrap();
        // Wait (state, not time) until the silent client holds the slot.
        while srv.active() == 0 {
            std::thread::yield_now();
        }
        // Read before sending: the answer comes at accept, whatever the request.
        let mut c = TcpStream::connect(srv.addr()).unwrap();
        let mut refused = String::new();
        c.read_to_string(&mut refused).unwrap();
        assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
        drop(held);
        while srv.active() != 0 {
            std::thread::yield_now();
        }
        assert!(get(srv.addr(), b"GET /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200"));
    }
}
