//! The one HTTP client every source shares, with bounded concurrency and
//! per-request timeouts, and errors that name the endpoint.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

use crate::model::Credentials;

/// What went wrong talking to a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Could not connect (refused, unreachable, DNS).
    Connect,
    /// No complete answer within the timeout.
    Timeout,
    /// An HTTP status that is not a success.
    Http,
    /// The answer is not what the API documents (malformed JSON, CSV, …).
    Malformed,
    /// The API answered with an error of its own (Prometheus `status: error`, …).
    Api,
    /// Anything else (a reset connection, a broken stream).
    Other,
}

/// An error of one source, always naming the endpoint: its `Display` is
/// `"{source}: {detail}"`, e.g. `patroni 127.0.0.12:8008: connection refused`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    /// The source's display name, which includes its endpoint.
    pub source: String,
    pub kind: ErrorKind,
    pub detail: String,
}

impl SourceError {
    pub fn new(source: &str, kind: ErrorKind, detail: impl Into<String>) -> Self {
        SourceError {
            source: source.to_string(),
            kind,
            detail: detail.into(),
        }
    }

    /// A JSON body that did not parse, with serde's position.
    pub fn malformed_json(source: &str, what: &str, e: &serde_json::Error) -> Self {
        Self::malformed_json_in(source, what, e, &[])
    }

    /// [`SourceError::malformed_json`], also naming the field where it
    /// failed (`members[1].port`) when `body` is the text that was parsed.
    pub fn malformed_json_in(source: &str, what: &str, e: &serde_json::Error, body: &[u8]) -> Self {
        let full = e.to_string();
        // serde_json appends " at line L column C"; put the position first.
        let reason = full
            .rsplit_once(" at line ")
            .map(|(r, _)| r.to_string())
            .unwrap_or(full);
        let field = json_path_at(body, e.line(), e.column())
            .map(|p| format!("{p}: "))
            .unwrap_or_default();
        SourceError::new(
            source,
            ErrorKind::Malformed,
            format!(
                "malformed JSON at line {} column {} ({what}: {field}{reason})",
                e.line(),
                e.column()
            ),
        )
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.detail)
    }
}

impl std::error::Error for SourceError {}

/// A complete HTTP answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `Err("GET /path: HTTP 503 Service Unavailable: <body>")` unless 2xx.
    pub fn check(&self, source: &str, what: &str) -> Result<(), SourceError> {
        if self.is_success() {
            return Ok(());
        }
        let reason = reqwest::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        let mut detail = format!("{what}: HTTP {} {reason}", self.status);
        let body = String::from_utf8_lossy(&self.body);
        let body = body.trim();
        if !body.is_empty() {
            let cut: String = body.chars().take(160).collect();
            detail.push_str(&format!(": {cut}"));
        }
        Err(SourceError::new(source, ErrorKind::Http, detail.trim_end()))
    }

    /// [`Response::check`], passing the response on.
    pub fn require_success(self, source: &str, what: &str) -> Result<Self, SourceError> {
        self.check(source, what)?;
        Ok(self)
    }
}

/// Parse a JSON body; errors name the source, the request and the field.
pub fn parse_json<T: DeserializeOwned>(
    source: &str,
    what: &str,
    body: &[u8],
) -> Result<T, SourceError> {
    serde_json::from_slice(body).map_err(|e| SourceError::malformed_json_in(source, what, &e, body))
}

