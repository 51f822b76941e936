//! Live state for pre-checks and wait steps: one cluster's Patroni members,
//! its DCS keys and its HAProxy stats, polled once per call through
//! [`crate::sources::poll_once`] on a deployment reduced to that cluster.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::model::Deployment;
use crate::snapshot::{ClusterLive, Snapshot};
use crate::sources::{self, Enabled, SourcesConfig};
use crate::tasks::Step;

/// Sources for actions: Patroni, the DCS and HAProxy (no Prometheus,
/// Alertmanager or port probes), no watches, short timeouts.
pub fn sources_config() -> SourcesConfig {
    SourcesConfig {
        interval: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(1),
        watch_dcs: false,
        enable: Enabled {
            patroni: true,
            dcs: true,
            prometheus: false,
            alertmanager: false,
            haproxy: true,
            probes: false,
        },
        ..SourcesConfig::default()
    }
}

/// The deployment reduced to one cluster (or all of them when `None`).
pub fn scoped(d: &Deployment, cluster: Option<&str>) -> Deployment {
    let mut s = d.clone();
    if let Some(name) = cluster {
        s.clusters.retain(|c| c.name == name);
    }
    s
}

/// Poll the live state of `cluster` (all clusters when `None`) once.
pub async fn snapshot(d: &Deployment, cluster: Option<&str>, cfg: &SourcesConfig) -> Snapshot {
    sources::poll_once(Arc::new(scoped(d, cluster)), cfg.clone()).await
}

/// One cluster's live state, polled on demand (cheap to clone).
#[derive(Clone)]
pub struct LiveView {
    deployment: Arc<Deployment>,
    cfg: SourcesConfig,
    cluster: String,
}

impl std::fmt::Debug for LiveView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveView")
            .field("cluster", &self.cluster)
            .finish_non_exhaustive()
    }
}

impl LiveView {
    pub fn new(d: &Deployment, cluster: &str, cfg: SourcesConfig) -> Self {
        LiveView {
            deployment: Arc::new(scoped(d, Some(cluster))),
            cfg,
            cluster: cluster.to_string(),
        }
    }

    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    pub async fn snapshot(&self) -> Snapshot {
        sources::poll_once(self.deployment.clone(), self.cfg.clone()).await
    }
}

/// What a wait condition found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// It holds (the text is noted in the task's output).
    Done(String),
    /// Not yet: what is missing (noted when it changes).
    Waiting(String),
    /// Give up with this reason.
    Failed(String),
}

/// A wait step polling `view` every second until `condition` is done.
pub fn wait_step<F>(
    name: impl Into<String>,
    view: LiveView,
    timeout: Duration,
    condition: F,
) -> Step
where
    F: Fn(&Snapshot, &ClusterLive) -> Progress + Send + Sync + 'static,
{
    let condition = Arc::new(condition);
    let last = Arc::new(Mutex::new(String::new()));
    Step::wait(name, move |ctx| {
        let view = view.clone();
        let condition = condition.clone();
        let last = last.clone();
        async move {
            let snap = view.snapshot().await;
            let p = match snap.cluster(view.cluster()) {
                Some(cl) => condition(&snap, cl),
                None => Progress::Waiting(format!("no live state of {}", view.cluster())),
            };
            match p {
                Progress::Done(m) => {
                    ctx.note(m);
                    Ok(true)
                }
                Progress::Waiting(m) => {
                    let mut l = last.lock().unwrap_or_else(|p| p.into_inner());
                    if *l != m {
                        ctx.note(format!("waiting: {m}"));
                        *l = m;
                    }
                    Ok(false)
                }
                Progress::Failed(m) => Err(m),
            }
        }
    })
    .timeout(timeout)
    .poll_every(Duration::from_secs(1))
}
