//! Port probes: a TCP connect to every TCP service of a node (an HTTP GET
//! where the service has a health path), with latency. UDP services are
//! reported as not probed.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::http::{Http, io_error_text};
use crate::model::Proto;
use crate::snapshot::Health;

/// One port to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    /// The node's address (shared by its targets).
    pub ip: std::sync::Arc<str>,
    pub port: u16,
    pub proto: Proto,
    pub http_health: Option<std::sync::Arc<str>>,
}

/// The outcome of probing one port (of the node whose probes these are).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeResult {
    pub port: u16,
    pub health: Health,
    /// Connect (or HTTP round-trip) time of a successful probe.
    pub latency: Option<Duration>,
    /// Why it is down (shared with the snapshots that show it).
    pub error: Option<std::sync::Arc<str>>,
    /// UDP: nothing was sent.
    pub not_probed: bool,
    /// HTTP status of the health check, when one was made.
    pub http_status: Option<u16>,
}

/// Whether a service's health path is cheap enough to GET on every probe.
/// `/metrics` is not: it is a whole scrape (60–120 KB from node_exporter,
/// pg_exporter, HAProxy; pg_exporter queries Postgres for it), which
/// Prometheus already does and reports as `up` (shown beside the probe).
/// Such ports are probed with a TCP connect.
pub fn is_liveness_path(path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    path.trim_end_matches('/') != "/metrics"
}

/// Probe one port within `timeout`.
pub async fn probe(http: &Http, t: &ProbeTarget, timeout: Duration) -> ProbeResult {
    let mut r = ProbeResult {
        port: t.port,
        health: Health::Unknown,
        latency: None,
        error: None,
        not_probed: false,
        http_status: None,
    };
    if t.proto == Proto::Udp {
        r.not_probed = true;
        r.error = Some("not probed (udp)".into());
        return r;
    }
    let started = Instant::now();
    if let Some(path) = &t.http_health {
        let url = format!("http://{}{path}", crate::model::host_port(&t.ip, t.port));
        // Boxed: most probes are plain connects, and the request future
        // would make every one of them (thousands at scale) as large.
        let source = format!("probe {}", crate::model::host_port(&t.ip, t.port));
        match Box::pin(http.get(&source, &url, None)).await {
            Ok(resp) => {
                r.http_status = Some(resp.status);
                r.latency = Some(started.elapsed());
                if resp.is_success() {
                    r.health = Health::Up;
                } else {
                    r.health = Health::Down;
                    r.error = Some(format!("GET {path}: HTTP {}", resp.status).into());
                }
            }
            Err(e) => {
                r.health = Health::Down;
                r.error = Some(e.detail.into());
            }
        }
        return r;
    }
    if let Err(why) = crate::net_guard::check_host(&t.ip) {
        r.health = Health::Down;
        r.error = Some(why.into());
        return r;
    }
    let _permit = http.permit().await;
    let addr = crate::model::host_port(&t.ip, t.port);
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(&addr)).await {
        Ok(Ok(stream)) => {
            r.latency = Some(started.elapsed());
            r.health = Health::Up;
            drop(stream);
        }
        Ok(Err(e)) => {
            r.health = Health::Down;
            r.error = Some(io_error_text(&e).into());
        }
        Err(_) => {
            r.health = Health::Down;
            r.error = Some(format!("timed out after {} ms", timeout.as_millis()).into());
        }
    }
    r
}

/// Probe every target of one node: the first TCP port alone, then the
/// others concurrently. When the first connect times out the host is not
/// answering (down, or its packets dropped): the other ports are reported
/// down without a try each, so a dead node costs one connect timeout and
/// one concurrency permit instead of one per port.
pub async fn probe_all(
    http: &Http,
    targets: &[ProbeTarget],
    timeout: Duration,
) -> Vec<ProbeResult> {
    let first = targets
        .iter()
        .position(|t| t.proto == Proto::Tcp && t.http_health.is_none());
    let Some(first) = first else {
        return futures::future::join_all(targets.iter().map(|t| probe(http, t, timeout))).await;
    };
    let head = probe(http, &targets[first], timeout).await;
    let host_silent = head.health == Health::Down
        && head
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("timed out"));
    futures::future::join_all(targets.iter().enumerate().map(|(i, t)| {
        let head = &head;
        async move {
            if i == first {
                return head.clone();
            }
            if host_silent && t.proto == Proto::Tcp {
                return ProbeResult {
                    port: t.port,
                    health: Health::Down,
                    latency: None,
                    error: Some(
                        format!(
                            "not probed: the host did not answer on port {} within {} ms",
                            head.port,
                            timeout.as_millis()
                        )
                        .into(),
                    ),
                    not_probed: false,
                    http_status: None,
                };
            }
            probe(http, t, timeout).await
        }
    }))
    .await
}

