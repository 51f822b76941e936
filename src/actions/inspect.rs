//! Inspection: one script per node (as the database superuser) collects
//! facts in marked sections; [`evaluate`] turns them into pass / warn / fail
//! checks; [`InspectionReport`] renders as text, JSON or Markdown.
//!
//! Checks per node: `postgres` (reachable, `pg_is_in_recovery()`, compared
//! with Patroni's role), `replication` (`pg_stat_replication` on the primary,
//! `pg_stat_wal_receiver` on replicas), `slots` (inactive slots warn),
//! `disk` (`df` of `pg_data`: warn from 80 %, fail from 90 %; the inventory
//! variables `inspect_disk_warn_pct` / `inspect_disk_fail_pct` change them),
//! `load`
//! (`/proc/loadavg` against the CPU count), `memory` (`free`: warn below
//! 10 % available, fail below 5 %), `patroni` (`GET /health`), `ports`
//! (`ss -ltn`, filtered on the node to its IP and the wildcard addresses:
//! every declared TCP port of the node listening on one of them). A node that cannot be reached over SSH gets one
//! failing `ssh` check.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use super::catalog::{Catalog, HostSettings};
use crate::model::{Deployment, Proto, ServiceKind};
use crate::snapshot::Snapshot;
use crate::tasks::runner::{StepStatus, TaskState};
use crate::tasks::shell::quote;
use crate::tasks::ssh::Target;
use crate::tasks::{RemoteCommand, Step, Stream};

/// Result of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    Warn,
    Fail,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Pass => "pass",
            CheckStatus::Warn => "warn",
            CheckStatus::Fail => "fail",
        }
    }
}

/// One check on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub check: String,
    pub status: CheckStatus,
    pub detail: String,
}

fn check(name: &str, status: CheckStatus, detail: impl Into<String>) -> CheckResult {
    CheckResult {
        check: name.to_string(),
        status,
        detail: detail.into(),
    }
}

/// A port a node should listen on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectedPort {
    pub port: u16,
    pub name: String,
    /// Missing: fail (Postgres, Pgbouncer, Patroni, HAProxy services) or warn.
    pub critical: bool,
}

/// What is expected of one node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InspectHost {
    /// Instance name (the task's host name).
    pub host: String,
    pub cluster: String,
    pub ip: String,
    /// Other members of the cluster (replicas expected on a primary).
    pub peers: Vec<String>,
    /// Patroni's live role, when known.
    pub live_role: Option<String>,
    pub ports: Vec<ExpectedPort>,
    pub max_lag: u64,
    #[serde(skip)]
    pub settings: HostSettings,
    #[serde(skip)]
    pub target: Target,
}

/// Hosts inspected at once: read-only and light, so a whole fleet of
/// moderate size goes in one wave (50 hosts take about as long as the
/// slowest of them; see benches/ssh_fanout.sh).
pub const INSPECT_CONCURRENCY: usize = 64;

/// Most fact output kept per node for the checks (a node's facts are a
/// few KiB; `ss` of a node with thousands of sockets is the big part).
pub const FACTS_LIMIT: usize = 4 << 20;

/// An inspection of some nodes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inspection {
    /// Cluster name, or `all clusters`.
    pub scope: String,
    pub hosts: Vec<InspectHost>,
}

/// The ports of a node: its services (infrastructure and instance, TCP)
/// and its cluster's HAProxy service ports.
pub fn expected_ports(d: &Deployment, ip: &str) -> Vec<ExpectedPort> {
    let mut out: Vec<ExpectedPort> = Vec::new();
    let Some(node) = d.node(ip) else {
        return out;
    };
    let mut push = |port: u16, name: String, critical: bool| {
        if !out.iter().any(|p| p.port == port) {
            out.push(ExpectedPort {
                port,
                name,
                critical,
            });
        }
    };
    for s in node.services().filter(|s| s.proto == Proto::Tcp) {
        let critical = matches!(
            s.kind,
            ServiceKind::Postgres
                | ServiceKind::Pgbouncer
                | ServiceKind::Patroni
                | ServiceKind::HaproxyService
        );
        push(s.port, s.name.to_string(), critical);
    }
    if let Some(inst) = node.instance
        && let Some(c) = d.cluster(&inst.cluster)
    {
        for s in &c.services {
            push(s.port, format!("{}-{}", c.name, s.name), true);
        }
    }
    out
}

