//! The merger's mutable state: the newest observation of every source,
//! and how a [`Snapshot`] is derived from it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{
    ClusterLive, Fact, Health, LeaderViews, MemberLive, PromInstance, ServiceMap,
    ServiceObservation, ServiceRouting, Snapshot, SourceStatus, Sparkline, findings,
};
use crate::model::{Deployment, ServiceKind};
use crate::sources::alertmanager::Alert;
use crate::sources::consul::ConsulService;
use crate::sources::dcs::DcsClusterView;
use crate::sources::haproxy::ProxyStat;
use crate::sources::patroni::{ClusterView, HistoryEntry, MemberStatus};
use crate::sources::probe::ProbeResult;
use crate::sources::prometheus::{InstantResult, Metric, RangeResult, SeriesKind};
use crate::sources::{Batch, Observation, SourceKind, SourcesConfig};

/// A value with the source and time it was observed.
#[derive(Debug, Clone)]
struct Obs<T> {
    value: T,
    at: SystemTime,
    source: Arc<str>,
}

impl<T> Obs<T> {
    fn new(value: T, at: SystemTime, source: &Arc<str>) -> Self {
        Obs {
            value,
            at,
            source: source.clone(),
        }
    }
}

/// A cluster's newest `/cluster` view and history, shared by its members.
type SharedViews = (Arc<ClusterView>, Option<Arc<Vec<HistoryEntry>>>);

/// What is known of one Patroni member.
#[derive(Debug, Clone, Default)]
struct PatroniState {
    status: Option<Obs<MemberStatus>>,
    /// Shared with the other members whose `/cluster` said the same.
    cluster: Option<Obs<Arc<ClusterView>>>,
    cluster_error: Option<String>,
    history: Option<Obs<Arc<Vec<HistoryEntry>>>>,
    /// The latest attempt failed: when, and why.
    failing: Option<(SystemTime, String)>,
    source: Arc<str>,
}

/// Everything the merger knows; [`State::build`] derives a [`Snapshot`].
#[derive(Debug, Clone)]
pub struct State {
    interval: Duration,
    /// How often port probes run (their observations go stale after three).
    probe_period: Duration,
    history_cap: usize,
    instance_label: String,
    cluster_label: String,
    ip_label: String,
    seq: u64,
    sources: BTreeMap<Arc<str>, SourceStatus>,
    /// Boxed: a member's state is large and the map keeps spare room.
    patroni: HashMap<String, Box<PatroniState>>,
    /// Each cluster's newest `/cluster` view and history as a member
    /// reported them: the other members' equal answers share them (every
    /// member of a cluster answers `/cluster` alike).
    shared_views: HashMap<String, SharedViews>,
    dcs: HashMap<String, Obs<DcsClusterView>>,
    consul_services: Option<Obs<Vec<ConsulService>>>,
    prom: Option<Obs<BTreeMap<Metric, InstantResult>>>,
    series: Option<Obs<BTreeMap<SeriesKind, RangeResult>>>,
    alerts: Option<Obs<Vec<Alert>>>,
    haproxy: BTreeMap<String, Obs<Vec<ProxyStat>>>,
    /// Each node's last port probes, by IP.
    probes: HashMap<String, Obs<Vec<ProbeResult>>>,
}

impl State {
    pub fn new(cfg: &SourcesConfig) -> Self {
        State {
            interval: cfg.interval,
            probe_period: cfg.probe_period().max(cfg.interval),
            history_cap: cfg.history_cap.max(1),
            instance_label: cfg.queries.instance_label.clone(),
            cluster_label: cfg.queries.cluster_label.clone(),
            ip_label: cfg.queries.ip_label.clone(),
            seq: 0,
            sources: BTreeMap::new(),
            patroni: HashMap::new(),
            shared_views: HashMap::new(),
            dcs: HashMap::new(),
            consul_services: None,
            prom: None,
            series: None,
            alerts: None,
            haproxy: BTreeMap::new(),
            probes: HashMap::new(),
        }
    }

