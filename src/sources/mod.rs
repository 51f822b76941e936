//! Live sources: each polls (or watches) one endpoint as its own tokio task
//! on its own interval, and sends whole observation batches over an mpsc
//! channel to one merger task, which owns the merged state and publishes an
//! immutable [`Snapshot`] on a `watch` channel after each merge.
//!
//! ```text
//!  patroni 127.0.0.11:8008 ─┐
//!  etcd 127.0.0.10:2379 ────┤  Batch   ┌────────┐  Arc<Snapshot>
//!  etcd watch /pg/pg-test/ ─┼─ mpsc ──▶│ merger │── watch ──▶ UI, tests
//!  prometheus …, probes … ──┘          └────────┘
//! ```
//!
//! Every request has a timeout; a dead endpoint is retried with exponential
//! backoff while it keeps being reported as down; nothing here runs on the
//! UI task. [`poll_once`] runs every source once, in parallel, for the
//! headless `status` command.

pub mod alertmanager;
pub mod consul;
pub mod dcs;
pub mod etcd;
pub mod haproxy;
pub mod http;
mod labels;
pub mod patroni;
pub mod probe;
pub mod prometheus;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::model::{Credentials, DcsKind, Deployment, ServiceKind, var_str};
use crate::snapshot::{Snapshot, State};

pub use http::{ErrorKind, Http, SourceError};

/// Settings of the live sources.
#[derive(Debug, Clone, PartialEq)]
pub struct SourcesConfig {
    /// Poll interval of every source (`--refresh`).
    pub interval: Duration,
    /// Total timeout of one request (connect included).
    pub request_timeout: Duration,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Requests in flight at once, over all sources.
    pub max_in_flight: usize,
    /// Longest wait between two attempts on a failing endpoint.
    pub backoff_max: Duration,
    /// Prometheus (or VictoriaMetrics) base URL; overrides the inventory's.
    pub prometheus_url: Option<String>,
    /// Alertmanager base URL; overrides the inventory's.
    pub alertmanager_url: Option<String>,
    pub queries: prometheus::Queries,
    pub range: prometheus::RangeConfig,
    /// Watch the DCS (etcd watch / Consul blocking queries) besides polling.
    pub watch_dcs: bool,
    /// `wait` of Consul blocking queries.
    pub consul_wait: Duration,
    /// Keep at most this many rows of a cluster's history.
    pub history_cap: usize,
    /// Port probes run every this many intervals (1: every interval).
    /// A node is probed at once when its Patroni member stops or starts
    /// answering or a HAProxy server on it goes up or down.
    pub probe_every: u32,
    /// Read Patroni's `GET /history` (when the timeline moves, and every
    /// 30 polls). Without it the history comes from the DCS `history` key,
    /// which is what Patroni's `/history` serves too.
    pub patroni_history: bool,
    /// Which sources run.
    pub enable: Enabled,
}

/// Switches for each kind of source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enabled {
    pub patroni: bool,
    pub dcs: bool,
    pub prometheus: bool,
    pub alertmanager: bool,
    pub haproxy: bool,
    pub probes: bool,
}

impl Default for Enabled {
    fn default() -> Self {
        Enabled {
            patroni: true,
            dcs: true,
            prometheus: true,
            alertmanager: true,
            haproxy: true,
            probes: true,
        }
    }
}

impl Default for SourcesConfig {
    fn default() -> Self {
        SourcesConfig {
            interval: Duration::from_secs(2),
            request_timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_millis(500),
            max_in_flight: 256,
            backoff_max: Duration::from_secs(10),
            prometheus_url: None,
            alertmanager_url: None,
            queries: prometheus::Queries::default(),
            range: prometheus::RangeConfig::default(),
            watch_dcs: true,
            consul_wait: Duration::from_secs(5),
            history_cap: 64,
            patroni_history: true,
            probe_every: 5,
            enable: Enabled::default(),
        }
    }
}

impl SourcesConfig {
    /// Defaults with another poll interval.
    pub fn with_interval(interval: Duration) -> Self {
        SourcesConfig {
            interval,
            ..Default::default()
        }
    }

    /// How often the port probes run.
    pub fn probe_period(&self) -> Duration {
        self.interval.saturating_mul(self.probe_every.max(1))
    }

    /// Delay before the next attempt after `failures` consecutive failures:
    /// the interval, then doubling from the second failure, capped.
    pub fn backoff(&self, failures: u32) -> Duration {
        if failures <= 1 {
            return self.interval;
        }
        let factor = 1u32 << (failures - 1).min(16);
        self.interval
            .saturating_mul(factor)
            .min(self.backoff_max.max(self.interval))
    }
}

/// The kind of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Patroni,
    Etcd,
    Consul,
    Prometheus,
    Alertmanager,
    Haproxy,
    Probe,
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            SourceKind::Patroni => "patroni",
            SourceKind::Etcd => "etcd",
            SourceKind::Consul => "consul",
            SourceKind::Prometheus => "prometheus",
            SourceKind::Alertmanager => "alertmanager",
            SourceKind::Haproxy => "haproxy",
            SourceKind::Probe => "probe",
        };
        f.write_str(s)
    }
}

/// Which source a batch comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceId {
    pub kind: SourceKind,
    /// Display name with the endpoint: `patroni 127.0.0.11:8008`,
    /// `prometheus http://127.0.0.10:9090`, `etcd watch /pg/`, …
    /// Shared by every fact the merger keeps and publishes from it.
    pub name: Arc<str>,
    /// What it covers: the member (patroni), node IP (probe, haproxy) or
    /// cluster (a DCS watch of one cluster, without a namespace).
    pub subject: Option<String>,
}

/// The typed observations of one poll of one source.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    Patroni(Box<patroni::MemberReport>),
    /// A DCS poll: every cluster's keys, and (Consul) the service catalog.
    Dcs {
        kind: DcsKind,
        clusters: Vec<(String, dcs::DcsClusterView)>,
        services: Option<Vec<consul::ConsulService>>,
    },
    /// A watch delivered changed keys of one cluster (`None`: deleted).
    DcsEvents {
        cluster: String,
        prefix: String,
        revision: i64,
        events: Vec<(String, Option<Vec<u8>>)>,
    },
    Prometheus(Box<prometheus::PromReport>),
    Alerts(Vec<alertmanager::Alert>),
    Haproxy {
        ip: String,
        port: u16,
        proxies: Vec<haproxy::ProxyStat>,
    },
    Probes {
        ip: String,
        results: Vec<probe::ProbeResult>,
    },
}