impl Inspection {
    /// Every member of `cluster`, or of every cluster.
    pub fn new(d: &Deployment, snap: &Snapshot, cluster: Option<&str>) -> Result<Self, String> {
        let clusters: Vec<&crate::model::Cluster> = match cluster {
            Some(name) => vec![
                d.cluster(name)
                    .ok_or_else(|| format!("no cluster '{name}' in the inventory"))?,
            ],
            None => d.clusters.iter().collect(),
        };
        let cat = Catalog::of(d);
        let mut hosts = Vec::new();
        for c in clusters {
            for i in &c.instances {
                let settings = cat.host(d, i);
                hosts.push(InspectHost {
                    host: i.name.clone(),
                    cluster: c.name.clone(),
                    ip: i.ip.clone(),
                    peers: c
                        .instances
                        .iter()
                        .filter(|x| x.name != i.name)
                        .map(|x| x.name.clone())
                        .collect(),
                    live_role: snap
                        .member(&i.name)
                        .and_then(|m| m.role.as_ref())
                        .and_then(|f| f.fresh())
                        .cloned(),
                    ports: expected_ports(d, &i.ip),
                    max_lag: settings.max_lag,
                    target: Target::from_instance(i),
                    settings,
                });
            }
        }
        if hosts.is_empty() {
            return Err("no instances to inspect".into());
        }
        Ok(Inspection {
            scope: cluster.unwrap_or("all clusters").to_string(),
            hosts,
        })
    }

    /// The fan-out step collecting the facts.
    pub fn step(&self) -> Step {
        let runs = self
            .hosts
            .iter()
            .map(|h| (h.target.clone(), script(h)))
            .collect();
        Step::fan_out_each("collect facts", runs)
            .concurrency(INSPECT_CONCURRENCY)
            .capture_stdout(FACTS_LIMIT)
            .timeout(std::time::Duration::from_secs(60))
    }

    /// The report from a finished task whose step `step` ran [`Self::step`].
    pub fn report(&self, state: &TaskState, step: usize) -> InspectionReport {
        let mut hosts = Vec::new();
        for h in &self.hosts {
            let hs = state
                .steps
                .get(step)
                .and_then(|s| s.hosts.iter().find(|x| x.host == h.host));
            let checks = match hs {
                Some(x) if x.status == StepStatus::Succeeded => match &x.stdout {
                    Some(out) if out.complete() => evaluate(h, &out.text()),
                    Some(out) => vec![check(
                        "facts",
                        CheckStatus::Fail,
                        format!(
                            "the facts were longer than {} KiB ({} bytes more; the task log has them all)",
                            FACTS_LIMIT >> 10,
                            out.cut
                        ),
                    )],
                    None => vec![check("facts", CheckStatus::Fail, "no facts collected")],
                },
                Some(x) => {
                    let err: Vec<String> = state
                        .output
                        .get(&h.host)
                        .map(|sb| {
                            sb.lines()
                                .filter(|l| l.step == step && l.stream == Stream::Stderr)
                                .map(|l| l.text.clone())
                                .collect()
                        })
                        .unwrap_or_default();
                    let why = x
                        .message
                        .clone()
                        .or_else(|| x.exit.as_ref().map(|e| e.to_string()))
                        .unwrap_or_else(|| x.status.to_string());
                    let mut detail = format!("could not collect facts: {why}");
                    if let Some(e) = err.iter().rev().find(|l| !l.trim().is_empty()) {
                        let _ = write!(detail, " ({})", e.trim());
                    }
                    vec![check("ssh", CheckStatus::Fail, detail)]
                }
                None => vec![check("ssh", CheckStatus::Fail, "not run")],
            };
            hosts.push(HostReport {
                host: h.host.clone(),
                cluster: h.cluster.clone(),
                ip: h.ip.clone(),
                checks,
            });
        }
        InspectionReport::new(&self.scope, hosts)
    }
}