/// Whether none of the probed ports answered because the host did not
/// (its poller then backs off like a failing source).
pub fn host_silent(results: &[ProbeResult]) -> bool {
    let mut probed = results.iter().filter(|r| !r.not_probed).peekable();
    probed.peek().is_some()
        && probed.all(|r| {
            r.health == Health::Down
                && r.error.as_deref().is_some_and(|e| {
                    e.starts_with("timed out") || e.starts_with("not probed: the host")
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port whose accept queue is full: the kernel drops further SYNs,
    /// as for a host that is down.
    async fn black_hole() -> (tokio::net::TcpListener, u16, Vec<tokio::net::TcpStream>) {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let l = sock.listen(0).unwrap();
        let port = l.local_addr().unwrap().port();
        let mut fillers = Vec::new();
        for _ in 0..2 {
            let c = tokio::net::TcpStream::connect(("127.0.0.1", port));
            if let Ok(Ok(s)) = tokio::time::timeout(Duration::from_millis(200), c).await {
                fillers.push(s);
            }
        }
        (l, port, fillers)
    }

    #[tokio::test]
    async fn a_silent_host_costs_one_connect_timeout() {
        let http = Http::new(Duration::from_millis(200), Duration::from_millis(500), 8);
        let (_hole, silent, _fillers) = black_hole().await;
        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open_port = open.local_addr().unwrap().port();
        let timeout = Duration::from_millis(200);
        let t0 = Instant::now();
        let r = probe_all(
            &http,
            &[target(silent, Proto::Tcp), target(open_port, Proto::Tcp)],
            timeout,
        )
        .await;
        assert!(
            t0.elapsed() < Duration::from_millis(390),
            "{:?}",
            t0.elapsed()
        );
        assert_eq!(r[0].health, Health::Down);
        assert_eq!(r[0].error.as_deref(), Some("timed out after 200 ms"));
        assert_eq!(r[1].health, Health::Down);
        assert_eq!(
            r[1].error.as_deref(),
            Some(
                format!("not probed: the host did not answer on port {silent} within 200 ms")
                    .as_str()
            )
        );
        assert!(host_silent(&r));
        // A refused first port says the host is there: the others are probed.
        drop(_hole);
        let r = probe_all(
            &http,
            &[target(silent, Proto::Tcp), target(open_port, Proto::Tcp)],
            timeout,
        )
        .await;
        assert_eq!(r[0].error.as_deref(), Some("connection refused"));
        assert_eq!(r[1].health, Health::Up, "{:?}", r[1]);
        assert!(!host_silent(&r));
    }

    fn target(port: u16, proto: Proto) -> ProbeTarget {
        ProbeTarget {
            ip: "127.0.0.1".into(),
            port,
            proto,
            http_health: None,
        }
    }

    #[tokio::test]
    async fn tcp_up_down_and_udp() {
        let http = Http::new(Duration::from_millis(300), Duration::from_millis(500), 8);
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let up = probe(&http, &target(port, Proto::Tcp), Duration::from_millis(500)).await;
        assert_eq!(up.health, Health::Up, "{up:?}");
        assert!(up.latency.is_some());
        drop(l);
        let down = probe(&http, &target(port, Proto::Tcp), Duration::from_millis(500)).await;
        assert_eq!(down.health, Health::Down);
        assert_eq!(down.error.as_deref(), Some("connection refused"));
        let udp = probe(&http, &target(123, Proto::Udp), Duration::from_millis(500)).await;
        assert!(!host_silent(std::slice::from_ref(&udp)));
        assert!(!is_liveness_path("/metrics"));
        assert!(!is_liveness_path("/metrics/"));
        assert!(is_liveness_path("/-/ready"));
        assert!(is_liveness_path("/health"));
        assert!(udp.not_probed);
        assert_eq!(udp.health, Health::Unknown);
    }
}