/// What a source sends to the merger after each poll.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub source: SourceId,
    /// When the poll started.
    pub at: SystemTime,
    /// How long it took.
    pub latency: Duration,
    pub result: Result<Observation, SourceError>,
    /// When the source will try again (longer while backing off).
    pub next_in: Option<Duration>,
}

/// One source: a poller with what it needs.
#[derive(Debug)]
enum Poller {
    Patroni(patroni::PatroniPoller),
    Dcs {
        kind: DcsKind,
        host: String,
        port: u16,
        scopes: Arc<[dcs::DcsScope]>,
    },
    Prometheus(Box<prometheus::PromPoller>),
    Alertmanager {
        base: String,
    },
    Haproxy(haproxy::HaproxyPoller),
    Probe {
        ip: String,
        targets: Vec<probe::ProbeTarget>,
    },
}

impl Poller {
    fn id(&self) -> SourceId {
        match self {
            Poller::Patroni(p) => SourceId {
                kind: SourceKind::Patroni,
                name: Arc::from(p.name()),
                subject: Some(p.endpoint.member.clone()),
            },
            Poller::Dcs {
                kind, host, port, ..
            } => SourceId {
                kind: dcs_source_kind(*kind),
                name: format!("{kind} {}", crate::model::host_port(host, *port)).into(),
                subject: None,
            },
            Poller::Prometheus(p) => SourceId {
                kind: SourceKind::Prometheus,
                name: Arc::from(p.name()),
                subject: None,
            },
            Poller::Alertmanager { base } => SourceId {
                kind: SourceKind::Alertmanager,
                name: alertmanager::source_name(base).into(),
                subject: None,
            },
            Poller::Haproxy(p) => SourceId {
                kind: SourceKind::Haproxy,
                name: Arc::from(p.name()),
                subject: Some(p.ip.clone()),
            },
            Poller::Probe { ip, .. } => SourceId {
                kind: SourceKind::Probe,
                name: format!("probe {ip}").into(),
                subject: Some(ip.clone()),
            },
        }
    }

    async fn poll(&mut self, http: &Http) -> Result<Observation, SourceError> {
        match self {
            Poller::Patroni(p) => p.poll().await.map(|r| Observation::Patroni(Box::new(r))),
            Poller::Dcs {
                kind,
                host,
                port,
                scopes,
            } => poll_dcs(http, *kind, host, *port, scopes).await,
            Poller::Prometheus(p) => p.poll().await.map(|r| Observation::Prometheus(Box::new(r))),
            Poller::Alertmanager { base } => alertmanager::poll(http, base)
                .await
                .map(Observation::Alerts),
            Poller::Haproxy(p) => p.poll().await.map(|proxies| Observation::Haproxy {
                ip: p.ip.clone(),
                port: p.port,
                proxies,
            }),
            Poller::Probe { ip, targets } => Ok(Observation::Probes {
                ip: ip.clone(),
                results: probe::probe_all(http, targets, http.connect_timeout).await,
            }),
        }
    }

    /// Time between two polls while all is well.
    fn period(&self, cfg: &SourcesConfig) -> Duration {
        match self {
            Poller::Probe { .. } => cfg.probe_period(),
            _ => cfg.interval,
        }
    }

    /// Poll once and wrap the outcome in a batch.
    /// `id` is [`Poller::id`], made once by the caller (a batch per poll
    /// would otherwise make its names anew).
    async fn batch(&mut self, http: &Http, id: SourceId) -> Batch {
        let at = SystemTime::now();
        let started = Instant::now();
        let result = self.poll(http).await;
        Batch {
            source: id,
            at,
            latency: started.elapsed(),
            result,
            next_in: None,
        }
    }
}

fn dcs_source_kind(kind: DcsKind) -> SourceKind {
    match kind {
        DcsKind::Etcd => SourceKind::Etcd,
        DcsKind::Consul => SourceKind::Consul,
    }
}

/// One round of a DCS server: every scope's keys (one request for the
/// whole namespace) and, for Consul, the service catalog.
async fn poll_dcs(
    http: &Http,
    kind: DcsKind,
    host: &str,
    port: u16,
    scopes: &[dcs::DcsScope],
) -> Result<Observation, SourceError> {
    let flatten = |views: Vec<Result<Vec<(String, dcs::DcsClusterView)>, SourceError>>| {
        views
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.into_iter().flatten().collect::<Vec<_>>())
    };
    match kind {
        DcsKind::Etcd => {
            let ep = etcd::EtcdEndpoint::new(host, port);
            let views =
                futures::future::join_all(scopes.iter().map(|s| etcd::range_scope(http, &ep, s)))
                    .await;
            Ok(Observation::Dcs {
                kind,
                clusters: flatten(views)?,
                services: None,
            })
        }
        DcsKind::Consul => {
            let ep = consul::ConsulEndpoint::new(host, port);
            let views = futures::future::join_all(scopes.iter().map(|s| async {
                consul::kv_scope(http, &ep, s, 0, Duration::ZERO)
                    .await
                    .map(|(_, v)| v)
            }));
            let (views, services) = tokio::join!(views, consul::services(http, &ep));
            Ok(Observation::Dcs {
                kind,
                clusters: flatten(views)?,
                services: Some(services?),
            })
        }
    }
}

/// A long-lived watch of a scope's DCS keys (every cluster of the
/// namespace: one watch for the whole deployment).
#[derive(Debug, Clone)]
struct Watcher {
    kind: DcsKind,
    servers: Vec<(String, u16)>,
    scope: dcs::DcsScope,
}