    /// The nodes (IPs) whose port probes should run now because of this
    /// batch, before it is merged: a Patroni member that stops or starts
    /// answering, a HAProxy server that goes up or down.
    pub fn nodes_to_probe(&self, d: &Deployment, b: &Batch) -> Vec<String> {
        let ip_of = |member: &str| d.instance(member).map(|i| i.ip.clone());
        match (&b.source.kind, &b.result) {
            (SourceKind::Patroni, r) => {
                let was_ok = self.sources.get(&*b.source.name).map(|s| s.ok);
                match (&b.source.subject, was_ok) {
                    (Some(m), Some(was)) if was != r.is_ok() => ip_of(m).into_iter().collect(),
                    _ => Vec::new(),
                }
            }
            (_, Ok(Observation::Haproxy { ip, proxies, .. })) => {
                let Some(prev) = self.haproxy.get(ip) else {
                    return Vec::new();
                };
                let up = |ps: &[ProxyStat]| -> BTreeSet<(String, String, bool)> {
                    ps.iter()
                        .flat_map(|p| {
                            p.servers
                                .iter()
                                .map(|s| (p.name.clone(), s.name.clone(), s.is_up()))
                        })
                        .collect()
                };
                let (before, now) = (up(&prev.value), up(proxies));
                let members: BTreeSet<&String> = before
                    .symmetric_difference(&now)
                    .map(|(_, server, _)| server)
                    .collect();
                let ips: BTreeSet<String> = members.into_iter().filter_map(|m| ip_of(m)).collect();
                ips.into_iter().collect()
            }
            _ => Vec::new(),
        }
    }

    /// Merge one batch.
    pub fn apply(&mut self, b: Batch) {
        let name = b.source.name.clone();
        let st = self
            .sources
            .entry(name.clone())
            .or_insert_with(|| SourceStatus {
                name: name.clone(),
                kind: b.source.kind,
                ok: false,
                last_success: None,
                last_attempt: None,
                last_error: None,
                last_error_at: None,
                latency: None,
                failures: 0,
                next_in: None,
                age_ms: None,
            });
        st.last_attempt = Some(b.at);
        st.next_in = b.next_in;
        // A watch event is not a round trip: keep the latency of the last one.
        if !matches!(b.result, Ok(Observation::DcsEvents { .. })) {
            st.latency = Some(b.latency);
        }
        match &b.result {
            Ok(_) => {
                st.ok = true;
                st.failures = 0;
                st.last_success = Some(b.at);
            }
            Err(e) => {
                st.ok = false;
                st.failures += 1;
                st.last_error = Some(e.to_string());
                st.last_error_at = Some(b.at);
            }
        }
        let at = b.at;
        match b.result {
            Ok(obs) => self.apply_ok(&name, at, obs),
            Err(e) => {
                if b.source.kind == SourceKind::Patroni
                    && let Some(member) = &b.source.subject
                {
                    let ps = self.patroni.entry(member.clone()).or_default();
                    ps.failing = Some((at, e.to_string()));
                    ps.cluster = None;
                    ps.source = name;
                }
            }
        }
    }

