//! Sessions of an instance (`pg_stat_activity`) over SSH as the database
//! superuser, and cancelling / terminating a backend.
//!
//! The query runs through `psql -X -At` on the instance's unix socket
//! (`pg_localhost`, default `/var/run/postgresql`; port `pg_port`) with
//! fields separated by `\x1f` and records by `\x1e`; only client backends
//! other than its own are listed, longest running first. Queries are cut
//! to [`QUERY_CHARS`] characters with newlines folded into spaces.
//!
//! [`cancel_backend`] and [`terminate_backend`] mutate: the caller must
//! have the operator confirm; both refuse in read-only mode and append a
//! start and a finish record to the audit log.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::events::Event;
use crate::model::{Instance, var_str};
use crate::tasks::RemoteCommand;
use crate::tasks::audit::{AuditCommand, AuditLog, AuditRecord};
use crate::tasks::shell::quote;
use crate::tasks::ssh::{SshPool, Target};

/// Characters of each query kept.
pub const QUERY_CHARS: usize = 300;

/// One session of `pg_stat_activity`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionRow {
    pub pid: i32,
    pub user: String,
    pub database: String,
    pub application: String,
    pub client: String,
    /// active, idle, idle in transaction, …
    pub state: String,
    pub wait_event_type: Option<String>,
    pub wait_event: Option<String>,
    /// Seconds since the current (or last) query started.
    pub query_seconds: Option<f64>,
    /// Seconds since the transaction started (None outside a transaction).
    pub xact_seconds: Option<f64>,
    /// `pg_blocking_pids(pid)`: who this session waits for.
    pub blocked_by: Vec<i32>,
    pub query: String,
}

impl SessionRow {
    pub fn is_waiting(&self) -> bool {
        !self.blocked_by.is_empty()
    }
}

/// Pids that block at least one other session, in `rows`.
pub fn blocking_pids(rows: &[SessionRow]) -> Vec<i32> {
    let mut out: Vec<i32> = rows
        .iter()
        .flat_map(|r| r.blocked_by.iter().copied())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Why listing or signalling failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivityError {
    /// Refused: the console is read-only.
    ReadOnly,
    /// SSH or psql failed.
    Remote(String),
    /// Output not understood.
    Parse(String),
}

impl fmt::Display for ActivityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActivityError::ReadOnly => {
                f.write_str("refused: the console is read-only (--readonly)")
            }
            ActivityError::Remote(e) => f.write_str(e),
            ActivityError::Parse(e) => write!(f, "unexpected psql output: {e}"),
        }
    }
}

impl std::error::Error for ActivityError {}

const SQL: &str = "SELECT pid, coalesce(usename, ''), coalesce(datname, ''), \
coalesce(application_name, ''), coalesce(host(client_addr), 'local'), coalesce(state, ''), \
coalesce(wait_event_type, ''), coalesce(wait_event, ''), \
coalesce(round(extract(epoch FROM clock_timestamp() - query_start)::numeric, 3)::text, ''), \
coalesce(round(extract(epoch FROM clock_timestamp() - xact_start)::numeric, 3)::text, ''), \
array_to_string(pg_blocking_pids(pid), ','), \
translate(left(coalesce(query, ''), QCHARS), E'\\n\\r\\t\\x1f\\x1e', '     ') \
FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' \
ORDER BY coalesce(xact_start, query_start) NULLS LAST, pid";