impl Watcher {
    fn id(&self) -> SourceId {
        SourceId {
            kind: dcs_source_kind(self.kind),
            name: format!("{} watch {}", self.kind, self.scope.prefix).into(),
            subject: match self.scope.clusters.as_slice() {
                [(c, _)] => Some(c.clone()),
                _ => None,
            },
        }
    }
}

/// Every source the deployment calls for.
struct Plan {
    pollers: Vec<Poller>,
    watchers: Vec<Watcher>,
}

fn plan(d: &Deployment, cfg: &SourcesConfig, http: &Http) -> Plan {
    let mut pollers = Vec::new();
    let mut watchers = Vec::new();
    if cfg.enable.patroni {
        for c in &d.clusters {
            for i in &c.instances {
                let ep = patroni::PatroniEndpoint {
                    cluster: c.name.clone(),
                    member: i.name.clone(),
                    ip: i.ip.clone(),
                    port: i.patroni_port(),
                };
                pollers.push(Poller::Patroni(
                    patroni::PatroniPoller::new(ep, http.clone(), d.patroni_auth.clone())
                        .with_history(cfg.patroni_history),
                ));
            }
        }
    }
    if cfg.enable.dcs && !d.clusters.is_empty() {
        let leading_slash = d.dcs.kind == DcsKind::Etcd;
        let names: Vec<&str> = d.clusters.iter().map(|c| c.name.as_str()).collect();
        let scopes: Arc<[dcs::DcsScope]> =
            dcs::DcsScope::of(&d.dcs.namespace, &names, leading_slash).into();
        for s in &d.dcs.servers {
            pollers.push(Poller::Dcs {
                kind: d.dcs.kind,
                host: s.ip.clone(),
                port: s.port,
                scopes: scopes.clone(),
            });
        }
        if cfg.watch_dcs && !d.dcs.servers.is_empty() {
            let servers: Vec<(String, u16)> = d
                .dcs
                .servers
                .iter()
                .map(|s| (s.ip.clone(), s.port))
                .collect();
            for scope in scopes.iter() {
                watchers.push(Watcher {
                    kind: d.dcs.kind,
                    servers: servers.clone(),
                    scope: scope.clone(),
                });
            }
        }
    }
    if cfg.enable.prometheus {
        let base = cfg
            .prometheus_url
            .clone()
            .or_else(|| d.endpoints.prometheus.as_ref().map(|e| e.url()));
        if let Some(base) = base {
            pollers.push(Poller::Prometheus(Box::new(prometheus::PromPoller::new(
                &base,
                http.clone(),
                cfg.queries.clone(),
                cfg.range,
            ))));
        }
    }
    if cfg.enable.alertmanager {
        let base = cfg
            .alertmanager_url
            .clone()
            .or_else(|| d.endpoints.alertmanager.as_ref().map(|e| e.url()));
        if let Some(base) = base {
            pollers.push(Poller::Alertmanager {
                base: base.trim_end_matches('/').to_string(),
            });
        }
    }
    if cfg.enable.haproxy {
        for i in d.instances() {
            if let Some(port) = i.port_of(ServiceKind::HaproxyAdmin) {
                let auth = match (
                    var_str(&i.vars, "haproxy_admin_username"),
                    var_str(&i.vars, "haproxy_admin_password"),
                ) {
                    (Some(u), Some(p)) => Some(Credentials {
                        username: u.into_owned(),
                        password: p.into_owned(),
                    }),
                    _ => None,
                };
                pollers.push(Poller::Haproxy(haproxy::HaproxyPoller::new(
                    &i.ip,
                    port,
                    http.clone(),
                    auth,
                )));
            }
        }
    }
    if cfg.enable.probes {
        for ip in d.node_ips() {
            let mut targets = probe_targets(d, ip);
            // The Patroni poller of the node's member already asks that
            // port every round: the merger derives the port's state from
            // it (what Patroni's GET /health would say).
            if cfg.enable.patroni
                && let Some(i) = d.node(ip).and_then(|n| n.instance)
            {
                let port = i.patroni_port();
                targets.retain(|t| t.port != port);
            }
            if !targets.is_empty() {
                pollers.push(Poller::Probe {
                    ip: ip.to_string(),
                    targets,
                });
            }
        }
    }
    Plan { pollers, watchers }
}

/// Every service of the node, plus its cluster's HAProxy service ports.
pub fn probe_targets(d: &Deployment, ip: &str) -> Vec<probe::ProbeTarget> {
    let Some(node) = d.node(ip) else {
        return Vec::new();
    };
    let shared_ip: Arc<str> = ip.into();
    let mut out: Vec<probe::ProbeTarget> = Vec::new();
    let mut push = |t: probe::ProbeTarget| {
        if !out.iter().any(|o| o.port == t.port && o.proto == t.proto) {
            out.push(t);
        }
    };
    for s in node.services() {
        push(probe::ProbeTarget {
            ip: shared_ip.clone(),
            port: s.port,
            proto: s.proto,
            http_health: s.http_health.clone().filter(|p| probe::is_liveness_path(p)),
        });
    }
    if let Some(inst) = node.instance
        && let Some(c) = d.cluster(&inst.cluster)
    {
        for s in &c.services {
            push(probe::ProbeTarget {
                ip: shared_ip.clone(),
                port: s.port,
                proto: crate::model::Proto::Tcp,
                http_health: None,
            });
        }
    }
    out.shrink_to_fit();
    out
}

fn shared_http(cfg: &SourcesConfig) -> Http {
    Http::new(cfg.connect_timeout, cfg.request_timeout, cfg.max_in_flight)
}

/// Poll every source once, in parallel, and merge: for the headless
/// `status` command. Takes about as long as the slowest request (each is
/// bounded by `cfg.request_timeout`). DCS watches are not started.
pub async fn poll_once(deployment: Arc<Deployment>, cfg: SourcesConfig) -> Snapshot {
    poll_once_state(&deployment, cfg)
        .await
        .build(&deployment, SystemTime::now())
}

