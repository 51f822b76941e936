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
    pub name: String,
    pub ip: String,
    pub port: u16,
    pub proto: Proto,
    pub http_health: Option<String>,
}

/// The outcome of probing one port.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeResult {
    pub name: String,
    pub ip: String,
    pub port: u16,
    pub health: Health,
    /// Connect (or HTTP round-trip) time of a successful probe.
    pub latency: Option<Duration>,
    /// Why it is down.
    pub error: Option<String>,
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
        name: t.name.clone(),
        ip: t.ip.clone(),
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
        match http
            .get(
                &format!("probe {}", crate::model::host_port(&t.ip, t.port)),
                &url,
                None,
            )
            .await
        {
            Ok(resp) => {
                r.http_status = Some(resp.status);
                r.latency = Some(started.elapsed());
                if resp.is_success() {
                    r.health = Health::Up;
                } else {
                    r.health = Health::Down;
                    r.error = Some(format!("GET {path}: HTTP {}", resp.status));
                }
            }
            Err(e) => {
                r.health = Health::Down;
                r.error = Some(e.detail);
            }
        }
        return r;
    }
    if let Err(why) = crate::net_guard::check_host(&t.ip) {
        r.health = Health::Down;
        r.error = Some(why);
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
            r.error = Some(io_error_text(&e));
        }
        Err(_) => {
            r.health = Health::Down;
            r.error = Some(format!("timed out after {} ms", timeout.as_millis()));
        }
    }
    r
}

/// Probe every target of one node concurrently.
pub async fn probe_all(
    http: &Http,
    targets: &[ProbeTarget],
    timeout: Duration,
) -> Vec<ProbeResult> {
    futures::future::join_all(targets.iter().map(|t| probe(http, t, timeout))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(port: u16, proto: Proto) -> ProbeTarget {
        ProbeTarget {
            name: "x".into(),
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
        assert!(!is_liveness_path("/metrics"));
        assert!(!is_liveness_path("/metrics/"));
        assert!(is_liveness_path("/-/ready"));
        assert!(is_liveness_path("/health"));
        assert!(udp.not_probed);
        assert_eq!(udp.health, Health::Unknown);
    }
}
