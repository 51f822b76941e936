//! A fault-injecting TCP proxy for the HTTP endpoints of the sandbox
//! (Patroni, Prometheus, Alertmanager): it listens on a loopback address and
//! port of its own and forwards each request to the real service, then lies
//! or stalls as told ([`Fault`]). Test-only: included by the live tests with
//! `#[path = "../support/fault_proxy.rs"]`.
//!
//! One request per connection: the request goes upstream as HTTP/1.0 (so the
//! answer is never chunked and ends when the service closes), the answer
//! comes back with `Connection: close` and an exact `Content-Length`
//! (unless the fault says otherwise). Large bodies ([`Fault::Huge`]) are
//! generated while they are sent, never stored.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// What the proxy does with each request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Forward unchanged.
    Pass,
    /// Accept, read the request, never answer (hold the connection).
    Blackhole,
    /// Forward, but answer only after this long.
    Delay(Duration),
    /// Send the status line, headers (with the full Content-Length) and half
    /// of the body, then close the connection.
    CloseMidResponse,
    /// Answer with this HTTP status and a short text body (upstream unused).
    Status(u16),
    /// A complete HTTP answer whose JSON body is cut in half.
    TruncatedJson,
    /// A complete HTTP answer whose JSON body is broken (its first `:`
    /// becomes `;`, or its last bracket the wrong kind).
    MalformedJson,
    /// 200 with a generated JSON-looking body of this many bytes, sent as it
    /// is generated; `declared` puts its size in Content-Length, else the
    /// body ends when the connection closes.
    Huge { bytes: u64, declared: bool },
}

/// Counters, for assertions.
#[derive(Debug, Default)]
pub struct Stats {
    pub connections: AtomicU64,
    pub requests: AtomicU64,
    /// Body and header bytes written to clients.
    pub bytes_to_clients: AtomicU64,
}