/// [`poll_once`] without the final merge: the merger's state after one
/// round (benches time [`State::build`] on it).
pub async fn poll_once_state(deployment: &Deployment, cfg: SourcesConfig) -> State {
    let http = shared_http(&cfg);
    let Plan { mut pollers, .. } = plan(deployment, &cfg, &http);
    let batches = futures::future::join_all(pollers.iter_mut().map(|p| {
        let id = p.id();
        p.batch(&http, id)
    }))
    .await;
    let mut state = State::new(&cfg);
    for b in batches {
        state.apply(b);
    }
    state
}

/// Start every source and the merger; returns the channel on which each
/// merged snapshot is published. Everything stops when `cancel` fires.
/// Must be called within a tokio runtime.
pub fn spawn(
    deployment: Arc<Deployment>,
    cfg: SourcesConfig,
    cancel: CancellationToken,
) -> watch::Receiver<Arc<Snapshot>> {
    spawn_with_handles(deployment, cfg, cancel).0
}

/// [`spawn`], also returning the tasks' handles (to await their end).
pub fn spawn_with_handles(
    deployment: Arc<Deployment>,
    cfg: SourcesConfig,
    cancel: CancellationToken,
) -> (
    watch::Receiver<Arc<Snapshot>>,
    Vec<tokio::task::JoinHandle<()>>,
) {
    let http = shared_http(&cfg);
    let plan = plan(&deployment, &cfg, &http);
    let (snap_tx, snap_rx) = watch::channel(Arc::new(Snapshot::empty()));
    let (tx, rx) = mpsc::channel::<Batch>(256);
    let cfg = Arc::new(cfg);
    let wake = Arc::new(ProbeWake::new(&plan.pollers));
    let mut handles = vec![tokio::spawn(run_scheduler(
        plan.pollers,
        http.clone(),
        cfg.clone(),
        tx.clone(),
        wake.clone(),
        cancel.clone(),
    ))];
    for w in plan.watchers {
        let task = match w.kind {
            DcsKind::Etcd => tokio::spawn(run_etcd_watch(
                w,
                http.clone(),
                cfg.clone(),
                tx.clone(),
                cancel.clone(),
            )),
            DcsKind::Consul => tokio::spawn(run_consul_watch(
                w,
                http.clone(),
                cfg.clone(),
                tx.clone(),
                cancel.clone(),
            )),
        };
        handles.push(task);
    }
    drop(tx);
    handles.push(tokio::spawn(run_merger(
        deployment, cfg, rx, snap_tx, wake, cancel,
    )));
    (snap_rx, handles)
}

/// Sleep until `deadline` unless cancelled; false when cancelled.
async fn sleep_until(deadline: tokio::time::Instant, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => false,
        _ = tokio::time::sleep_until(deadline) => true,
    }
}

/// Wakes the port probes of a node (by IP) before their period is over:
/// the merger raises the node's flag, the scheduler takes it.
struct ProbeWake {
    /// Node IP → index of its probe poller.
    index: std::collections::HashMap<String, usize>,
    /// Raised per poller index (only probe pollers' are ever raised).
    raised: Vec<std::sync::atomic::AtomicBool>,
    notify: tokio::sync::Notify,
}

impl ProbeWake {
    fn new(pollers: &[Poller]) -> Self {
        ProbeWake {
            index: pollers
                .iter()
                .enumerate()
                .filter_map(|(i, p)| match p {
                    Poller::Probe { ip, .. } => Some((ip.clone(), i)),
                    _ => None,
                })
                .collect(),
            raised: pollers
                .iter()
                .map(|_| std::sync::atomic::AtomicBool::new(false))
                .collect(),
            notify: tokio::sync::Notify::new(),
        }
    }

    /// Ask for the probes of the node on `ip` now.
    fn raise(&self, ip: &str) {
        if let Some(&i) = self.index.get(ip) {
            self.raised[i].store(true, std::sync::atomic::Ordering::Relaxed);
            self.notify.notify_one();
        }
    }

    /// The poller indices raised since the last call (lowered again).
    fn take(&self) -> impl Iterator<Item = usize> + '_ {
        self.index
            .values()
            .copied()
            .filter(|&i| self.raised[i].swap(false, std::sync::atomic::Ordering::Relaxed))
    }
}

/// Whether a batch counts as a failure of its source for the backoff: an
/// error, or probes of a host that answered on no port.
fn failed(b: &Batch) -> bool {
    match &b.result {
        Err(_) => true,
        Ok(Observation::Probes { results, .. }) => probe::host_silent(results),
        Ok(_) => false,
    }
}

/// How many polls run at once (each may make several requests; the
/// requests themselves are limited by `max_in_flight`): a large deployment's
/// thousands of sources then never have their polls, connections and buffers
/// all in memory at the same moment.
fn poll_slots(cfg: &SourcesConfig) -> usize {
    (cfg.max_in_flight / 2).max(1)
}

/// The share of its period after which poller `i` is due again after its
/// first poll, in (0, 1]: the fractional parts of multiples of the golden
/// ratio, which spread any run of consecutive pollers (each kind's are
/// consecutive) evenly over the period.
fn spread_share(i: usize) -> f64 {
    const PHI_FRACTION: f64 = 0.618_033_988_749_895;
    let f = ((i as f64 + 1.0) * PHI_FRACTION).fract();
    if f == 0.0 { 1.0 } else { f }
}