/// The fact-collecting script of one node.
pub fn script(h: &InspectHost) -> RemoteCommand {
    let s = &h.settings;
    let host_opt = match &s.pg_localhost {
        Some(sock) => format!("-h {} ", quote(sock)),
        None => String::new(),
    };
    let scheme = if s.patroni_ssl { "https" } else { "http" };
    let url = format!("{scheme}://{}:{}/health", h.ip, s.patroni_port);
    let tcp = format!(
        "exec 3<>/dev/tcp/{}/{} && printf 'GET /health HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3",
        h.ip, s.patroni_port
    );
    let body = format!(
        r#"sec() {{ printf '@@ %s\n' "$1"; }}
end() {{ printf '@@rc %s\n' "$1"; }}
q() {{ psql {host_opt}-p {port} -d postgres -tAX -F '|' -c "$1" 2>&1; }}
sec role; r=$(q 'select pg_is_in_recovery()'); rc=$?; printf '%s\n' "$r"; end $rc
if [ "$rc" = 0 ] && [ "$r" = f ]; then
  sec replication; q "select application_name, coalesce(state, ''), coalesce(sync_state, ''), coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint from pg_stat_replication order by 1"; end $?
elif [ "$rc" = 0 ]; then
  sec receiver; q "select coalesce(status, ''), coalesce(sender_host, ''), coalesce(sender_port::text, ''), coalesce(slot_name, '') from pg_stat_wal_receiver"; end $?
fi
if [ "$rc" = 0 ]; then sec slots; q "select slot_name, slot_type, active from pg_replication_slots order by 1"; end $?; fi
sec disk; o=$(df -P -B1 {data} 2>&1); rc=$?; printf '%s\n' "$o" | tail -n 1; end $rc
sec load; cat /proc/loadavg; nproc; end $?
sec memory; free -b; end $?
sec patroni; if command -v curl >/dev/null 2>&1; then curl -sk -m 3 -o /dev/null -w '%{{http_code}}\n' {url}; else timeout 3 bash -c {tcp} | awk '{{print $2}}'; fi; end $?
sec ports; o=$(ss -ltnH 2>&1); rc=$?; printf '%s\n' "$o" | awk -v ip={ip} -v rc="$rc" 'rc != 0 {{print; next}} {{a = $4; sub(/:[0-9]+$/, "", a); gsub(/^\[|\]$/, "", a); sub(/%.*/, "", a); if (a == ip || a == "0.0.0.0" || a == "*" || a == "::") print}}'; end $rc
exit 0"#,
        port = s.pg_port,
        ip = quote(&h.ip),
        data = quote(&s.pg_data),
        url = quote(&url),
        tcp = quote(&tcp),
    );
    RemoteCommand::dbsu(body)
}

/// Sections of the script's output: name → (lines, exit code).
pub fn sections(out: &str) -> BTreeMap<String, (Vec<String>, Option<i32>)> {
    let mut map: BTreeMap<String, (Vec<String>, Option<i32>)> = BTreeMap::new();
    let mut cur: Option<String> = None;
    for line in out.lines() {
        if let Some(rc) = line.strip_prefix("@@rc ") {
            if let Some(c) = cur.take()
                && let Some(e) = map.get_mut(&c)
            {
                e.1 = rc.trim().parse().ok();
            }
        } else if let Some(name) = line.strip_prefix("@@ ") {
            let name = name.trim().to_string();
            map.insert(name.clone(), (Vec::new(), None));
            cur = Some(name);
        } else if let Some(c) = &cur
            && let Some(e) = map.get_mut(c)
        {
            e.0.push(line.to_string());
        }
    }
    map
}