/// A running proxy; stops (with every connection it holds) when dropped.
pub struct FaultProxy {
    pub addr: SocketAddr,
    pub upstream: SocketAddr,
    fault: Arc<Mutex<Fault>>,
    pub stats: Arc<Stats>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Listen on `listen_ip` (a free port) in front of `upstream`.
    pub async fn start(listen_ip: &str, upstream: SocketAddr, fault: Fault) -> FaultProxy {
        let listener = TcpListener::bind((listen_ip, 0))
            .await
            .unwrap_or_else(|e| panic!("fault proxy cannot listen on {listen_ip}: {e}"));
        let addr = listener.local_addr().unwrap();
        let fault = Arc::new(Mutex::new(fault));
        let stats = Arc::new(Stats::default());
        let task = tokio::spawn(accept_loop(
            listener,
            upstream,
            fault.clone(),
            stats.clone(),
        ));
        FaultProxy {
            addr,
            upstream,
            fault,
            stats,
            task,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Change the fault for the next requests.
    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    pub fn bytes_sent(&self) -> u64 {
        self.stats.bytes_to_clients.load(Ordering::Relaxed)
    }

    pub fn requests(&self) -> u64 {
        self.stats.requests.load(Ordering::Relaxed)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    fault: Arc<Mutex<Fault>>,
    stats: Arc<Stats>,
) {
    // Connections live in the set: aborting this task drops them all.
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((sock, _)) = accepted else { continue };
                stats.connections.fetch_add(1, Ordering::Relaxed);
                conns.spawn(serve(sock, upstream, fault.clone(), stats.clone()));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// Most request (or upstream answer) bytes the proxy reads.
const MAX_READ: usize = 8 << 20;

/// Read an HTTP head (through the blank line) and a Content-Length body.
async fn read_request(sock: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > MAX_READ {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let len = header(&buf[..head_end], "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    buf.truncate(head_end + len);
    Some(buf)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A header's value (case-insensitive name) in an HTTP head.
fn header(head: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(head);
    text.split("\r\n").skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// The request rewritten for upstream: HTTP/1.0, `Connection: close`.
fn upstream_request(req: &[u8]) -> Vec<u8> {
    let head_end = find(req, b"\r\n\r\n").map_or(req.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&req[..head_end]).into_owned();
    let mut lines = head.split("\r\n").filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("GET / HTTP/1.1");
    let first = match first.rsplit_once(' ') {
        Some((m, _)) => format!("{m} HTTP/1.0"),
        None => first.to_string(),
    };
    let mut out = format!("{first}\r\n");
    for l in lines {
        let name = l
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if name != "connection" && name != "keep-alive" {
            out.push_str(l);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&req[head_end..]);
    bytes
}

/// Forward one request; the upstream answer's status line, its headers
/// (hop-by-hop and length headers dropped) and its body.
async fn forward(
    upstream: SocketAddr,
    req: &[u8],
) -> Result<(String, Vec<String>, Vec<u8>), String> {
    let mut up = TcpStream::connect(upstream)
        .await
        .map_err(|e| format!("upstream {upstream}: {e}"))?;
    up.write_all(&upstream_request(req))
        .await
        .map_err(|e| e.to_string())?;
    let mut resp = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        let n = up.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        resp.extend_from_slice(&chunk[..n]);
        if resp.len() > MAX_READ {
            return Err("upstream answer too large for the proxy".into());
        }
    }
    let head_end = find(&resp, b"\r\n\r\n").ok_or("upstream answer without a head")?;
    let head = String::from_utf8_lossy(&resp[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap_or("HTTP/1.0 502 Bad Gateway")
        .to_string();
    let mut chunked = false;
    let headers: Vec<String> = lines
        .filter(|l| {
            let name = l
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if name == "transfer-encoding" {
                chunked = l.to_ascii_lowercase().contains("chunked");
            }
            !matches!(
                name.as_str(),
                "content-length" | "transfer-encoding" | "connection" | "keep-alive"
            )
        })
        .map(str::to_string)
        .collect();
    let mut body = resp[head_end + 4..].to_vec();
    if chunked {
        body = dechunk(&body);
    }
    Ok((status, headers, body))
}

/// Decode a chunked body (best effort; the proxy asks for HTTP/1.0).
fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = find(b, b"\r\n") {
        let size = String::from_utf8_lossy(&b[..i]);
        let size =
            usize::from_str_radix(size.split(';').next().unwrap_or("0").trim(), 16).unwrap_or(0);
        if size == 0 || b.len() < i + 2 + size {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + size]);
        b = &b[(i + 2 + size + 2).min(b.len())..];
    }
    out
}

fn head_bytes(status: &str, headers: &[String], length: Option<u64>) -> Vec<u8> {
    let mut h = format!("{status}\r\n");
    for l in headers {
        h.push_str(l);
        h.push_str("\r\n");
    }
    if let Some(n) = length {
        h.push_str(&format!("Content-Length: {n}\r\n"));
    }
    h.push_str("Connection: close\r\n\r\n");
    h.into_bytes()
}

async fn send(sock: &mut TcpStream, stats: &Stats, bytes: &[u8]) -> bool {
    if sock.write_all(bytes).await.is_err() {
        return false;
    }
    stats
        .bytes_to_clients
        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
    true
}

async fn serve(
    mut sock: TcpStream,
    upstream: SocketAddr,
    fault: Arc<Mutex<Fault>>,
    stats: Arc<Stats>,
) {
    let Some(req) = read_request(&mut sock).await else {
        return;
    };
    stats.requests.fetch_add(1, Ordering::Relaxed);
    let fault = fault.lock().unwrap().clone();
    match fault {
        Fault::Blackhole => {
            // Hold the connection until the client gives up.
            let mut sink = [0u8; 4096];
            while let Ok(n) = sock.read(&mut sink).await {
                if n == 0 {
                    return;
                }
            }
        }
        Fault::Status(code) => {
            let body = b"injected fault";
            let mut out = head_bytes(
                &format!("HTTP/1.1 {code} Injected"),
                &["Content-Type: text/plain".to_string()],
                Some(body.len() as u64),
            );
            out.extend_from_slice(body);
            send(&mut sock, &stats, &out).await;
        }
        Fault::Huge { bytes, declared } => {
            let head = head_bytes(
                "HTTP/1.1 200 OK",
                &["Content-Type: application/json".to_string()],
                declared.then_some(bytes),
            );
            if !send(&mut sock, &stats, &head).await {
                return;
            }
            // `[{"name":"pg-test-x", …}, …` generated block by block.
            let item = br#"{"name":"pg-test-x","role":"replica","state":"running","lag":0},"#;
            let mut block = Vec::with_capacity(64 << 10);
            while block.len() + item.len() <= block.capacity() {
                block.extend_from_slice(item);
            }
            let mut left = bytes;
            if !send(&mut sock, &stats, b"[").await {
                return;
            }
            left = left.saturating_sub(1);
            while left > 0 {
                let n = (block.len() as u64).min(left) as usize;
                if !send(&mut sock, &stats, &block[..n]).await {
                    return;
                }
                left -= n as u64;
            }
        }
        other => {
            if let Fault::Delay(d) = other {
                tokio::time::sleep(d).await;
            }
            let (status, headers, mut body) = match forward(upstream, &req).await {
                Ok(r) => r,
                Err(e) => {
                    let msg = format!("fault proxy: {e}");
                    let mut out =
                        head_bytes("HTTP/1.1 502 Bad Gateway", &[], Some(msg.len() as u64));
                    out.extend_from_slice(msg.as_bytes());
                    send(&mut sock, &stats, &out).await;
                    return;
                }
            };
            match other {
                Fault::CloseMidResponse => {
                    let head = head_bytes(&status, &headers, Some(body.len() as u64));
                    if send(&mut sock, &stats, &head).await {
                        send(&mut sock, &stats, &body[..body.len() / 2]).await;
                    }
                    let _ = sock.shutdown().await;
                    return;
                }
                Fault::TruncatedJson => body.truncate(body.len() / 2),
                Fault::MalformedJson => {
                    // The first `:` becomes `;`; without one (`[]`), the
                    // last bracket is swapped for the other kind.
                    if let Some(i) = body.iter().position(|&b| b == b':') {
                        body[i] = b';';
                    } else if let Some(i) = body.iter().rposition(|b| b"]}".contains(b)) {
                        body[i] = if body[i] == b']' { b'}' } else { b']' };
                    }
                }
                _ => {}
            }
            let mut out = head_bytes(&status, &headers, Some(body.len() as u64));
            out.extend_from_slice(&body);
            send(&mut sock, &stats, &out).await;
        }
    }
    let _ = sock.shutdown().await;
}