/// Runs every poller from one task (a large deployment has thousands):
/// each is due at its period (longer while it fails, see
/// [`SourcesConfig::backoff`]), at most [`poll_slots`] polls run at once,
/// and a poll's future exists only while it runs. A node's probes run at
/// once when the merger raises them in `wake`.
async fn run_scheduler(
    pollers: Vec<Poller>,
    http: Http,
    cfg: Arc<SourcesConfig>,
    tx: mpsc::Sender<Batch>,
    wake: Arc<ProbeWake>,
    cancel: CancellationToken,
) {
    use futures::StreamExt;
    use std::cmp::Reverse;
    use tokio::time::Instant as Due;

    let now = Due::now();
    let n = pollers.len();
    let periods: Vec<Duration> = pollers.iter().map(|p| p.period(&cfg)).collect();
    let ids: Vec<SourceId> = pollers.iter().map(Poller::id).collect();
    // A poller is `None` while its poll runs (the poll owns it).
    let mut idle: Vec<Option<Poller>> = pollers.into_iter().map(Some).collect();
    let mut failures = vec![0u32; n];
    // When each is due next; heap entries that no longer match are stale
    // (a woken probe was moved forward).
    let mut next_due = vec![now; n];
    let mut due: std::collections::BinaryHeap<Reverse<(Due, usize)>> =
        (0..n).map(|i| Reverse((now, i))).collect();
    // Woken while its poll ran: due again as soon as it ends.
    let mut woken_while_running = vec![false; n];
    let mut first_poll = vec![true; n];
    let mut running = futures::stream::FuturesUnordered::new();
    let max_running = poll_slots(&cfg);
    // Batches done, waiting for room in the merger's channel. No poll
    // starts while as many as there are pollers wait (a stalled merger
    // stops the polling instead of growing the queue).
    let mut outbox: std::collections::VecDeque<Batch> = std::collections::VecDeque::new();
    loop {
        let now = Due::now();
        while running.len() < max_running && outbox.len() < n {
            let Some(&Reverse((at, i))) = due.peek() else {
                break;
            };
            if at > now {
                break;
            }
            due.pop();
            if at != next_due[i] {
                continue;
            }
            let Some(mut p) = idle[i].take() else {
                continue;
            };
            let http = http.clone();
            let id = ids[i].clone();
            running.push(Box::pin(async move {
                let batch = p.batch(&http, id).await;
                (i, at, p, batch)
            }));
        }
        let next = if running.len() < max_running && outbox.len() < n {
            due.peek().map(|r| r.0.0)
        } else {
            None
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            Some((i, at, p, mut batch)) = running.next(), if !running.is_empty() => {
                idle[i] = Some(p);
                failures[i] = if failed(&batch) { failures[i] + 1 } else { 0 };
                let mut delay = if failures[i] == 0 {
                    periods[i]
                } else {
                    cfg.backoff(failures[i]).max(periods[i])
                };
                // Every source polls at once on start; after that first
                // poll each is due again after a different share of its
                // period, so the rounds spread over the interval instead
                // of all of their requests (with their connections and
                // buffers) being in flight at the same moment.
                if std::mem::take(&mut first_poll[i]) {
                    delay = delay.mul_f64(spread_share(i));
                }
                batch.next_in = Some(delay);
                next_due[i] = if std::mem::take(&mut woken_while_running[i]) {
                    Due::now()
                } else {
                    at + delay
                };
                due.push(Reverse((next_due[i], i)));
                outbox.push_back(batch);
            }
            // Handed over as the merger takes them: a merger busy building
            // a snapshot never holds up the polls in flight.
            permit = tx.reserve(), if !outbox.is_empty() => match permit {
                Ok(permit) => {
                    if let Some(b) = outbox.pop_front() {
                        permit.send(b);
                    }
                }
                Err(_) => return,
            },
            _ = wake.notify.notified() => {
                let now = Due::now();
                for i in wake.take() {
                    if idle[i].is_none() {
                        woken_while_running[i] = true;
                    } else if next_due[i] > now {
                        next_due[i] = now;
                        due.push(Reverse((now, i)));
                    }
                }
            }
            _ = tokio::time::sleep_until(next.unwrap_or(now)), if next.is_some() => {}
        }
    }
}

async fn send_error(
    tx: &mpsc::Sender<Batch>,
    id: &SourceId,
    at: SystemTime,
    e: SourceError,
    next: Duration,
) -> bool {
    tx.send(Batch {
        source: id.clone(),
        at,
        latency: at.elapsed().unwrap_or_default(),
        result: Err(e),
        next_in: Some(next),
    })
    .await
    .is_ok()
}

/// Watch a scope's keys in etcd: a range for the current state and its
/// revision, then `POST /v3/watch` from the next revision, forwarding every
/// event; on any failure report it, back off, and start over (next server).
async fn run_etcd_watch(
    w: Watcher,
    http: Http,
    cfg: Arc<SourcesConfig>,
    tx: mpsc::Sender<Batch>,
    cancel: CancellationToken,
) {
    let id = w.id();
    let mut failures = 0u32;
    let mut server = 0usize;
    loop {
        let (host, port) = &w.servers[server % w.servers.len()];
        let ep = etcd::EtcdEndpoint::new(host, *port);
        let at = SystemTime::now();
        let started = Instant::now();
        let err = match etcd_watch_once(
            &w,
            &ep,
            &http,
            &id,
            &tx,
            &cancel,
            at,
            started,
            &mut failures,
        )
        .await
        {
            WatchEnd::Cancelled => return,
            WatchEnd::Failed(e) => e,
        };
        failures += 1;
        server += 1;
        let delay = cfg.backoff(failures);
        if !send_error(&tx, &id, at, err, delay).await {
            return;
        }
        if !sleep_until(tokio::time::Instant::now() + delay, &cancel).await {
            return;
        }
    }
}

enum WatchEnd {
    Cancelled,
    Failed(SourceError),
}