    fn apply_ok(&mut self, name: &Arc<str>, at: SystemTime, obs: Observation) {
        match obs {
            Observation::Patroni(r) => {
                let r = *r;
                let ps = self.patroni.entry(r.endpoint.member.clone()).or_default();
                ps.source = name.clone();
                ps.failing = None;
                ps.status = Some(Obs::new(r.status, at, name));
                let shared = self.shared_views.get_mut(&r.endpoint.cluster);
                match r.cluster {
                    Ok(c) => {
                        let c = match shared {
                            Some((v, _)) if **v == c => v.clone(),
                            Some((v, _)) => {
                                *v = Arc::new(c);
                                v.clone()
                            }
                            None => {
                                let v = Arc::new(c);
                                self.shared_views
                                    .insert(r.endpoint.cluster.clone(), (v.clone(), None));
                                v
                            }
                        };
                        ps.cluster = Some(Obs::new(c, at, name));
                        ps.cluster_error = None;
                    }
                    Err(e) => {
                        ps.cluster = None;
                        ps.cluster_error = Some(e.to_string());
                    }
                }
                if let Some(Ok(mut h)) = r.history {
                    let n = h.len();
                    if n > self.history_cap {
                        h.drain(..n - self.history_cap);
                    }
                    let h = match self.shared_views.get_mut(&r.endpoint.cluster) {
                        Some((_, Some(s))) if **s == h => s.clone(),
                        Some((_, s)) => s.insert(Arc::new(h)).clone(),
                        None => Arc::new(h),
                    };
                    ps.history = Some(Obs::new(h, at, name));
                }
            }
            Observation::Dcs {
                clusters, services, ..
            } => {
                for (cluster, view) in clusters {
                    match self.dcs.get_mut(&cluster) {
                        // A newer view (by revision) replaces; an older one
                        // (a watch event got there first) only confirms.
                        Some(cur) if view.revision < cur.value.revision => cur.at = cur.at.max(at),
                        _ => {
                            self.dcs.insert(cluster, Obs::new(view, at, name));
                        }
                    }
                }
                if let Some(s) = services {
                    self.consul_services = Some(Obs::new(s, at, name));
                }
            }
            Observation::DcsEvents {
                cluster,
                prefix,
                revision,
                events,
            } => {
                let cur = self
                    .dcs
                    .entry(cluster)
                    .or_insert_with(|| Obs::new(DcsClusterView::default(), at, name));
                if revision > cur.value.revision {
                    for (key, value) in &events {
                        cur.value.set(&prefix, key, value.as_deref());
                    }
                    cur.value.revision = revision;
                    cur.at = at;
                    cur.source = name.clone();
                }
            }
            Observation::Prometheus(r) => {
                let r = *r;
                self.prom = Some(Obs::new(r.instant, at, name));
                if let Some(range) = r.range {
                    self.series = Some(Obs::new(range, at, name));
                }
            }
            Observation::Alerts(a) => self.alerts = Some(Obs::new(a, at, name)),
            Observation::Haproxy { ip, proxies, .. } => {
                self.haproxy.insert(ip, Obs::new(proxies, at, name));
            }
            Observation::Probes { ip, results } => {
                self.probes.insert(ip, Obs::new(results, at, name));
            }
        }
    }

    fn stale_after(&self) -> Duration {
        self.interval * 3
    }

    fn age(now: SystemTime, at: SystemTime) -> Duration {
        now.duration_since(at).unwrap_or_default()
    }

    fn is_stale(&self, now: SystemTime, at: SystemTime) -> bool {
        Self::age(now, at) > self.stale_after()
    }

    fn fact<T>(&self, now: SystemTime, value: T, source: &Arc<str>, at: SystemTime) -> Fact<T> {
        Fact {
            value,
            source: source.clone(),
            observed_at: at,
            age_ms: Self::age(now, at).as_millis() as u64,
            stale: self.is_stale(now, at),
        }
    }

    fn obs_fact<T, U>(&self, now: SystemTime, o: &Obs<T>, value: U) -> Fact<U> {
        self.fact(now, value, &o.source, o.at)
    }

    /// Derive the snapshot (ages and staleness as of `now`).
    pub fn build(&mut self, d: &Deployment, now: SystemTime) -> Snapshot {
        self.seq += 1;
        let prom_by_ins = self.prom_by_instance(d, now);
        // Members by the cluster they report (their scope), once: each
        // cluster then looks at its own members only.
        let mut by_scope: HashMap<&str, Vec<&String>> = HashMap::new();
        for m in self.patroni.keys() {
            if let Some(scope) = self.member_cluster(m) {
                by_scope.entry(scope.as_str()).or_default().push(m);
            }
        }
        let clusters: Vec<ClusterLive> = d
            .clusters
            .iter()
            .map(|c| {
                let scoped = by_scope.get(c.name.as_str()).map_or(&[][..], |v| v);
                self.build_cluster(d, c, scoped, &prom_by_ins, now)
            })
            .collect();

        let services = self.build_services(d, now);
        let sources = self
            .sources
            .values()
            .map(|s| {
                let mut s = s.clone();
                s.age_ms = s.last_success.map(|t| Self::age(now, t).as_millis() as u64);
                s
            })
            .collect();
        let alerts = self
            .alerts
            .as_ref()
            .map(|a| a.value.clone())
            .unwrap_or_default();
        let consul_services = self
            .consul_services
            .as_ref()
            .map(|c| c.value.clone())
            .unwrap_or_default();
        let mut snap = Snapshot {
            seq: self.seq,
            taken_at: Some(now),
            interval: self.interval,
            services,
            clusters,
            findings: Vec::new(),
            sources,
            alerts,
            consul_services,
        };
        snap.findings = findings::detect(d, &snap);
        snap
    }