fn first_line(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| l.trim())
        .find(|l| !l.is_empty())
        .unwrap_or("no output")
        .to_string()
}

fn bytes(b: u64) -> String {
    super::backup::human_bytes(Some(b))
}

/// Turn one node's collected facts into checks.
pub fn evaluate(h: &InspectHost, out: &str) -> Vec<CheckResult> {
    let sec = sections(out);
    let mut v = Vec::new();
    let get = |name: &str| sec.get(name).map(|(l, rc)| (l.as_slice(), *rc));

    // postgres
    match get("role") {
        Some((lines, Some(0))) => {
            let recovery = first_line(lines);
            let role = if recovery == "f" {
                "primary"
            } else {
                "replica"
            };
            let patroni_role = h.live_role.as_deref();
            let expect_primary = patroni_role.map(|r| r == "leader");
            match expect_primary {
                Some(p) if p != (role == "primary") => v.push(check(
                    "postgres",
                    CheckStatus::Warn,
                    format!(
                        "{role} (pg_is_in_recovery = {recovery}) but Patroni says {}",
                        patroni_role.unwrap_or("?")
                    ),
                )),
                _ => v.push(check(
                    "postgres",
                    CheckStatus::Pass,
                    format!("{role} (pg_is_in_recovery = {recovery})"),
                )),
            }
        }
        Some((lines, _)) => v.push(check(
            "postgres",
            CheckStatus::Fail,
            format!("not reachable: {}", first_line(lines)),
        )),
        None => v.push(check("postgres", CheckStatus::Fail, "no facts collected")),
    }

    // replication
    if let Some((lines, rc)) = get("replication") {
        if rc != Some(0) {
            v.push(check(
                "replication",
                CheckStatus::Warn,
                format!("pg_stat_replication: {}", first_line(lines)),
            ));
        } else {
            let mut streaming = Vec::new();
            let mut other = Vec::new();
            let mut lagging = Vec::new();
            let mut backups = Vec::new();
            let mut seen = BTreeSet::new();
            for l in lines.iter().filter(|l| !l.trim().is_empty()) {
                let f: Vec<&str> = l.split('|').collect();
                let name = f.first().copied().unwrap_or("").to_string();
                let state = f.get(1).copied().unwrap_or("");
                let lag: u64 = f.get(3).and_then(|s| s.trim().parse().ok()).unwrap_or(0);
                seen.insert(name.clone());
                // A running pg_basebackup shows up twice: its data copy
                // (state `backup`) and its WAL stream; neither is a replica.
                if state == "backup" || (name == "pg_basebackup" && !h.peers.contains(&name)) {
                    if !backups.contains(&name) {
                        backups.push(name);
                    }
                } else if state == "streaming" {
                    streaming.push(format!("{name} ({})", bytes(lag)));
                    if lag > h.max_lag {
                        lagging.push(format!("{name} lags {}", bytes(lag)));
                    }
                } else {
                    other.push(format!("{name} {state}"));
                }
            }
            let missing: Vec<&String> = h.peers.iter().filter(|p| !seen.contains(*p)).collect();
            let mut detail = if streaming.is_empty() && h.peers.is_empty() {
                "no replicas (single-member cluster)".to_string()
            } else if streaming.is_empty() {
                "no streaming replica".to_string()
            } else {
                format!("streaming: {}", streaming.join(", "))
            };
            if !other.is_empty() {
                let _ = write!(detail, "; not streaming: {}", other.join(", "));
            }
            if !missing.is_empty() {
                let m: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
                let _ = write!(detail, "; missing: {}", m.join(", "));
            }
            if !lagging.is_empty() {
                let _ = write!(detail, "; {}", lagging.join(", "));
            }
            if !backups.is_empty() {
                let _ = write!(detail, "; backup running: {}", backups.join(", "));
            }
            let status = if other.is_empty() && missing.is_empty() && lagging.is_empty() {
                CheckStatus::Pass
            } else {
                CheckStatus::Warn
            };
            v.push(check("replication", status, detail));
        }
    } else if let Some((lines, rc)) = get("receiver") {
        let row = lines.iter().find(|l| !l.trim().is_empty());
        match (rc, row) {
            (Some(0), Some(row)) => {
                let f: Vec<&str> = row.split('|').collect();
                let status = f.first().copied().unwrap_or("");
                let from = format!(
                    "{}:{}",
                    f.get(1).copied().unwrap_or("?"),
                    f.get(2).copied().unwrap_or("?")
                );
                let slot = f.get(3).copied().filter(|s| !s.is_empty());
                let detail = format!(
                    "WAL receiver {status} from {from}{}",
                    slot.map(|s| format!(" (slot {s})")).unwrap_or_default()
                );
                v.push(check(
                    "replication",
                    if status == "streaming" {
                        CheckStatus::Pass
                    } else {
                        CheckStatus::Warn
                    },
                    detail,
                ));
            }
            (Some(0), None) => v.push(check(
                "replication",
                CheckStatus::Fail,
                "replica without a WAL receiver (not replicating)",
            )),
            _ => v.push(check(
                "replication",
                CheckStatus::Warn,
                format!("pg_stat_wal_receiver: {}", first_line(lines)),
            )),
        }
    }

    // slots
    if let Some((lines, rc)) = get("slots") {
        if rc != Some(0) {
            v.push(check(
                "slots",
                CheckStatus::Warn,
                format!("pg_replication_slots: {}", first_line(lines)),
            ));
        } else {
            let rows: Vec<Vec<&str>> = lines
                .iter()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.split('|').collect())
                .collect();
            let inactive: Vec<&str> = rows
                .iter()
                .filter(|r| r.get(2).copied() != Some("t"))
                .map(|r| r[0])
                .collect();
            if rows.is_empty() {
                v.push(check("slots", CheckStatus::Pass, "no replication slots"));
            } else if inactive.is_empty() {
                v.push(check(
                    "slots",
                    CheckStatus::Pass,
                    format!("{} active", rows.len()),
                ));
            } else {
                v.push(check(
                    "slots",
                    CheckStatus::Warn,
                    format!(
                        "inactive: {} ({} of {})",
                        inactive.join(", "),
                        inactive.len(),
                        rows.len()
                    ),
                ));
            }
        }
    }

    // disk
    match get("disk") {
        Some((lines, Some(0))) => {
            let l = first_line(lines);
            let f: Vec<&str> = l.split_whitespace().collect();
            let pct: Option<u32> = f.get(4).and_then(|p| p.trim_end_matches('%').parse().ok());
            let total: Option<u64> = f.get(1).and_then(|s| s.parse().ok());
            let avail: Option<u64> = f.get(3).and_then(|s| s.parse().ok());
            match pct {
                Some(p) => {
                    let detail = format!(
                        "{}: {p}% used, {} free of {}",
                        h.settings.pg_data,
                        avail.map(bytes).unwrap_or_else(|| "?".into()),
                        total.map(bytes).unwrap_or_else(|| "?".into())
                    );
                    let st = if p >= h.settings.disk_fail_pct {
                        CheckStatus::Fail
                    } else if p >= h.settings.disk_warn_pct {
                        CheckStatus::Warn
                    } else {
                        CheckStatus::Pass
                    };
                    v.push(check("disk", st, detail));
                }
                None => v.push(check(
                    "disk",
                    CheckStatus::Warn,
                    format!("cannot read df: {l}"),
                )),
            }
        }
        Some((lines, _)) => v.push(check(
            "disk",
            CheckStatus::Fail,
            format!("df {}: {}", h.settings.pg_data, first_line(lines)),
        )),
        None => {}
    }

    // load
    if let Some((lines, _)) = get("load") {
        let load1: Option<f64> = lines
            .first()
            .and_then(|l| l.split_whitespace().next())
            .and_then(|s| s.parse().ok());
        let cpus: Option<f64> = lines.get(1).and_then(|s| s.trim().parse().ok());
        match (load1, cpus) {
            (Some(l), Some(c)) if c > 0.0 => {
                let per = l / c;
                let st = if per >= 2.0 {
                    CheckStatus::Warn
                } else {
                    CheckStatus::Pass
                };
                v.push(check(
                    "load",
                    st,
                    format!(
                        "load {} on {c} CPUs ({per:.2} per CPU)",
                        lines[0]
                            .split_whitespace()
                            .take(3)
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                ));
            }
            _ => v.push(check(
                "load",
                CheckStatus::Warn,
                format!("cannot read the load: {}", first_line(lines)),
            )),
        }
    }

    // memory
    if let Some((lines, _)) = get("memory") {
        let mem = lines.iter().find(|l| l.starts_with("Mem:"));
        let f: Vec<u64> = mem
            .map(|l| {
                l.split_whitespace()
                    .skip(1)
                    .filter_map(|s| s.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        // total used free shared buff/cache available
        match (f.first(), f.get(5).or(f.get(2))) {
            (Some(&total), Some(&avail)) if total > 0 => {
                let pct = avail as f64 * 100.0 / total as f64;
                let st = if pct < 5.0 {
                    CheckStatus::Fail
                } else if pct < 10.0 {
                    CheckStatus::Warn
                } else {
                    CheckStatus::Pass
                };
                v.push(check(
                    "memory",
                    st,
                    format!("{} available of {} ({pct:.0}%)", bytes(avail), bytes(total)),
                ));
            }
            _ => v.push(check(
                "memory",
                CheckStatus::Warn,
                format!("cannot read free: {}", first_line(lines)),
            )),
        }
    }

    // patroni
    if let Some((lines, _)) = get("patroni") {
        let code = first_line(lines);
        let (st, detail) = match code.as_str() {
            "200" => (CheckStatus::Pass, "GET /health: 200".to_string()),
            "503" => (
                CheckStatus::Fail,
                "GET /health: 503 (Patroni answers, Postgres is not running)".to_string(),
            ),
            "000" | "no output" => (
                CheckStatus::Fail,
                format!(
                    "Patroni does not answer on {}:{}",
                    h.ip, h.settings.patroni_port
                ),
            ),
            other => (CheckStatus::Fail, format!("GET /health: {other}")),
        };
        v.push(check("patroni", st, detail));
    }

    // ports
    if let Some((lines, rc)) = get("ports") {
        if rc != Some(0) {
            v.push(check(
                "ports",
                CheckStatus::Warn,
                format!("ss -ltn: {}", first_line(lines)),
            ));
        } else {
            let listening: BTreeSet<(String, u16)> = lines
                .iter()
                .filter_map(|l| {
                    let local = l.split_whitespace().nth(3)?;
                    let (addr, port) = local.rsplit_once(':')?;
                    let addr = addr.trim_start_matches('[').trim_end_matches(']');
                    let addr = addr.split('%').next().unwrap_or(addr);
                    Some((addr.to_string(), port.parse().ok()?))
                })
                .collect();
            let listens = |port: u16| {
                ["0.0.0.0", "*", "::", h.ip.as_str()]
                    .iter()
                    .any(|a| listening.contains(&(a.to_string(), port)))
            };
            let missing: Vec<&ExpectedPort> = h.ports.iter().filter(|p| !listens(p.port)).collect();
            if missing.is_empty() {
                v.push(check(
                    "ports",
                    CheckStatus::Pass,
                    format!("{} ports listening on {}", h.ports.len(), h.ip),
                ));
            } else {
                let names: Vec<String> = missing
                    .iter()
                    .map(|p| format!("{} ({})", p.port, p.name))
                    .collect();
                let st = if missing.iter().any(|p| p.critical) {
                    CheckStatus::Fail
                } else {
                    CheckStatus::Warn
                };
                v.push(check(
                    "ports",
                    st,
                    format!("not listening on {}: {}", h.ip, names.join(", ")),
                ));
            }
        }
    }
    v
}

/// The checks of one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostReport {
    pub host: String,
    pub cluster: String,
    pub ip: String,
    pub checks: Vec<CheckResult>,
}

impl HostReport {
    /// The worst status of its checks.
    pub fn status(&self) -> CheckStatus {
        self.checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(CheckStatus::Pass)
    }
}

/// Counts of each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
}

/// The whole inspection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InspectionReport {
    pub scope: String,
    /// RFC 3339, UTC.
    pub generated_at: String,
    pub status: CheckStatus,
    pub summary: Summary,
    pub hosts: Vec<HostReport>,
}