#[allow(clippy::too_many_arguments)]
async fn etcd_watch_once(
    w: &Watcher,
    ep: &etcd::EtcdEndpoint,
    http: &Http,
    id: &SourceId,
    tx: &mpsc::Sender<Batch>,
    cancel: &CancellationToken,
    at: SystemTime,
    started: Instant,
    failures: &mut u32,
) -> WatchEnd {
    let name = ep.source_name();
    let fail = |detail: String, kind: ErrorKind| {
        WatchEnd::Failed(SourceError::new(
            &name,
            kind,
            format!("watch {}: {detail}", w.scope.prefix),
        ))
    };
    // 1. The current state, and the revision to watch from.
    let view = tokio::select! {
        _ = cancel.cancelled() => return WatchEnd::Cancelled,
        v = etcd::range_scope(http, ep, &w.scope) => v,
    };
    let views = match view {
        Ok(v) => v,
        Err(e) => return WatchEnd::Failed(e),
    };
    let Some(revision) = views.first().map(|(_, v)| v.revision) else {
        return WatchEnd::Failed(SourceError::new(&name, ErrorKind::Other, "no clusters"));
    };
    let first = Batch {
        source: id.clone(),
        at,
        latency: started.elapsed(),
        result: Ok(Observation::Dcs {
            kind: DcsKind::Etcd,
            clusters: views,
            services: None,
        }),
        next_in: None,
    };
    if tx.send(first).await.is_err() {
        return WatchEnd::Cancelled;
    }
    // 2. The watch stream (no total timeout: it lasts; connect is bounded).
    let url = format!("{}/v3/watch", ep.base);
    let req = http
        .client()
        .post(&url)
        .json(&etcd::watch_request(&w.scope.prefix, revision + 1));
    let resp = tokio::select! {
        _ = cancel.cancelled() => return WatchEnd::Cancelled,
        r = tokio::time::timeout(http.timeout, req.send()) => r,
    };
    let mut resp = match resp {
        Err(_) => {
            return fail(
                format!("no answer within {} ms", http.timeout.as_millis()),
                ErrorKind::Timeout,
            );
        }
        Ok(Err(e)) => {
            let e = http::from_reqwest(&name, &e);
            return fail(e.detail, e.kind);
        }
        Ok(Ok(r)) if !r.status().is_success() => {
            return fail(format!("HTTP {}", r.status()), ErrorKind::Http);
        }
        Ok(Ok(r)) => r,
    };
    let mut split = etcd::JsonObjects::new();
    loop {
        let chunk = tokio::select! {
            _ = cancel.cancelled() => return WatchEnd::Cancelled,
            c = resp.chunk() => c,
        };
        let bytes = match chunk {
            Ok(Some(b)) => b,
            Ok(None) => return fail("stream closed".into(), ErrorKind::Other),
            Err(e) => {
                let e = http::from_reqwest(&name, &e);
                return fail(e.detail, ErrorKind::Other);
            }
        };
        let objects = match split.push(&bytes) {
            Ok(o) => o,
            Err(e) => return fail(e, ErrorKind::Malformed),
        };
        for obj in objects {
            let at = SystemTime::now();
            match etcd::parse_watch_message(&name, &obj) {
                Err(e) => return WatchEnd::Failed(e),
                Ok(etcd::WatchMessage::Created { .. }) => *failures = 0,
                Ok(etcd::WatchMessage::Progress { .. }) => {}
                Ok(etcd::WatchMessage::Canceled {
                    reason,
                    compact_revision,
                }) => {
                    return fail(
                        format!("canceled by etcd (compacted at {compact_revision}) {reason}"),
                        ErrorKind::Api,
                    );
                }
                Ok(etcd::WatchMessage::Events { revision, events }) => {
                    // One batch per cluster the events touch (keys of
                    // other clusters under the namespace are left out).
                    let mut by_cluster: Vec<Vec<(String, Option<Vec<u8>>)>> =
                        vec![Vec::new(); w.scope.clusters.len()];
                    for e in events {
                        if let Some(i) = w.scope.cluster_of(&e.kv.key) {
                            let v = (e.kind == etcd::EventKind::Put).then_some(e.kv.value);
                            by_cluster[i].push((e.kv.key, v));
                        }
                    }
                    for (i, events) in by_cluster.into_iter().enumerate() {
                        if events.is_empty() {
                            continue;
                        }
                        let (cluster, prefix) = &w.scope.clusters[i];
                        let b = Batch {
                            source: id.clone(),
                            at,
                            latency: Duration::ZERO,
                            result: Ok(Observation::DcsEvents {
                                cluster: cluster.clone(),
                                prefix: prefix.clone(),
                                revision,
                                events,
                            }),
                            next_in: None,
                        };
                        if tx.send(b).await.is_err() {
                            return WatchEnd::Cancelled;
                        }
                    }
                }
            }
        }
    }
}

/// Watch a scope's keys (every cluster of the namespace) in Consul with
/// blocking queries.
async fn run_consul_watch(
    w: Watcher,
    http: Http,
    cfg: Arc<SourcesConfig>,
    tx: mpsc::Sender<Batch>,
    cancel: CancellationToken,
) {
    let id = w.id();
    let mut failures = 0u32;
    let mut server = 0usize;
    let mut index = 0i64;
    loop {
        let (host, port) = &w.servers[server % w.servers.len()];
        let ep = consul::ConsulEndpoint::new(host, *port);
        let at = SystemTime::now();
        let started = Instant::now();
        let r = tokio::select! {
            _ = cancel.cancelled() => return,
            r = consul::kv_scope(&http, &ep, &w.scope, index, cfg.consul_wait) => r,
        };
        match r {
            Ok((new_index, views)) => {
                failures = 0;
                let changed = new_index != index;
                // An index going backwards means Consul reset: start over.
                index = if new_index < index { 0 } else { new_index };
                let b = Batch {
                    source: id.clone(),
                    at,
                    latency: started.elapsed(),
                    result: Ok(Observation::Dcs {
                        kind: DcsKind::Consul,
                        clusters: views,
                        services: None,
                    }),
                    next_in: None,
                };
                if tx.send(b).await.is_err() {
                    return;
                }
                // Never spin: without a usable index, wait an interval.
                if (index == 0 || !changed)
                    && started.elapsed() < cfg.interval / 4
                    && !sleep_until(tokio::time::Instant::now() + cfg.interval, &cancel).await
                {
                    return;
                }
            }
            Err(e) => {
                failures += 1;
                server += 1;
                index = 0;
                let delay = cfg.backoff(failures);
                if !send_error(&tx, &id, at, e, delay).await {
                    return;
                }
                if !sleep_until(tokio::time::Instant::now() + delay, &cancel).await {
                    return;
                }
            }
        }
    }
}

/// How long the merger keeps collecting after a batch before it publishes:
/// the sources of one round answer within milliseconds of each other, and
/// one snapshot for all of them is one rebuild and one redraw instead of
/// one per source. A tenth of the interval, at most 100 ms.
pub fn settle_time(interval: Duration) -> Duration {
    (interval / 10).min(Duration::from_millis(100))
}