/// The path (`members[1].port`) of the JSON value being read at `line` and
/// `column` (serde_json's 1-based position of an error) of `body`: a scan
/// of the text that tracks object keys and array indices. `None` at the top
/// level, or when the position is not inside `body`.
pub fn json_path_at(body: &[u8], line: usize, column: usize) -> Option<String> {
    enum Frame {
        Object { key: Option<String>, want_key: bool },
        Array { index: usize },
    }
    if line == 0 {
        return None;
    }
    let mut stack: Vec<Frame> = Vec::new();
    let (mut l, mut c) = (1usize, 0usize);
    let mut i = 0;
    let mut reached = false;
    let mut closing = false;
    while i < body.len() {
        let b = body[i];
        if b == b'\n' {
            l += 1;
            c = 0;
        } else {
            c += 1;
        }
        if l > line || (l == line && c >= column) {
            reached = true;
            // At the end of an object or array (a missing field, a wrong
            // length): the path of the container itself.
            closing = matches!(b, b'}' | b']');
            break;
        }
        match b {
            b'"' => {
                // A string: find its end (escapes skipped).
                let start = i + 1;
                let mut j = start;
                while j < body.len() && body[j] != b'"' {
                    j += if body[j] == b'\\' { 2 } else { 1 };
                }
                let end = j.min(body.len());
                if let Some(Frame::Object { key, want_key }) = stack.last_mut()
                    && *want_key
                {
                    *key = Some(String::from_utf8_lossy(&body[start..end]).into_owned());
                    *want_key = false;
                }
                // Count the string's bytes as columns (no newlines in JSON strings).
                let skipped = (end + 1).min(body.len()) - i - 1;
                if l == line && c + skipped >= column {
                    reached = true;
                    break;
                }
                c += skipped;
                i = end + 1;
                continue;
            }
            b'{' => stack.push(Frame::Object {
                key: None,
                want_key: true,
            }),
            b'[' => stack.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object { key, want_key }) => {
                    *key = None;
                    *want_key = true;
                }
                Some(Frame::Array { index }) => *index += 1,
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    // Past the end: an unfinished body fails at its last byte.
    let at_end = l == line && c + 1 >= column;
    if !(reached || at_end) {
        return None;
    }
    let mut path = String::new();
    let last = stack.len().wrapping_sub(1);
    for (n, f) in stack.iter().enumerate() {
        if closing && n == last {
            break;
        }
        match f {
            Frame::Object { key: Some(k), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                // Keys are remote text: one line, bounded.
                for ch in k.chars().take(40) {
                    if ch.is_control() {
                        path.extend(ch.escape_default());
                    } else {
                        path.push(ch);
                    }
                }
            }
            Frame::Object { key: None, .. } => {}
            Frame::Array { index } => path.push_str(&format!("[{index}]")),
        }
    }
    (!path.is_empty()).then_some(path)
}

/// The largest answer read from a source (16 MiB): a bigger one is an
/// error, so an endpoint that sends without end cannot exhaust memory.
pub const MAX_BODY: usize = 16 << 20;

/// The HTTP client shared by all sources: one connection pool, a semaphore
/// bounding the requests in flight, and a total timeout per request.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    limit: Arc<Semaphore>,
    /// Default total timeout of one request, from the moment it holds a
    /// permit: waiting behind other requests (a large deployment queues
    /// thousands per round) is not the endpoint's fault.
    pub timeout: Duration,
    /// TCP connect timeout (also that of port probes).
    pub connect_timeout: Duration,
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http")
            .field("timeout", &self.timeout)
            .field("available", &self.limit.available_permits())
            .finish()
    }
}