    /// Prometheus' per-instance values, keyed by the instance label (or,
    /// without one, by the instance on the `ip` label's node).
    fn prom_by_instance(&self, d: &Deployment, now: SystemTime) -> HashMap<String, PromInstance> {
        let mut out: HashMap<String, PromInstance> = HashMap::new();
        let Some(p) = &self.prom else { return out };
        let stale = self.is_stale(now, p.at);
        for (metric, r) in &p.value {
            for s in &r.samples {
                let ins = s
                    .labels
                    .get(&self.instance_label)
                    .map(str::to_string)
                    .or_else(|| {
                        let ip = s.labels.get(&self.ip_label)?;
                        d.instances().find(|i| i.ip == ip).map(|i| i.name.clone())
                    });
                let Some(ins) = ins else { continue };
                let e = out.entry(ins).or_insert_with(|| PromInstance {
                    observed_at: Some(p.at),
                    stale,
                    ..Default::default()
                });
                let v = Some(s.value);
                match metric {
                    Metric::PgUp => e.pg_up = v,
                    Metric::InRecovery => e.in_recovery = v,
                    Metric::Status => e.status = v,
                    Metric::LagBytes => e.lag_bytes = v,
                    Metric::LagSeconds => e.lag_seconds = v,
                    Metric::Up | Metric::Leader | Metric::Timeline => {}
                }
            }
        }
        out
    }