/// The merger: applies batches as they come, publishing once they settle
/// (see [`settle_time`]) and, for large deployments, not more often than
/// ten times the time a build takes; re-publishes after an interval without
/// news so ages and staleness stay current.
async fn run_merger(
    deployment: Arc<Deployment>,
    cfg: Arc<SourcesConfig>,
    mut rx: mpsc::Receiver<Batch>,
    out: watch::Sender<Arc<Snapshot>>,
    wake: Arc<ProbeWake>,
    cancel: CancellationToken,
) {
    let mut state = State::new(&cfg);
    let settle = settle_time(cfg.interval);
    let mut tick = tokio::time::interval(cfg.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let d = &*deployment;
    let apply = |state: &mut State, b: Batch| {
        if !wake.index.is_empty() {
            for ip in state.nodes_to_probe(d, &b) {
                wake.raise(&ip);
            }
        }
        state.apply(b);
    };
    // Building a snapshot of a large deployment takes milliseconds: keep
    // at least ten builds' time between two (at most half an interval), so
    // the merger stays under ~10 % of a core however the batches trickle in.
    let mut next_build = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            b = rx.recv() => {
                let Some(b) = b else { return };
                apply(&mut state, b);
                let until = (tokio::time::Instant::now() + settle).max(next_build);
                loop {
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        b = rx.recv() => match b {
                            Some(b) => apply(&mut state, b),
                            None => break,
                        },
                        _ = tokio::time::sleep_until(until) => break,
                    }
                }
            }
            _ = tick.tick() => {}
        }
        let started = tokio::time::Instant::now();
        let snap = state.build(&deployment, SystemTime::now());
        next_build = started + (started.elapsed() * 10).min(cfg.interval / 2);
        out.send_replace(Arc::new(snap));
        tick.reset();
    }
}

