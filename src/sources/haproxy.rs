//! HAProxy's stats page as CSV (`GET /;csv`): which backend servers each
//! service (a `listen` section per port) routes to, and whether they are up.

use serde::Serialize;

use super::http::{ErrorKind, Http, SourceError};
use crate::model::Credentials;

/// One server of one proxy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerStat {
    /// Server name: the instance name in Pigsty (`pg-test-1`).
    pub name: String,
    /// `ip:port` when HAProxy shows it.
    pub addr: Option<String>,
    /// UP | DOWN | NOLB | MAINT | DRAIN | `UP 1/3` | `no check` | …
    pub status: String,
    /// Active (not backup) server.
    pub active: bool,
    pub weight: u32,
    /// `L7OK`, `L7STS`, `L4CON`, …
    pub check_status: Option<String>,
    pub check_desc: Option<String>,
    /// Current sessions.
    pub sessions: u64,
    /// Seconds since the last status change.
    pub last_change_s: Option<u64>,
}

impl ServerStat {
    /// Up enough to take new connections (`UP`, or `UP` going down).
    pub fn is_up(&self) -> bool {
        self.status == "UP" || self.status.starts_with("UP ") || self.status == "no check"
    }
}

/// One proxy (a `listen` section, e.g. `pg-test-primary`) with its servers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProxyStat {
    pub name: String,
    /// Status of the BACKEND row (UP when any server is up).
    pub backend_status: Option<String>,
    /// Whether a FRONTEND row exists (it listens).
    pub frontend: bool,
    pub mode: Option<String>,
    pub servers: Vec<ServerStat>,
}

impl ProxyStat {
    /// Servers that take traffic: up, and active unless no active one is up
    /// (then the backups serve).
    pub fn routes_to(&self) -> Vec<&ServerStat> {
        let up: Vec<&ServerStat> = self.servers.iter().filter(|s| s.is_up()).collect();
        if up.iter().any(|s| s.active) {
            up.into_iter().filter(|s| s.active).collect()
        } else {
            up
        }
    }
}