/// `psql` connection options for the instance (socket dir and port).
fn psql_prefix(i: &Instance) -> String {
    let sock = var_str(&i.vars, "pg_localhost")
        .map(|s| s.into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/var/run/postgresql".into());
    format!(
        "psql -X -At -v ON_ERROR_STOP=1 -h {} -p {} -d postgres",
        quote(&sock),
        i.pg_port()
    )
}

/// The remote script listing sessions.
pub fn activity_script(i: &Instance) -> String {
    let sql = SQL.replace("QCHARS", &QUERY_CHARS.to_string());
    format!(
        "{} -F $'\\x1f' -R $'\\x1e' -c {}",
        psql_prefix(i),
        quote(&sql)
    )
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// Parse the output of [`activity_script`].
pub fn parse_activity(out: &str) -> Result<Vec<SessionRow>, ActivityError> {
    let mut rows = Vec::new();
    for rec in out.split('\x1e') {
        let rec = rec.trim_matches(|c| c == '\n' || c == '\r');
        if rec.is_empty() {
            continue;
        }
        let f: Vec<&str> = rec.split('\x1f').collect();
        if f.len() != 12 {
            return Err(ActivityError::Parse(format!(
                "{} fields in {rec:?}, want 12",
                f.len()
            )));
        }
        let pid = f[0]
            .trim()
            .parse()
            .map_err(|_| ActivityError::Parse(format!("pid {:?}", f[0])))?;
        let secs = |s: &str| s.trim().parse::<f64>().ok();
        rows.push(SessionRow {
            pid,
            user: f[1].into(),
            database: f[2].into(),
            application: f[3].into(),
            client: f[4].into(),
            state: f[5].into(),
            wait_event_type: opt(f[6]),
            wait_event: opt(f[7]),
            query_seconds: secs(f[8]),
            xact_seconds: secs(f[9]),
            blocked_by: f[10]
                .split(',')
                .filter_map(|p| p.trim().parse().ok())
                .collect(),
            query: f[11].trim_end().into(),
        });
    }
    Ok(rows)
}

async fn run(pool: &SshPool, target: &Target, script: String) -> Result<String, ActivityError> {
    let cmd = RemoteCommand::dbsu(script);
    let out = tokio::time::timeout(Duration::from_secs(30), pool.output(target, &cmd))
        .await
        .map_err(|_| ActivityError::Remote(format!("{}: psql timed out after 30s", target.name)))?
        .map_err(|e| ActivityError::Remote(e.to_string()))?;
    if !out.status.success() {
        return Err(ActivityError::Remote(format!(
            "{}: psql failed ({}): {}",
            target.name,
            out.status,
            out.stderr_str().trim()
        )));
    }
    Ok(out.stdout_str())
}

/// The sessions of the instance, longest running transaction first.
pub async fn list(
    pool: &SshPool,
    target: &Target,
    i: &Instance,
) -> Result<Vec<SessionRow>, ActivityError> {
    parse_activity(&run(pool, target, activity_script(i)).await?)
}

/// Which signal a backend gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// `pg_cancel_backend`: the running query is cancelled, the session stays.
    Cancel,
    /// `pg_terminate_backend`: the session ends (its transaction rolls back).
    Terminate,
}

impl Signal {
    /// The SQL function sending it.
    pub fn function(self) -> &'static str {
        match self {
            Signal::Cancel => "pg_cancel_backend",
            Signal::Terminate => "pg_terminate_backend",
        }
    }

    /// `cancel backend` / `terminate backend`.
    pub fn verb(self) -> &'static str {
        match self {
            Signal::Cancel => "cancel backend",
            Signal::Terminate => "terminate backend",
        }
    }
}

/// `SELECT pg_cancel_backend(PID)` / `SELECT pg_terminate_backend(PID)`.
pub fn signal_sql(signal: Signal, pid: i32) -> String {
    format!("SELECT {}({pid})", signal.function())
}

/// The remote script (run as the dbsu) signalling `pid` on the instance:
/// `psql` on its unix socket; it fails when the function returns false
/// (no such backend any more) as well as when `psql` fails.
pub fn signal_script(i: &Instance, signal: Signal, pid: i32) -> String {
    let sql = signal_sql(signal, pid);
    format!(
        "r=$({} -c {}) || exit $?; [ \"$r\" = t ] || {{ echo \"{}({pid}) returned $r: no such backend\" >&2; exit 1; }}; echo \"$r\"",
        psql_prefix(i),
        quote(&sql),
        signal.function(),
    )
}

/// What a cancel / terminate did.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalOutcome {
    /// What `pg_cancel_backend` / `pg_terminate_backend` returned (false:
    /// no such backend any more).
    pub signalled: bool,
    /// An `action` event for the timeline.
    pub event: Event,
}

/// Who acts, and where the audit goes.
#[derive(Debug, Clone)]
pub struct Actor<'a> {
    pub who: &'a str,
    pub readonly: bool,
    pub audit: &'a AuditLog,
}

/// `pg_cancel_backend(pid)`: cancel the backend's current query.
pub async fn cancel_backend(
    pool: &SshPool,
    target: &Target,
    i: &Instance,
    pid: i32,
    actor: &Actor<'_>,
) -> Result<SignalOutcome, ActivityError> {
    signal(pool, target, i, pid, actor, Signal::Cancel).await
}

