//! `pigsty-tui report -c CLUSTER [-o FILE] [--known-hosts FILE]`: poll every
//! source once, fetch the members' logs over SSH and write the Markdown
//! incident report (`triage::report`); prints its path. Exit 0 when
//! written (SSH failures are reported inside), 1 on errors, 3 for an
//! unknown cluster.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use color_eyre::eyre::{Result, eyre};

use crate::model::{Deployment, Instance};
use crate::sources::{self, SourcesConfig};
use crate::tasks::ssh::{SshConfig, SshPool, Target};
use crate::triage::{Timeline, events, report};

/// Options of one `report` run.
pub struct ReportOptions<'a> {
    pub cluster: &'a str,
    pub output: Option<PathBuf>,
    pub state_dir: PathBuf,
    /// `--known-hosts` / `PIGSTY_TUI_KNOWN_HOSTS`.
    pub known_hosts: Option<PathBuf>,
    pub sources: SourcesConfig,
}

/// SSH settings of headless commands: the user's OpenSSH configuration,
/// strict host keys, `known_hosts` replacing the usual files when given.
pub fn ssh_config(known_hosts: Option<PathBuf>) -> SshConfig {
    let mut c = SshConfig::load();
    if let Some(k) = known_hosts {
        c.known_hosts = Some(vec![k]);
    }
    c
}

pub fn run(deployment: Deployment, opts: ReportOptions<'_>) -> Result<i32> {
    if deployment.cluster(opts.cluster).is_none() {
        let known: Vec<&str> = deployment
            .clusters
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        eprintln!(
            "error: no cluster '{}' in {}; clusters: {}",
            opts.cluster,
            deployment.source.display(),
            known.join(", ")
        );
        return Ok(super::status::EXIT_UNKNOWN_CLUSTER);
    }
    let timeline = Timeline::load(events::default_path(&opts.state_dir)).unwrap_or_else(|e| {
        eprintln!("warning: cannot read the event timeline: {e}");
        Timeline::in_memory()
    });
    let path = opts
        .output
        .clone()
        .unwrap_or_else(|| report::default_path(&opts.state_dir, opts.cluster, SystemTime::now()));
    let deployment = Arc::new(deployment);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let written = runtime.block_on(async {
        let snap = sources::poll_once(deployment.clone(), opts.sources.clone()).await;
        let pool = SshPool::new(ssh_config(opts.known_hosts.clone()));
        let target_of = |i: &Instance| Target::from_instance(i);
        let r = report::generate(
            &pool,
            &deployment,
            &snap,
            opts.cluster,
            &timeline,
            &timeline,
            &target_of,
            &path,
        )
        .await;
        pool.close_all().await;
        r
    });
    let written = written.map_err(|e| eyre!("cannot write {}: {e}", path.display()))?;
    println!("{}", written.display());
    Ok(0)
}