    /// One cluster; `scoped` are the members whose Patroni reports this
    /// cluster as its scope (declared or not).
    fn build_cluster(
        &self,
        d: &Deployment,
        c: &crate::model::Cluster,
        scoped: &[&String],
        prom_by_ins: &HashMap<String, PromInstance>,
        now: SystemTime,
    ) -> ClusterLive {
        let dcs = self.dcs.get(&c.name);
        // The /cluster view: the self-declared leader's, else the newest.
        let mut members: Vec<&String> = c.instances.iter().map(|i| &i.name).collect();
        members.extend(
            scoped
                .iter()
                .filter(|m| !c.instances.iter().any(|i| &i.name == **m)),
        );
        let views: Vec<(&String, &Obs<Arc<ClusterView>>, bool)> = members
            .into_iter()
            .filter_map(|m| {
                let (m, ps) = self.patroni.get_key_value(m)?;
                let claims = ps.status.as_ref().is_some_and(|s| s.value.claims_leader());
                ps.cluster.as_ref().map(|v| (m, v, claims))
            })
            .collect();
        let cluster_view = views
            .iter()
            .filter(|(_, v, _)| !self.is_stale(now, v.at))
            .max_by_key(|(m, v, claims)| (*claims, v.at, std::cmp::Reverse((*m).clone())))
            .map(|(_, v, _)| *v);

        // Member names: declared first, then seen in /cluster or the DCS.
        let mut names: Vec<String> = c.instances.iter().map(|i| i.name.clone()).collect();
        let mut extra: BTreeSet<String> = BTreeSet::new();
        if let Some(v) = cluster_view {
            extra.extend(v.value.members.iter().map(|m| m.name.clone()));
        }
        if let Some(v) = dcs {
            extra.extend(v.value.members.keys().cloned());
        }
        for n in extra {
            if !names.contains(&n) {
                names.push(n);
            }
        }

        // Leader position for computing lag from /patroni alone.
        let leader_pos = names.iter().find_map(|n| {
            let s = self.patroni.get(n)?.status.as_ref()?;
            (s.value.claims_leader()
                && !self.is_stale(now, s.at)
                && self.patroni[n].failing.is_none())
            .then_some(s.value.xlog.location)
            .flatten()
        });

        let mut members: Vec<MemberLive> = names
            .iter()
            .map(|n| self.build_member(c, n, cluster_view, dcs, prom_by_ins, leader_pos, now))
            .collect();
        // Streaming, as the (fresh, self-declared) leader's replication[] says.
        let senders: Option<Vec<String>> = members
            .iter()
            .find(|m| m.is_leader() && m.role.as_ref().is_some_and(|r| !r.stale))
            .map(|l| {
                l.replication
                    .iter()
                    .filter(|r| r.state.as_deref() == Some("streaming"))
                    .map(|r| r.application_name.clone())
                    .collect()
            });
        if let Some(senders) = senders {
            for m in members.iter_mut().filter(|m| !m.is_leader()) {
                m.streaming = Some(senders.contains(&m.name));
            }
        }

        // Leader views.
        let mut leader = LeaderViews::default();
        let claimers: Vec<&MemberLive> = members.iter().filter(|m| m.is_leader()).collect();
        let dcs_leader = dcs.and_then(|v| v.value.leader.clone().map(|l| (l, v)));
        if let Some(m) = claimers
            .iter()
            .find(|m| dcs_leader.as_ref().is_some_and(|(l, _)| *l == m.name))
            .or(claimers.first())
        {
            let role = m.role.as_ref().expect("a claimer has a role");
            leader.patroni = Some(Fact {
                value: m.name.clone(),
                ..role.clone()
            });
        }
        if let Some((l, v)) = dcs_leader {
            leader.dcs = Some(self.obs_fact(now, v, l));
        }
        if let Some(v) = cluster_view
            && let Some(l) = v.value.leader()
        {
            leader.cluster_api = Some(self.obs_fact(now, v, l.name.clone()));
        }
        if let Some(p) = &self.prom
            && let Some(r) = p.value.get(&Metric::Leader)
        {
            let leaders: BTreeSet<&str> = r
                .samples
                .iter()
                .filter(|s| {
                    s.labels.get(&self.cluster_label) == Some(c.name.as_str()) && s.value >= 1.0
                })
                .filter_map(|s| s.labels.get(&self.instance_label))
                .collect();
            if !leaders.is_empty() {
                let v: Vec<&str> = leaders.into_iter().collect();
                leader.prometheus = Some(self.obs_fact(now, p, v.join(",")));
            }
        }

        // History: /history of the freshest member, else the DCS key.
        let hist = names
            .iter()
            .filter_map(|n| self.patroni.get(n)?.history.as_ref())
            .max_by_key(|h| (h.value.len(), h.at));
        let (history, history_source) = match (hist, dcs) {
            (Some(h), Some(v)) if v.value.history.len() > h.value.len() => {
                (v.value.history.clone(), Some(v.source.clone()))
            }
            (Some(h), _) => (h.value.to_vec(), Some(h.source.clone())),
            (None, Some(v)) if !v.value.history.is_empty() => {
                (v.value.history.clone(), Some(v.source.clone()))
            }
            _ => (Vec::new(), None),
        };
        let mut history = history;
        let n = history.len();
        if n > self.history_cap {
            history.drain(..n - self.history_cap);
        }

        // Paused: Patroni's own word, else the DCS config.
        let paused = members
            .iter()
            .filter_map(|m| m.paused.clone())
            .filter(|f| !f.stale)
            .max_by_key(|f| (f.value, f.observed_at))
            .or_else(|| dcs.map(|v| self.obs_fact(now, v, v.value.paused)));

        let timeline = members
            .iter()
            .filter_map(|m| m.timeline.clone())
            .filter(|f| !f.stale)
            .max_by_key(|f| f.value)
            .or_else(|| {
                let p = self.prom.as_ref()?;
                let s = p
                    .value
                    .get(&Metric::Timeline)?
                    .samples
                    .iter()
                    .find(|s| s.labels.get(&self.cluster_label) == Some(&c.name))?;
                Some(self.obs_fact(now, p, s.value as u64))
            });

        let sync_standby = match (cluster_view, dcs) {
            (Some(v), _) => v
                .value
                .members
                .iter()
                .filter(|m| m.role == "sync_standby")
                .map(|m| m.name.clone())
                .collect(),
            (None, Some(v)) => v.value.sync_standby.clone(),
            _ => Vec::new(),
        };

        ClusterLive {
            name: c.name.clone(),
            leader,
            members,
            history,
            history_source,
            paused,
            timeline,
            sync_standby,
            routing: self.build_routing(d, c, now),
            sparklines: self.build_sparklines(c),
            alerts: self
                .alerts
                .as_ref()
                .map(|a| {
                    a.value
                        .iter()
                        .filter(|a| {
                            a.cls.as_deref() == Some(&c.name)
                                || a.ins
                                    .as_deref()
                                    .is_some_and(|i| c.instances.iter().any(|x| x.name == i))
                        })
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The cluster a Patroni member reported (its scope), when known.
    fn member_cluster(&self, member: &str) -> Option<&String> {
        self.patroni
            .get(member)?
            .status
            .as_ref()?
            .value
            .patroni
            .scope
            .as_ref()
    }

    #[allow(clippy::too_many_arguments)]
    fn build_member(
        &self,
        c: &crate::model::Cluster,
        name: &str,
        cluster_view: Option<&Obs<Arc<ClusterView>>>,
        dcs: Option<&Obs<DcsClusterView>>,
        prom_by_ins: &HashMap<String, PromInstance>,
        leader_pos: Option<u64>,
        now: SystemTime,
    ) -> MemberLive {
        let decl = c.instances.iter().find(|i| i.name == name);
        let ps = self.patroni.get(name);
        let cm = cluster_view.and_then(|v| v.value.members.iter().find(|m| m.name == name));
        let dm = dcs.and_then(|v| v.value.members.get(name));
        let mut m = MemberLive {
            name: name.to_string(),
            ip: decl
                .map(|i| i.ip.clone())
                .or_else(|| cm.and_then(|m| m.host.clone())),
            declared: decl.is_some(),
            tags: cm.and_then(|m| m.tags.clone()),
            dcs: dm.cloned(),
            prometheus: prom_by_ins.get(name).cloned().unwrap_or_default(),
            ..Default::default()
        };
        if let Some(ps) = ps {
            m.cluster_error = ps.cluster_error.clone();
            if let Some((at, err)) = &ps.failing {
                m.reachable = Some(false);
                m.error = Some(err.clone());
                m.state = Some(self.fact(now, "unreachable".to_string(), &ps.source, *at));
            } else if let Some(s) = &ps.status {
                let st = &s.value;
                m.reachable = Some(true);
                let mut role = st.role();
                if role == "replica" && cm.is_some_and(|cm| cm.role == "sync_standby") {
                    role = "sync_standby".into();
                }
                m.role = Some(self.obs_fact(now, s, role));
                m.state = Some(self.obs_fact(now, s, st.state.clone()));
                m.timeline = st.timeline.map(|t| self.obs_fact(now, s, t));
                m.pending_restart = Some(self.obs_fact(now, s, st.pending_restart));
                m.paused = Some(self.obs_fact(now, s, st.pause));
                m.wal_position = st.wal_position().map(|p| self.obs_fact(now, s, p));
                m.replication = st.replication.clone();
                m.dcs_last_seen = st.dcs_last_seen;
                m.patroni_version = st.patroni.version.clone();
                if st.claims_leader() {
                    m.lag_bytes = Some(self.obs_fact(now, s, 0));
                }
            }
        }
        // Lag: /cluster, else from WAL positions, else Prometheus.
        if m.lag_bytes.is_none() && m.reachable != Some(false) {
            if let (Some(cm), Some(v)) = (cm, cluster_view)
                && let Some(l) = cm.lag_bytes()
            {
                m.lag_bytes = Some(self.obs_fact(now, v, l));
            } else if let (Some(lp), Some(ps)) = (leader_pos, ps)
                && let Some(s) = &ps.status
                && let Some(pos) = s.value.xlog.replayed_location
            {
                m.lag_bytes = Some(self.obs_fact(now, s, lp.saturating_sub(pos)));
            }
        }
        if let Some(p) = &self.prom {
            let pi = &m.prometheus;
            if m.lag_bytes.is_none()
                && m.reachable != Some(false)
                && let Some(v) = pi.lag_bytes.filter(|v| v.is_finite() && *v >= 0.0)
            {
                m.lag_bytes = Some(self.obs_fact(now, p, v as u64));
            }
            if let Some(v) = pi.lag_seconds.filter(|v| v.is_finite()) {
                m.lag_seconds = Some(self.obs_fact(now, p, v.max(0.0)));
            } else if m.is_leader() {
                m.lag_seconds = Some(self.obs_fact(now, p, 0.0));
            }
        }
        m
    }

    fn build_routing(
        &self,
        d: &Deployment,
        c: &crate::model::Cluster,
        now: SystemTime,
    ) -> Vec<ServiceRouting> {
        let mut out = Vec::new();
        for i in &c.instances {
            let Some(h) = self.haproxy.get(&i.ip) else {
                continue;
            };
            for p in &h.value {
                let Some(svc) = p.name.strip_prefix(&format!("{}-", c.name)) else {
                    continue;
                };
                let port = c
                    .services
                    .iter()
                    .find(|s| s.name == svc)
                    .map(|s| s.port)
                    .or_else(|| {
                        d.instance(&i.name)?
                            .services
                            .iter()
                            .find(|s| {
                                s.kind == ServiceKind::HaproxyService
                                    && s.name.to_lowercase().ends_with(svc)
                            })
                            .map(|s| s.port)
                    });
                out.push(ServiceRouting {
                    service: svc.to_string(),
                    port,
                    proxy: p.name.clone(),
                    haproxy: i.ip.clone(),
                    backend_status: p.backend_status.clone(),
                    routes_to: p.routes_to().iter().map(|s| s.name.clone()).collect(),
                    servers: p.servers.clone(),
                    source: h.source.clone(),
                    observed_at: h.at,
                    stale: self.is_stale(now, h.at),
                });
            }
        }
        out
    }

    fn build_sparklines(&self, c: &crate::model::Cluster) -> Vec<Sparkline> {
        let Some(s) = &self.series else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (kind, r) in &s.value {
            for series in &r.series {
                let ins = series.labels.get(&self.instance_label);
                let in_cluster = series.labels.get(&self.cluster_label) == Some(c.name.as_str())
                    || ins.is_some_and(|i| c.instances.iter().any(|x| x.name == i));
                if let (true, Some(ins)) = (in_cluster, ins) {
                    out.push(Sparkline {
                        kind: *kind,
                        instance: ins.to_string(),
                        values: series.values.clone(),
                    });
                }
            }
        }
        out
    }

    fn build_services(&self, d: &Deployment, now: SystemTime) -> ServiceMap {
        let mut out = ServiceMap::with_nodes(d.node_ips().len());
        // Patroni's port, from its poller (the probes skip it): up when
        // the member answers and Postgres runs, as GET /health would say.
        for i in d.instances() {
            let Some(ps) = self.patroni.get(&i.name) else {
                continue;
            };
            let (health, error, at) = match (&ps.failing, &ps.status) {
                (Some((at, e)), _) => {
                    let detail = e.strip_prefix(&format!("{}: ", ps.source)).unwrap_or(e);
                    (Health::Down, Some(detail.to_string()), *at)
                }
                (None, Some(s)) => match s.value.state.as_str() {
                    "running" | "streaming" => (Health::Up, None, s.at),
                    other => (
                        Health::Down,
                        Some(format!("Patroni answers, Postgres {other}")),
                        s.at,
                    ),
                },
                (None, None) => continue,
            };
            let latency = (health == Health::Up)
                .then(|| self.sources.get(&*ps.source).and_then(|s| s.latency))
                .flatten();
            out.insert(
                (i.ip.clone(), i.patroni_port()),
                ServiceObservation {
                    health,
                    latency,
                    observed_at: Some(at),
                    error: error.map(Arc::from),
                    source: Some(ps.source.clone()),
                    stale: self.is_stale(now, at),
                    ..Default::default()
                },
            );
        }
        for (ip, o) in &self.probes {
            for r in &o.value {
                *out.entry(ip, r.port) = ServiceObservation {
                    health: r.health,
                    latency: r.latency,
                    observed_at: Some(o.at),
                    error: r.error.clone(),
                    source: Some(o.source.clone()),
                    not_probed: r.not_probed,
                    http_status: r.http_status,
                    stale: Self::age(now, o.at) > self.probe_period * 3,
                    ..Default::default()
                };
            }
        }
        if let Some(cs) = &self.consul_services {
            for s in &cs.value {
                if s.address.is_empty() || s.port == 0 {
                    continue;
                }
                let e = out.entry(&s.address, s.port);
                let h = if s.passing() {
                    Health::Up
                } else {
                    Health::Down
                };
                // Several registrations on one port: the worst wins.
                e.consul = Some(match e.consul {
                    Some(Health::Down) => Health::Down,
                    _ => h,
                });
            }
        }
        if let Some(p) = &self.prom
            && let Some(r) = p.value.get(&Metric::Up)
        {
            for s in &r.samples {
                let Some((ip, port)) = s.labels.get("instance").and_then(|i| i.rsplit_once(':'))
                else {
                    continue;
                };
                let Ok(port) = port.parse::<u16>() else {
                    continue;
                };
                out.entry(ip, port).prometheus_up = Some(s.value >= 1.0);
            }
        }
        out.shrink_to_fit();
        out
    }
}