impl InspectionReport {
    pub fn new(scope: &str, hosts: Vec<HostReport>) -> Self {
        let mut summary = Summary::default();
        for c in hosts.iter().flat_map(|h| h.checks.iter()) {
            match c.status {
                CheckStatus::Pass => summary.pass += 1,
                CheckStatus::Warn => summary.warn += 1,
                CheckStatus::Fail => summary.fail += 1,
            }
        }
        let status = hosts
            .iter()
            .map(HostReport::status)
            .max()
            .unwrap_or(CheckStatus::Pass);
        InspectionReport {
            scope: scope.to_string(),
            generated_at: crate::snapshot::rfc3339(std::time::SystemTime::now()),
            status,
            summary,
            hosts,
        }
    }

    /// Whether any check failed.
    pub fn failed(&self) -> bool {
        self.summary.fail > 0
    }

    fn rows(&self) -> Vec<[String; 4]> {
        self.hosts
            .iter()
            .flat_map(|h| {
                h.checks.iter().map(move |c| {
                    [
                        h.host.clone(),
                        c.check.clone(),
                        c.status.as_str().to_string(),
                        c.detail.clone(),
                    ]
                })
            })
            .collect()
    }

    fn summary_line(&self) -> String {
        format!(
            "{}: {} pass, {} warn, {} fail",
            self.status.as_str(),
            self.summary.pass,
            self.summary.warn,
            self.summary.fail
        )
    }