/// `pg_terminate_backend(pid)`: end the backend's session.
pub async fn terminate_backend(
    pool: &SshPool,
    target: &Target,
    i: &Instance,
    pid: i32,
    actor: &Actor<'_>,
) -> Result<SignalOutcome, ActivityError> {
    signal(pool, target, i, pid, actor, Signal::Terminate).await
}

async fn signal(
    pool: &SshPool,
    target: &Target,
    i: &Instance,
    pid: i32,
    actor: &Actor<'_>,
    sig: Signal,
) -> Result<SignalOutcome, ActivityError> {
    if actor.readonly {
        return Err(ActivityError::ReadOnly);
    }
    let (func, action) = (sig.function(), sig.verb());
    let sql = signal_sql(sig, pid);
    let script = format!("{} -c {}", psql_prefix(i), quote(&sql));
    let started = SystemTime::now();
    let ms = started
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let mut rec = AuditRecord {
        ts: crate::snapshot::rfc3339(started),
        event: "start".into(),
        id: format!("activity-{ms}-{pid}"),
        who: actor.who.to_string(),
        action: format!("{action} {pid}"),
        target: i.name.clone(),
        hosts: vec![target.name.clone()],
        commands: vec![AuditCommand {
            step: action.to_string(),
            host: target.name.clone(),
            user: target.dbsu.clone(),
            command: sql.clone(),
        }],
        status: "running".into(),
        duration_ms: None,
        log: String::new(),
        steps: Vec::new(),
    };
    let _ = actor.audit.append(&rec);
    let res = run(pool, target, script).await;
    rec.ts = crate::snapshot::rfc3339(SystemTime::now());
    rec.event = "finish".into();
    rec.duration_ms = Some(started.elapsed().unwrap_or_default().as_millis() as u64);
    rec.status = if res.is_ok() { "succeeded" } else { "failed" }.into();
    let _ = actor.audit.append(&rec);
    let out = res?;
    let signalled = match out.trim() {
        "t" => true,
        "f" => false,
        other => return Err(ActivityError::Parse(format!("{func} returned {other:?}"))),
    };
    let msg = format!(
        "{action} {pid} on {}: {}",
        i.name,
        if signalled { "done" } else { "no such backend" }
    );
    Ok(SignalOutcome {
        signalled,
        event: Event::action(actor.who, Some(&i.cluster), Some(&i.name), msg),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rows() {
        let out = "101\x1fpostgres\x1fpostgres\x1fpsql\x1flocal\x1fidle in transaction\x1fClient\x1fClientRead\x1f12.500\x1f13.000\x1f\x1fUPDATE t SET v = 1 WHERE id = 1\x1e\
102\x1fdbuser_dba\x1fmeta\x1fpsql\x1f127.0.0.1\x1factive\x1fLock\x1ftransactionid\x1f3.2\x1f3.2\x1f101\x1fUPDATE t SET v = 2 WHERE id = 1\x1e";
        let rows = parse_activity(out).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].pid, 101);
        assert_eq!(rows[0].state, "idle in transaction");
        assert_eq!(rows[0].xact_seconds, Some(13.0));
        assert!(rows[0].blocked_by.is_empty());
        assert_eq!(rows[1].blocked_by, vec![101]);
        assert_eq!(rows[1].wait_event.as_deref(), Some("transactionid"));
        assert_eq!(blocking_pids(&rows), vec![101]);
        assert!(parse_activity("1\x1f2").is_err());
        assert_eq!(parse_activity("").unwrap(), vec![]);
    }

    #[test]
    fn signal_scripts() {
        assert_eq!(
            signal_sql(Signal::Terminate, 42),
            "SELECT pg_terminate_backend(42)"
        );
        assert_eq!(signal_sql(Signal::Cancel, 7), "SELECT pg_cancel_backend(7)");
        let d = crate::inventory::parse(
            &crate::inventory::generate_inventory(1, 1),
            std::path::Path::new("generated.yml"),
        )
        .expect("generated inventory parses");
        let i = &d.clusters[0].instances[0];
        let s = signal_script(i, Signal::Terminate, 42);
        assert!(
            s.starts_with("r=$(psql -X -At -v ON_ERROR_STOP=1 -h /var/run/postgresql -p 5432 -d postgres -c 'SELECT pg_terminate_backend(42)') || exit $?; "),
            "{s}"
        );
        assert!(s.contains("[ \"$r\" = t ] || {"), "{s}");
    }
}