impl Http {
    pub fn new(connect_timeout: Duration, timeout: Duration, max_in_flight: usize) -> Self {
        let client = reqwest::Client::builder()
            // Never route through a proxy from the environment: every request
            // goes straight to the deployment's own addresses.
            .no_proxy()
            // Pigsty serves its APIs over plain HTTP or with its own CA, never
            // with public roots: skip loading the system's trust store (tens of
            // milliseconds at start-up). HTTPS endpoints need their CA added.
            .tls_certs_only(Vec::new())
            .connect_timeout(connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(4)
            .tcp_nodelay(true)
            .user_agent(concat!("pigsty-tui/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a reqwest client with static settings");
        Http {
            client,
            limit: Arc::new(Semaphore::new(max_in_flight.max(1))),
            timeout,
            connect_timeout,
        }
    }

    /// The underlying client, for streaming requests that must not hold a
    /// concurrency permit (watches, blocking queries).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// A concurrency permit, for work that is not an HTTP request (TCP probes).
    pub async fn permit(&self) -> tokio::sync::SemaphorePermit<'_> {
        self.limit
            .acquire()
            .await
            .expect("semaphore is never closed")
    }

    /// GET `url`, reading the whole body, within the default timeout.
    pub async fn get(
        &self,
        source: &str,
        url: &str,
        auth: Option<&Credentials>,
    ) -> Result<Response, SourceError> {
        let mut req = self.client.get(url);
        if let Some(c) = auth {
            req = req.basic_auth(&c.username, Some(&c.password));
        }
        self.send(source, &describe("GET", url), req, self.timeout, true)
            .await
    }

    /// POST a JSON body to `url`, reading the whole answer.
    pub async fn post_json(
        &self,
        source: &str,
        url: &str,
        body: &serde_json::Value,
    ) -> Result<Response, SourceError> {
        let req = self.client.post(url).json(body);
        self.send(source, &describe("POST", url), req, self.timeout, true)
            .await
    }

    /// Send a prepared request with a total `timeout`; `bounded` takes a
    /// concurrency permit (long polls pass `false`).
    pub async fn send(
        &self,
        source: &str,
        what: &str,
        req: reqwest::RequestBuilder,
        timeout: Duration,
        bounded: bool,
    ) -> Result<Response, SourceError> {
        let _permit = if bounded {
            Some(self.permit().await)
        } else {
            None
        };
        let work = async {
            let request = req.build().map_err(|e| from_reqwest(source, &e))?;
            if let Some(host) = request.url().host_str() {
                crate::net_guard::check_host(host)
                    .map_err(|why| SourceError::new(source, ErrorKind::Connect, why))?;
            }
            let mut resp = self
                .client
                .execute(request)
                .await
                .map_err(|e| from_reqwest(source, &e))?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let too_large = |seen: String| {
                SourceError::new(
                    source,
                    ErrorKind::Malformed,
                    format!(
                        "{what}: the answer is larger than {} MiB ({seen}); not read",
                        MAX_BODY >> 20
                    ),
                )
            };
            let declared = resp.content_length();
            if let Some(len) = declared
                && len > MAX_BODY as u64
            {
                return Err(too_large(format!("Content-Length {len}")));
            }
            // Sized once when the length is declared (a Prometheus answer
            // of a few MB would otherwise be copied as it doubles).
            let mut body = Vec::with_capacity(declared.unwrap_or(0) as usize);
            while let Some(chunk) = resp.chunk().await.map_err(|e| from_reqwest(source, &e))? {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(too_large(format!(
                        "more than {} bytes",
                        body.len() + chunk.len()
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Response {
                status,
                headers,
                body,
            })
        };
        // Boxed once the permit is held: reqwest's request future is a few
        // KB, and thousands of requests waiting for a permit (1,000
        // instances) would otherwise each carry one inline.
        match tokio::time::timeout(timeout, Box::pin(work)).await {
            Ok(r) => r,
            Err(_) => Err(SourceError::new(
                source,
                ErrorKind::Timeout,
                format!("timed out after {} ms ({what})", timeout.as_millis()),
            )),
        }
    }
}

/// `"GET /cluster"` from a method and a URL (scheme and host dropped).
pub fn describe(method: &str, url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    let path = path.split('?').next().unwrap_or("/");
    format!("{method} {path}")
}

/// A short, stable description of a reqwest error: "connection refused",
/// "timed out", … (the innermost cause, without the URL reqwest adds).
pub fn from_reqwest(source: &str, e: &reqwest::Error) -> SourceError {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_connect() {
        ErrorKind::Connect
    } else {
        ErrorKind::Other
    };
    SourceError::new(source, kind, error_chain_text(e))
}

/// The innermost meaningful message of an error chain, with I/O errors
/// spelled as in `io_error_text`.
pub fn error_chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut last = e.to_string();
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return io_error_text(io);
        }
        last = err.to_string();
        cur = err.source();
    }
    last
}

/// "connection refused", "connection reset", … for an I/O error.
pub fn io_error_text(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "connection refused".into(),
        K::ConnectionReset => "connection reset".into(),
        K::ConnectionAborted => "connection aborted".into(),
        K::TimedOut => "timed out".into(),
        K::HostUnreachable => "host unreachable".into(),
        K::NetworkUnreachable => "network unreachable".into(),
        K::AddrNotAvailable => "address not available".into(),
        K::UnexpectedEof => "connection closed before a complete answer".into(),
        _ => {
            // Drop the " (os error N)" suffix for readability.
            let s = e.to_string();
            match s.rsplit_once(" (os error") {
                Some((head, _)) => head.to_lowercase(),
                None => s,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_keeps_only_method_and_path() {
        assert_eq!(
            describe("GET", "http://127.0.0.11:8008/cluster"),
            "GET /cluster"
        );
        assert_eq!(
            describe("GET", "http://127.0.0.10:9090/api/v1/query?query=up"),
            "GET /api/v1/query"
        );
        assert_eq!(describe("GET", "http://127.0.0.10:9090"), "GET /");
    }

    #[test]
    fn malformed_json_names_source_and_position() {
        let e = parse_json::<serde_json::Value>(
            "prometheus http://127.0.0.10:9090",
            "GET /api/v1/query",
            br#"{"status":"success","#,
        )
        .unwrap_err();
        let s = e.to_string();
        assert!(
            s.starts_with("prometheus http://127.0.0.10:9090: malformed JSON at line 1 column"),
            "{s}"
        );
        assert_eq!(e.kind, ErrorKind::Malformed);
    }

    #[test]
    fn malformed_json_names_the_field() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct M {
            name: String,
            port: Option<u16>,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct C {
            members: Vec<M>,
        }
        let src = "patroni 127.0.0.11:8008";
        let err = |body: &str| parse_json::<C>(src, "GET /cluster", body.as_bytes()).unwrap_err();
        // A wrong type deep inside.
        let e = err(r#"{"members": [{"name": "a", "port": 1}, {"name": "b", "port": "x"}]}"#);
        assert!(
            e.detail
                .contains("(GET /cluster: members[1].port: invalid type"),
            "{e}"
        );
        // Over several lines, with escapes and a key that looks like JSON.
        let e = err("{\n  \"members\": [\n    {\"name\": \"a\\\"[,{\", \"port\": 70000}\n  ]\n}");
        assert!(e.detail.contains("members[0].port: invalid value"), "{e}");
        // A missing field names the object that lacks it.
        let e = err(r#"{"members": [{"name": "a"}, {"port": 1}]}"#);
        assert!(e.detail.contains("members[1]: missing field `name`"), "{e}");
        // A top-level problem has no path; a cut body names where it stopped.
        let e = err(r#""x""#);
        assert!(e.detail.contains("(GET /cluster: invalid type"), "{e}");
        let e = err(r#"{"members": [{"name": "a", "po"#);
        assert!(e.detail.contains("members[0].po"), "{e}");
        assert_eq!(json_path_at(b"{}", 7, 1), None);
    }

    #[test]
    fn non_success_status_is_an_error_with_the_request() {
        let r = Response {
            status: 503,
            headers: Default::default(),
            body: b"no DCS".to_vec(),
        };
        let e = r
            .require_success("patroni 127.0.0.11:8008", "GET /cluster")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "patroni 127.0.0.11:8008: GET /cluster: HTTP 503 Service Unavailable: no DCS"
        );
    }

    /// An endpoint that sends more than [`MAX_BODY`] (declared or not) is
    /// an error once the limit is passed; it is not read to the end.
    #[tokio::test]
    async fn answers_over_the_limit_are_refused() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = sent.clone();
        let server = tokio::spawn(async move {
            let mut n = 0;
            while let Ok((mut sock, _)) = l.accept().await {
                let mut req = [0u8; 1024];
                let _ = sock.read(&mut req).await;
                let head = if n == 0 {
                    "HTTP/1.1 200 OK\r\nContent-Length: 52428800\r\n\r\n"
                } else {
                    "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
                };
                n += 1;
                let _ = sock.write_all(head.as_bytes()).await;
                let block = vec![b'x'; 1 << 20];
                for _ in 0..50 {
                    if sock.write_all(&block).await.is_err() {
                        break;
                    }
                    counter.fetch_add(block.len(), std::sync::atomic::Ordering::Relaxed);
                }
            }
        });
        let http = Http::new(Duration::from_secs(1), Duration::from_secs(10), 4);
        let url = format!("http://127.0.0.1:{port}/cluster");
        let e = http.get("patroni x", &url, None).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "patroni x: GET /cluster: the answer is larger than 16 MiB (Content-Length 52428800); not read"
        );
        let e = http.get("patroni x", &url, None).await.unwrap_err();
        assert!(
            e.detail
                .starts_with("GET /cluster: the answer is larger than 16 MiB (more than 16"),
            "{e}"
        );
        assert_eq!(e.kind, ErrorKind::Malformed);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let total = sent.load(std::sync::atomic::Ordering::Relaxed);
        assert!(total < 80 << 20, "the server could send {total} bytes");
        server.abort();
    }

    #[test]
    fn io_errors_read_plainly() {
        let e = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(io_error_text(&e), "connection refused");
    }
}