    /// A text table.
    pub fn to_text(&self) -> String {
        let header = ["HOST", "CHECK", "STATUS", "DETAIL"];
        let rows = self.rows();
        let mut w = header.map(|h| h.len());
        for r in &rows {
            for i in 0..3 {
                w[i] = w[i].max(r[i].chars().count());
            }
        }
        let mut out = String::new();
        let _ = writeln!(out, "inspection of {} at {}", self.scope, self.generated_at);
        let line = |r: [&str; 4]| {
            format!(
                "{:<w0$}  {:<w1$}  {:<w2$}  {}",
                r[0],
                r[1],
                r[2],
                r[3],
                w0 = w[0],
                w1 = w[1],
                w2 = w[2]
            )
            .trim_end()
            .to_string()
        };
        let _ = writeln!(out, "{}", line(header));
        for r in &rows {
            let _ = writeln!(out, "{}", line([&r[0], &r[1], &r[2], &r[3]]));
        }
        let _ = writeln!(out, "{}", self.summary_line());
        out
    }

    /// A Markdown document (heading, summary, one table).
    pub fn to_markdown(&self) -> String {
        let esc = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let mut out = String::new();
        let _ = writeln!(out, "# Inspection of {}\n", esc(&self.scope));
        let _ = writeln!(out, "Generated at {}.\n", self.generated_at);
        let _ = writeln!(out, "**{}**\n", self.summary_line());
        let _ = writeln!(out, "| Host | Check | Status | Detail |");
        let _ = writeln!(out, "|---|---|---|---|");
        for r in self.rows() {
            let status = match r[2].as_str() {
                "fail" => "**fail**".to_string(),
                s => s.to_string(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                esc(&r[0]),
                esc(&r[1]),
                status,
                esc(&r[3])
            );
        }
        out
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("plain values");
        s.push('\n');
        s
    }
}