/// Read a recorded fixture under `tests/fixtures/sources/`.
#[cfg(test)]
pub(crate) fn fixture(path: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sources")
        .join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A deployment like the local sandbox: meta 127.0.0.10 and pg-test on
/// 127.0.0.11..13 (built by hand so unit tests need no inventory file).
#[cfg(test)]
pub(crate) fn test_deployment(dcs: DcsKind) -> Deployment {
    use crate::model::*;
    let ssh = |ip: &str| SshTarget {
        host: ip.into(),
        port: None,
        user: None,
        key_file: None,
    };
    let (dcs_name, dcs_port, dcs_kind) = match dcs {
        DcsKind::Etcd => ("etcd", 2379, ServiceKind::Etcd),
        DcsKind::Consul => ("consul", 8500, ServiceKind::ConsulServer),
    };
    let meta = InfraNode {
        ip: "127.0.0.10".into(),
        name: "meta".into(),
        seq: 1,
        services: vec![
            Service::new(ServiceKind::Prometheus, "Prometheus", 9090, "metrics")
                .with_health("/-/healthy"),
            Service::new(ServiceKind::Alertmanager, "Alertmanager", 9093, "alerts"),
            Service::new(dcs_kind, dcs_name, dcs_port, "dcs"),
            Service::new(ServiceKind::Ntp, "NTP", 123, "time").udp(),
        ],
        ssh: ssh("127.0.0.10"),
        vars: Default::default(),
    };
    let inst = |seq: u32, role: DeclaredRole| Instance {
        name: format!("pg-test-{seq}"),
        cluster: "pg-test".into(),
        ip: format!("127.0.0.1{seq}"),
        seq,
        role,
        offline_query: false,
        upstream: None,
        nodename: None,
        services: vec![
            Service::new(ServiceKind::Postgres, "Postgres", 5432, "db"),
            Service::new(ServiceKind::Pgbouncer, "Pgbouncer", 6432, "pool"),
            Service::new(ServiceKind::Patroni, "Patroni", 8008, "ha"),
            Service::new(ServiceKind::HaproxyService, "Haproxy Primary", 5433, "rw"),
            Service::new(ServiceKind::HaproxyService, "Haproxy Replica", 5434, "ro"),
            Service::new(ServiceKind::HaproxyAdmin, "Haproxy Admin", 9101, "stats"),
        ],
        ssh: ssh(&format!("127.0.0.1{seq}")),
        vars: Default::default(),
    };
    let svc = |name: &str, port: u16, check: &str| ClusterService {
        name: name.into(),
        port,
        dest: "pgbouncer".into(),
        check: Some(check.into()),
        selector: None,
    };
    Deployment {
        name: "local".into(),
        source: "inventory/local.yml".into(),
        generation: Generation::V3,
        version: None,
        dcs: Dcs {
            kind: dcs,
            servers: vec![DcsServer {
                name: "meta".into(),
                ip: "127.0.0.10".into(),
                port: dcs_port,
            }],
            namespace: "/pg".into(),
        },
        infra: vec![meta],
        clusters: vec![Cluster {
            name: "pg-test".into(),
            instances: vec![
                inst(1, DeclaredRole::Primary),
                inst(2, DeclaredRole::Replica),
                inst(3, DeclaredRole::Replica),
            ],
            services: vec![
                svc("primary", 5433, "/primary"),
                svc("replica", 5434, "/read-only"),
            ],
        }],
        endpoints: InfraEndpoints {
            prometheus: Some(Endpoint {
                host: "127.0.0.10".into(),
                port: 9090,
            }),
            alertmanager: Some(Endpoint {
                host: "127.0.0.10".into(),
                port: 9093,
            }),
            grafana: None,
        },
        patroni_auth: Some(Credentials {
            username: "postgres".into(),
            password: "Patroni.API".into(),
        }),
        warnings: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_polls_spread_evenly_over_the_period() {
        // Any run of consecutive pollers (each kind's are consecutive)
        // lands in every tenth of the period about as often.
        for (start, n) in [(0, 1000), (1000, 1000), (2000, 100)] {
            let mut tenths = [0usize; 10];
            for i in start..start + n {
                let f = spread_share(i);
                assert!(f > 0.0 && f <= 1.0, "share {f} of poller {i}");
                tenths[((f * 10.0) as usize).min(9)] += 1;
            }
            let (lo, hi) = (n / 10 - n / 50 - 1, n / 10 + n / 50 + 1);
            assert!(
                tenths.iter().all(|&c| c >= lo && c <= hi),
                "pollers {start}..{}: {tenths:?}",
                start + n
            );
        }
    }

    #[test]
    fn plan_covers_every_source() {
        let d = test_deployment(DcsKind::Etcd);
        let cfg = SourcesConfig::default();
        let http = shared_http(&cfg);
        let p = plan(&d, &cfg, &http);
        let names: Vec<String> = p.pollers.iter().map(|p| p.id().name.to_string()).collect();
        for n in [
            "patroni 127.0.0.11:8008",
            "patroni 127.0.0.13:8008",
            "etcd 127.0.0.10:2379",
            "prometheus http://127.0.0.10:9090",
            "alertmanager http://127.0.0.10:9093",
            "haproxy 127.0.0.12:9101",
            "probe 127.0.0.10",
            "probe 127.0.0.13",
        ] {
            assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
        }
        // Patroni's port is covered by its poller, not probed again.
        for p in &p.pollers {
            if let Poller::Probe { ip, targets } = p
                && ip != "127.0.0.10"
            {
                assert!(targets.iter().all(|t| t.port != 8008), "{targets:?}");
                assert!(targets.iter().any(|t| t.port == 5432), "{targets:?}");
            }
        }
        // One watch of the namespace, whatever the number of clusters.
        assert_eq!(p.watchers.len(), 1);
        assert_eq!(&*p.watchers[0].id().name, "etcd watch /pg/");
        assert_eq!(
            p.watchers[0].scope.clusters,
            [("pg-test".to_string(), "/pg/pg-test/".to_string())]
        );
        let d = test_deployment(DcsKind::Consul);
        let p = plan(&d, &cfg, &http);
        assert_eq!(p.watchers[0].scope.prefix, "pg/");
        assert!(
            p.pollers
                .iter()
                .any(|p| &*p.id().name == "consul 127.0.0.10:8500")
        );
    }

    #[test]
    fn probe_targets_include_cluster_services_once() {
        let d = test_deployment(DcsKind::Etcd);
        let t = probe_targets(&d, "127.0.0.11");
        let ports: Vec<u16> = t.iter().map(|t| t.port).collect();
        assert_eq!(ports, [5432, 6432, 8008, 5433, 5434, 9101]);
        let meta = probe_targets(&d, "127.0.0.10");
        assert!(meta.iter().any(|t| t.proto == crate::model::Proto::Udp));
        let prom = meta.iter().find(|t| t.port == 9090).unwrap();
        assert_eq!(prom.http_health.as_deref(), Some("/-/healthy"));
        // Exporters and the HAProxy admin port declare /metrics: connect only.
        let mut d = d;
        d.clusters[0].instances[0].services.push(
            crate::model::Service::new(
                crate::model::ServiceKind::PgExporter,
                "PG Exporter",
                9630,
                "metrics",
            )
            .with_health("/metrics"),
        );
        let t = probe_targets(&d, "127.0.0.11");
        let exporter = t.iter().find(|t| t.port == 9630).unwrap();
        assert_eq!(exporter.http_health, None);
    }

    #[test]
    fn settle_is_a_tenth_of_the_interval_at_most_100ms() {
        assert_eq!(
            settle_time(Duration::from_secs(2)),
            Duration::from_millis(100)
        );
        assert_eq!(
            settle_time(Duration::from_millis(500)),
            Duration::from_millis(50)
        );
    }

    /// Batches arriving close together make one snapshot; an interval
    /// without news re-publishes (fresh ages).
    #[tokio::test]
    async fn merger_publishes_once_per_burst_and_every_quiet_interval() {
        let d = Arc::new(test_deployment(DcsKind::Etcd));
        let cfg = Arc::new(SourcesConfig::with_interval(Duration::from_secs(1)));
        let (tx, rx) = mpsc::channel(16);
        let (out, mut snaps) = watch::channel(Arc::new(Snapshot::empty()));
        let cancel = CancellationToken::new();
        let merger = tokio::spawn(run_merger(
            d,
            cfg,
            rx,
            out,
            Arc::new(ProbeWake::new(&[])),
            cancel.clone(),
        ));
        // The first tick publishes at once.
        snaps.changed().await.unwrap();
        let first = snaps.borrow_and_update().seq;
        let batch = |ip: &str| Batch {
            source: SourceId {
                kind: SourceKind::Probe,
                name: format!("probe {ip}").into(),
                subject: Some(ip.to_string()),
            },
            at: SystemTime::now(),
            latency: Duration::from_millis(1),
            result: Ok(Observation::Probes {
                ip: ip.to_string(),
                results: Vec::new(),
            }),
            next_in: None,
        };
        let started = tokio::time::Instant::now();
        for ip in ["127.0.0.11", "127.0.0.12", "127.0.0.13"] {
            tx.send(batch(ip)).await.unwrap();
        }
        snaps.changed().await.unwrap();
        let s = snaps.borrow_and_update().clone();
        assert_eq!(s.seq, first + 1, "one snapshot for the burst");
        assert_eq!(s.sources.len(), 3, "{:?}", s.sources);
        assert!(started.elapsed() >= settle_time(Duration::from_secs(1)));
        // Nothing new: the next one comes an interval later.
        let quiet = tokio::time::Instant::now();
        snaps.changed().await.unwrap();
        assert_eq!(snaps.borrow_and_update().seq, first + 2);
        assert!(
            quiet.elapsed() >= Duration::from_millis(900),
            "{:?}",
            quiet.elapsed()
        );
        cancel.cancel();
        merger.await.unwrap();
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let cfg = SourcesConfig::default();
        assert_eq!(cfg.backoff(0), Duration::from_secs(2));
        assert_eq!(cfg.backoff(1), Duration::from_secs(2));
        assert_eq!(cfg.backoff(2), Duration::from_secs(4));
        assert_eq!(cfg.backoff(3), Duration::from_secs(8));
        assert_eq!(cfg.backoff(4), Duration::from_secs(10));
        assert_eq!(cfg.backoff(40), Duration::from_secs(10));
    }
}
