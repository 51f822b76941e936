//! Pre-checks on the live snapshot, with Patroni's rules for a healthy
//! failover candidate: its Patroni answers, Postgres runs, it is not tagged
//! `nofailover` (or `failover_priority: 0`), it lags at most
//! `maximum_lag_on_failover` (Pigsty's `pg_rpo`, default 1 MiB) and it is on
//! the leader's timeline. Every function returns reasons worded for the
//! operator, each naming the member concerned.

use crate::model::{Cluster, DeclaredRole};
use crate::snapshot::{ClusterLive, MemberLive};

/// Patroni states of a member whose Postgres runs (`running`; Patroni 3.0.3+
/// reports streaming replicas as `streaming`).
pub const RUNNING_STATES: &[&str] = &["running", "streaming"];

/// The member's fresh state, if known.
pub fn state(m: &MemberLive) -> Option<&str> {
    m.state.as_ref().and_then(|f| f.fresh()).map(String::as_str)
}

/// Its Patroni answered in the last poll.
pub fn is_reachable(m: &MemberLive) -> bool {
    m.reachable == Some(true)
}

/// Reachable and Postgres running.
pub fn is_running(m: &MemberLive) -> bool {
    is_reachable(m) && state(m).is_some_and(|s| RUNNING_STATES.contains(&s))
}

/// Tagged `nofailover: true` or `failover_priority: 0`.
pub fn is_nofailover(m: &MemberLive) -> bool {
    let Some(tags) = &m.tags else {
        return false;
    };
    let truthy = |v: &serde_json::Value| match v {
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::String(s) => {
            matches!(s.to_ascii_lowercase().as_str(), "true" | "yes" | "on")
        }
        _ => false,
    };
    tags.get("nofailover").is_some_and(truthy)
        || tags
            .get("failover_priority")
            .and_then(|v| v.as_i64())
            .is_some_and(|p| p <= 0)
}

fn timeline(m: &MemberLive) -> Option<u64> {
    m.timeline.as_ref().and_then(|f| f.fresh()).copied()
}

fn lag(m: &MemberLive) -> Option<u64> {
    m.lag_bytes.as_ref().and_then(|f| f.fresh()).copied()
}

/// Why a member is not running, in a few words.
pub fn not_running_reason(m: &MemberLive) -> String {
    match (m.reachable, state(m)) {
        (Some(false), _) => format!(
            "its Patroni does not answer{}",
            m.error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        ),
        (None, _) => "its Patroni has not been polled".into(),
        (Some(true), Some(s)) => format!("its state is '{s}'"),
        (Some(true), None) => "its state is unknown".into(),
    }
}

/// The running leader of the cluster, or why there is none.
pub fn healthy_leader(cl: &ClusterLive) -> Result<&MemberLive, String> {
    let Some(name) = cl.leader() else {
        return Err(format!("{} has no leader", cl.name));
    };
    let Some(m) = cl.member(name) else {
        return Err(format!("{}: leader {name} is not a known member", cl.name));
    };
    if !is_running(m) {
        return Err(format!(
            "{}: leader {name} is not healthy: {}",
            cl.name,
            not_running_reason(m)
        ));
    }
    if !m.is_leader() {
        return Err(format!(
            "{}: {name} holds the leader key but says it is {}",
            cl.name,
            m.role_str()
        ));
    }
    Ok(m)
}

/// Whether the cluster is paused (`None`: unknown).
pub fn paused(cl: &ClusterLive) -> Option<bool> {
    cl.paused.as_ref().and_then(|f| f.fresh()).copied()
}

/// Problems (refusals) and warnings about `name` as failover / switchover
/// candidate. `leader` is the healthy leader, when there is one.
pub fn candidate_problems(
    cl: &ClusterLive,
    name: &str,
    leader: Option<&MemberLive>,
    max_lag: u64,
) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let Some(m) = cl.member(name) else {
        let known: Vec<&str> = cl.members.iter().map(|m| m.name.as_str()).collect();
        problems.push(format!(
            "candidate {name} is not a member of {} (members: {})",
            cl.name,
            known.join(", ")
        ));
        return (problems, warnings);
    };
    if leader.is_some_and(|l| l.name == name) {
        problems.push(format!("candidate {name} is already the leader"));
        return (problems, warnings);
    }
    if !is_running(m) {
        problems.push(format!(
            "candidate {name} is not running: {}",
            not_running_reason(m)
        ));
        return (problems, warnings);
    }
    if m.is_leader() {
        problems.push(format!("candidate {name} says it is {}", m.role_str()));
    }
    if is_nofailover(m) {
        problems.push(format!(
            "candidate {name} is tagged nofailover (tags: {})",
            m.tags.as_ref().map(|t| t.to_string()).unwrap_or_default()
        ));
    }
    match lag(m) {
        Some(l) if l > max_lag => problems.push(format!(
            "candidate {name} lags {l} bytes behind the leader, more than maximum_lag_on_failover ({max_lag} bytes)"
        )),
        Some(_) => {}
        None => warnings.push(format!("replication lag of {name} is unknown")),
    }
    let want = leader
        .and_then(timeline)
        .or_else(|| cl.timeline.as_ref().and_then(|f| f.fresh()).copied());
    match (timeline(m), want) {
        (Some(t), Some(w)) if t != w => problems.push(format!(
            "candidate {name} is on timeline {t}, the {} on timeline {w}",
            if leader.is_some() {
                "leader is"
            } else {
                "cluster is"
            }
        )),
        (None, _) => warnings.push(format!("timeline of {name} is unknown")),
        _ => {}
    }
    if m.streaming == Some(false) {
        warnings.push(format!(
            "{name} does not show as streaming in the leader's pg_stat_replication"
        ));
    }
    (problems, warnings)
}

/// The best healthy candidate: declared replicas before offline / delayed /
/// standby ones, then the least lag, then the name.
pub fn choose_candidate(
    cl: &ClusterLive,
    declared: &Cluster,
    leader: &MemberLive,
    max_lag: u64,
) -> Result<String, Vec<String>> {
    let mut ok: Vec<(u8, u64, &str)> = Vec::new();
    let mut why = Vec::new();
    for m in cl.members.iter().filter(|m| m.name != leader.name) {
        let (problems, _) = candidate_problems(cl, &m.name, Some(leader), max_lag);
        if problems.is_empty() {
            let decl = declared.instances.iter().find(|i| i.name == m.name);
            let rank = match decl {
                Some(i) if i.role == DeclaredRole::Replica && !i.offline_query => 0,
                Some(i) if i.role == DeclaredRole::Primary || i.role == DeclaredRole::Replica => 1,
                Some(_) => 2,
                None => 3,
            };
            ok.push((rank, lag(m).unwrap_or(u64::MAX), &m.name));
        } else {
            why.extend(problems);
        }
    }
    ok.sort();
    match ok.first() {
        Some((_, _, name)) => Ok(name.to_string()),
        None if why.is_empty() => Err(vec![format!(
            "{} has no member besides the leader {}",
            cl.name, leader.name
        )]),
        None => {
            let mut v = vec![format!("{} has no healthy switchover candidate", cl.name)];
            v.extend(why);
            Err(v)
        }
    }
}