/// Parse the stats CSV (`# pxname,svname,…` header then rows).
pub fn parse_csv(source: &str, text: &str) -> Result<Vec<ProxyStat>, SourceError> {
    let bad = |m: String| SourceError::new(source, ErrorKind::Malformed, format!("stats CSV: {m}"));
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().ok_or_else(|| bad("empty answer".into()))?;
    let header = header
        .strip_prefix("# ")
        .or_else(|| header.strip_prefix('#'))
        .ok_or_else(|| bad(format!("no '# pxname,…' header but {:?}", truncate(header))))?;
    let cols: Vec<&str> = header.split(',').collect();
    let col = |n: &str| cols.iter().position(|c| *c == n);
    let (px, sv, st, ty) = match (col("pxname"), col("svname"), col("status"), col("type")) {
        (Some(a), Some(b), Some(c), Some(d)) => (a, b, c, d),
        _ => return Err(bad("header lacks pxname, svname, status or type".into())),
    };
    let opt = |row: &[&str], name: &str| -> Option<String> {
        col(name)
            .and_then(|i| row.get(i))
            .filter(|v| !v.is_empty())
            .map(|v| v.to_string())
    };
    // Every row must reach the last of the columns read by index (the
    // header may list them in any order).
    let needed = px.max(sv).max(st).max(ty) + 1;
    let mut out: Vec<ProxyStat> = Vec::new();
    for (n, line) in lines.enumerate() {
        let row: Vec<&str> = line.split(',').collect();
        if row.len() < needed {
            return Err(bad(format!("row {} has {} fields", n + 2, row.len())));
        }
        let pxname = row[px].to_string();
        let idx = match out.iter().position(|p| p.name == pxname) {
            Some(i) => i,
            None => {
                out.push(ProxyStat {
                    name: pxname.clone(),
                    backend_status: None,
                    frontend: false,
                    mode: None,
                    servers: Vec::new(),
                });
                out.len() - 1
            }
        };
        let p = &mut out[idx];
        if p.mode.is_none() {
            p.mode = opt(&row, "mode");
        }
        match row[ty] {
            "0" => p.frontend = true,
            "1" => p.backend_status = Some(row[st].to_string()),
            "2" => p.servers.push(ServerStat {
                name: row[sv].to_string(),
                addr: opt(&row, "addr"),
                status: row[st].to_string(),
                active: opt(&row, "act").as_deref() == Some("1"),
                weight: opt(&row, "weight")
                    .and_then(|w| w.parse().ok())
                    .unwrap_or(0),
                check_status: opt(&row, "check_status"),
                check_desc: opt(&row, "check_desc"),
                sessions: opt(&row, "scur").and_then(|w| w.parse().ok()).unwrap_or(0),
                last_change_s: opt(&row, "lastchg").and_then(|w| w.parse().ok()),
            }),
            _ => {}
        }
    }
    Ok(out)
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

/// Paths that serve the CSV, tried in order (Pigsty: `stats uri /`).
pub const CSV_PATHS: [&str; 3] = ["/;csv", "/stats;csv", "/haproxy;csv"];

/// The stats poller of one HAProxy admin endpoint.
#[derive(Debug)]
pub struct HaproxyPoller {
    pub ip: String,
    pub port: u16,
    name: String,
    http: Http,
    auth: Option<Credentials>,
    /// The path that answered last time.
    path: usize,
}

impl HaproxyPoller {
    pub fn new(ip: &str, port: u16, http: Http, auth: Option<Credentials>) -> Self {
        HaproxyPoller {
            name: format!("haproxy {}", crate::model::host_port(ip, port)),
            ip: ip.to_string(),
            port,
            http,
            auth,
            path: 0,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub async fn poll(&mut self) -> Result<Vec<ProxyStat>, SourceError> {
        let mut last_err = None;
        for k in 0..CSV_PATHS.len() {
            let i = (self.path + k) % CSV_PATHS.len();
            let path = CSV_PATHS[i];
            let url = format!(
                "http://{}{path}",
                crate::model::host_port(&self.ip, self.port)
            );
            let r = self.http.get(&self.name, &url, self.auth.as_ref()).await?;
            if let Err(e) = r.check(&self.name, &format!("GET {path}")) {
                last_err = Some(e);
                continue;
            }
            let text = String::from_utf8_lossy(&r.body);
            if !text.starts_with('#') {
                last_err = Some(SourceError::new(
                    &self.name,
                    ErrorKind::Malformed,
                    format!("GET {path}: not the stats CSV"),
                ));
                continue;
            }
            self.path = i;
            return parse_csv(&self.name, &text);
        }
        Err(last_err.expect("at least one path tried"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::fixture;

    const SRC: &str = "haproxy 127.0.0.11:9101";

    #[test]
    fn real_csv() {
        let text = String::from_utf8(fixture("haproxy/stats.csv")).unwrap();
        let p = parse_csv(SRC, &text).unwrap();
        let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "stats",
                "pg-test-primary",
                "pg-test-replica",
                "pg-test-default",
                "pg-test-offline"
            ]
        );
        let primary = &p[1];
        assert!(primary.frontend);
        assert_eq!(primary.mode.as_deref(), Some("tcp"));
        assert_eq!(primary.backend_status.as_deref(), Some("UP"));
        assert_eq!(primary.servers.len(), 3);
        assert!(primary.servers[0].is_up());
        assert_eq!(primary.servers[0].check_status.as_deref(), Some("L7OK"));
        assert_eq!(primary.servers[1].status, "DOWN");
        assert_eq!(primary.servers[1].check_status.as_deref(), Some("L7STS"));
        let to: Vec<&str> = primary
            .routes_to()
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(to, ["pg-test-1"]);
        // The primary is a backup of the replica service: not used while a
        // replica is up.
        let replica = &p[2];
        assert!(!replica.servers[0].active);
        let to: Vec<&str> = replica
            .routes_to()
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(to, ["pg-test-2", "pg-test-3"]);
        let mut only_backup = replica.clone();
        for s in only_backup.servers.iter_mut().filter(|s| s.active) {
            s.status = "DOWN".into();
        }
        let to: Vec<&str> = only_backup
            .routes_to()
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(to, ["pg-test-1"]);
    }

    #[test]
    fn not_csv() {
        let e = parse_csv(SRC, "<html>").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("haproxy 127.0.0.11:9101: stats CSV: no"),
            "{e}"
        );
        assert!(parse_csv(SRC, "").is_err());
    }
}
