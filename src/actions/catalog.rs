//! The action catalog: the commands an action runs, with Pigsty's defaults
//! per generation, overridable per host, group or deployment through
//! inventory variables (see the table in [`crate::actions`]).
//!
//! Every command is a [`RemoteCommand`] whose script is exactly what is
//! shown to the operator (dry run, confirm dialog, audit log); only the
//! end-to-end HAProxy check hides its password in the display form.

use std::borrow::Cow;

use serde::Serialize;

use crate::inventory::defaults::default_var;
use crate::model::{Cluster, Deployment, Generation, Instance, var_str};
use crate::tasks::RemoteCommand;
use crate::tasks::shell::quote;

/// Pigsty's default `patronictl` configuration on a v1 meta node (run by
/// the admin user there; listed for reference, actions run on members).
pub const META_PATRONICTL_CONFIG: &str = "/etc/pigsty/patronictl.yml";
/// Default `pigsty_home`.
pub const DEFAULT_PIGSTY_HOME: &str = "~/pigsty";
/// Default backup directory of a member (`/pg/backup`, a link into `pg_fs_bkup`).
pub const DEFAULT_BACKUP_DIR: &str = "/pg/backup";
/// Patroni's default `maximum_lag_on_failover` (Pigsty's `pg_rpo`).
pub const DEFAULT_MAX_LAG: u64 = 1 << 20;
/// Inspection: `pg_data`'s filesystem this full (percent) warns …
pub const DEFAULT_DISK_WARN_PCT: u32 = 80;
/// … and this full fails.
pub const DEFAULT_DISK_FAIL_PCT: u32 = 90;

/// How backups are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupMethod {
    /// pgBackRest (Pigsty v2+): `pgbackrest --stanza=<cls> --type=… backup`.
    Pgbackrest,
    /// `pg_basebackup` into the member's backup directory (Pigsty v1).
    Basebackup,
}

impl BackupMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupMethod::Pgbackrest => "pgbackrest",
            BackupMethod::Basebackup => "basebackup",
        }
    }
}

/// pgBackRest backup types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackupType {
    #[default]
    Full,
    Diff,
    Incr,
}

impl BackupType {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupType::Full => "full",
            BackupType::Diff => "diff",
            BackupType::Incr => "incr",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "full" => Some(BackupType::Full),
            "diff" => Some(BackupType::Diff),
            "incr" => Some(BackupType::Incr),
            _ => None,
        }
    }
}

/// Pigsty's defaults for one generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Catalog {
    pub generation: Generation,
    /// `patronictl` (`patronictl_bin`).
    pub patronictl: String,
    /// Configuration files of `patronictl` on a member, the first readable
    /// one wins: v1/v2 `/pg/bin/patroni.yml`; v3+ `/etc/patroni/patroni.yml`,
    /// then `/pg/bin/patroni.yml`.
    pub patronictl_configs: Vec<String>,
    /// How `patronictl switchover` names the current leader: `--master`
    /// (Patroni 2, Pigsty v1) or `--leader` (Patroni 3+, Pigsty v2+).
    pub leader_flag: String,
    /// `pgbackrest` (`pgbackrest_bin`).
    pub pgbackrest: String,
    /// Default backup method of the generation.
    pub backup_method: BackupMethod,
    /// Pigsty's backup script (`/pg/bin/pg-backup`), for reference.
    pub backup_script: String,
    pub backup_dir: String,
    pub pigsty_home: String,
}

impl Catalog {
    /// The defaults of a generation.
    pub fn for_generation(generation: Generation) -> Self {
        let v1 = generation == Generation::V1;
        let configs: &[&str] = match generation {
            Generation::V1 | Generation::V2 => &["/pg/bin/patroni.yml"],
            Generation::V3 | Generation::V4 => &["/etc/patroni/patroni.yml", "/pg/bin/patroni.yml"],
        };
        Catalog {
            generation,
            patronictl: "patronictl".into(),
            patronictl_configs: configs.iter().map(|s| s.to_string()).collect(),
            leader_flag: if v1 { "--master" } else { "--leader" }.into(),
            pgbackrest: "pgbackrest".into(),
            backup_method: if v1 {
                BackupMethod::Basebackup
            } else {
                BackupMethod::Pgbackrest
            },
            backup_script: "/pg/bin/pg-backup".into(),
            backup_dir: DEFAULT_BACKUP_DIR.into(),
            pigsty_home: DEFAULT_PIGSTY_HOME.into(),
        }
    }

    /// The defaults of the deployment's generation.
    pub fn of(d: &Deployment) -> Self {
        Self::for_generation(d.generation)
    }

    /// Settings of one member: its inventory variables over the defaults.
    pub fn host(&self, d: &Deployment, inst: &Instance) -> HostSettings {
        let var = |name: &str| -> Option<String> {
            var_str(&inst.vars, name)
                .or_else(|| {
                    default_var(d.generation, d.version.as_deref(), name).and_then(|v| match v {
                        serde_json::Value::String(s) => Some(Cow::Owned(s)),
                        serde_json::Value::Number(n) => Some(Cow::Owned(n.to_string())),
                        serde_json::Value::Bool(b) => Some(Cow::Owned(b.to_string())),
                        _ => None,
                    })
                })
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let explicit = |name: &str| -> Option<String> {
            var_str(&inst.vars, name)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let pgbackrest_config = explicit("pgbackrest_config");
        let backup_method = match explicit("pg_backup_method").as_deref() {
            Some("pgbackrest") => BackupMethod::Pgbackrest,
            Some("basebackup") | Some("pg_basebackup") => BackupMethod::Basebackup,
            _ if pgbackrest_config.is_some() => BackupMethod::Pgbackrest,
            _ if explicit("pgbackrest_enabled").as_deref() == Some("false") => {
                BackupMethod::Basebackup
            }
            _ => self.backup_method,
        };
        HostSettings {
            instance: inst.name.clone(),
            cluster: inst.cluster.clone(),
            ip: inst.ip.clone(),
            dbsu: var("pg_dbsu").unwrap_or_else(|| "postgres".into()),
            patronictl: explicit("patronictl_bin").unwrap_or_else(|| self.patronictl.clone()),
            patronictl_configs: match explicit("patronictl_config") {
                Some(c) => vec![c],
                None => self.patronictl_configs.clone(),
            },
            leader_flag: explicit("patronictl_leader_flag")
                .unwrap_or_else(|| self.leader_flag.clone()),
            pgbackrest: explicit("pgbackrest_bin").unwrap_or_else(|| self.pgbackrest.clone()),
            pgbackrest_config,
            stanza: explicit("pgbackrest_stanza").unwrap_or_else(|| inst.cluster.clone()),
            backup_method,
            backup_dir: explicit("pg_backup_dir").unwrap_or_else(|| self.backup_dir.clone()),
            pigsty_home: explicit("pigsty_home").unwrap_or_else(|| self.pigsty_home.clone()),
            pg_localhost: var("pg_localhost"),
            pg_port: inst.pg_port(),
            pg_data: var("pg_data").unwrap_or_else(|| "/pg/data".into()),
            pg_bin_dir: var("pg_bin_dir"),
            patroni_port: inst.patroni_port(),
            patroni_ssl: var("patroni_ssl_enabled").as_deref() == Some("true"),
            max_lag: var("pg_rpo")
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(DEFAULT_MAX_LAG),
            disk_warn_pct: explicit("inspect_disk_warn_pct")
                .and_then(|s| s.trim_end_matches('%').parse().ok())
                .unwrap_or(DEFAULT_DISK_WARN_PCT),
            disk_fail_pct: explicit("inspect_disk_fail_pct")
                .and_then(|s| s.trim_end_matches('%').parse().ok())
                .unwrap_or(DEFAULT_DISK_FAIL_PCT),
        }
    }
}

/// What the catalog's commands need to know about one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostSettings {
    pub instance: String,
    pub cluster: String,
    pub ip: String,
    /// `pg_dbsu`.
    pub dbsu: String,
    pub patronictl: String,
    /// `patronictl_config`, or the generation's candidates (first readable wins).
    pub patronictl_configs: Vec<String>,
    pub leader_flag: String,
    pub pgbackrest: String,
    /// `pgbackrest_config` (`--config=` is only passed when set).
    pub pgbackrest_config: Option<String>,
    /// `pgbackrest_stanza`, default the cluster name.
    pub stanza: String,
    pub backup_method: BackupMethod,
    /// `pg_backup_dir` (pg_basebackup target), default `/pg/backup`.
    pub backup_dir: String,
    /// `pigsty_home` on the admin node.
    pub pigsty_home: String,
    /// `pg_localhost`: the unix socket directory (`-h` of local clients).
    pub pg_localhost: Option<String>,
    pub pg_port: u16,
    /// `pg_data`.
    pub pg_data: String,
    /// `pg_bin_dir`, where `pg_basebackup` is.
    pub pg_bin_dir: Option<String>,
    pub patroni_port: u16,
    pub patroni_ssl: bool,
    /// `pg_rpo` (Pigsty's `maximum_lag_on_failover`), default 1 MiB.
    pub max_lag: u64,
    /// Inspection disk thresholds (percent used of `pg_data`'s filesystem):
    /// `inspect_disk_warn_pct` (default 80) and `inspect_disk_fail_pct`
    /// (default 90).
    pub disk_warn_pct: u32,
    pub disk_fail_pct: u32,
}

/// Pattern of patronictl output lines that mean failure even when it exits 0
/// (`Switchover failed, details: 412, …`, `Failed: restart for member …`).
const PATRONICTL_FAILED: &str = "/^Error: |[Ff]ailed: |[Ff]ailed, details/";

impl HostSettings {
    /// `patronictl -c <config> <args…>`, failing when patronictl reports a
    /// failure it does not turn into an exit code.
    pub fn patronictl(&self, args: &[&str]) -> RemoteCommand {
        let words: Vec<String> = args.iter().map(|a| quote(a).into_owned()).collect();
        let cfg_and_cmd = match self.patronictl_configs.as_slice() {
            [one] => format!(
                "{} -c {} {}",
                quote(&self.patronictl),
                quote(one),
                words.join(" ")
            ),
            list => {
                let first = list
                    .first()
                    .map(String::as_str)
                    .unwrap_or("/pg/bin/patroni.yml");
                let all: Vec<String> = list.iter().map(|c| quote(c).into_owned()).collect();
                format!(
                    "c={}; for x in {}; do [ -r \"$x\" ] && {{ c=$x; break; }}; done; {} -c \"$c\" {}",
                    quote(first),
                    all.join(" "),
                    quote(&self.patronictl),
                    words.join(" ")
                )
            }
        };
        RemoteCommand::dbsu(format!(
            "set -o pipefail; {cfg_and_cmd} 2>&1 | awk '{{ print; fflush() }} {PATRONICTL_FAILED} {{ bad = 1 }} END {{ exit bad }}'"
        ))
    }

    pub fn switchover(
        &self,
        cluster: &str,
        leader: &str,
        candidate: &str,
        scheduled: Option<&str>,
    ) -> RemoteCommand {
        let mut args = vec![
            "switchover",
            cluster,
            self.leader_flag.as_str(),
            leader,
            "--candidate",
            candidate,
            "--force",
        ];
        if let Some(t) = scheduled {
            args.extend(["--scheduled", t]);
        }
        self.patronictl(&args)
    }

    pub fn failover(&self, cluster: &str, candidate: &str) -> RemoteCommand {
        self.patronictl(&["failover", cluster, "--candidate", candidate, "--force"])
    }

    pub fn restart(&self, cluster: &str, member: Option<&str>) -> RemoteCommand {
        let mut args = vec!["restart", cluster];
        args.extend(member);
        args.push("--force");
        self.patronictl(&args)
    }

    pub fn reload(&self, cluster: &str, member: Option<&str>) -> RemoteCommand {
        let mut args = vec!["reload", cluster];
        args.extend(member);
        args.push("--force");
        self.patronictl(&args)
    }

    pub fn reinit(&self, cluster: &str, member: &str) -> RemoteCommand {
        self.patronictl(&["reinit", cluster, member, "--force", "--wait"])
    }

    pub fn pause(&self, cluster: &str) -> RemoteCommand {
        self.patronictl(&["pause", cluster, "--wait"])
    }

    pub fn resume(&self, cluster: &str) -> RemoteCommand {
        self.patronictl(&["resume", cluster, "--wait"])
    }

    fn pgbackrest_words(&self) -> Vec<String> {
        let mut w = vec![quote(&self.pgbackrest).into_owned()];
        if let Some(c) = &self.pgbackrest_config {
            w.push(quote(&format!("--config={c}")).into_owned());
        }
        w.push(quote(&format!("--stanza={}", self.stanza)).into_owned());
        w
    }

    /// `pgbackrest [--config=…] --stanza=<cls> --type=<t> backup`.
    pub fn pgbackrest_backup(&self, kind: BackupType) -> RemoteCommand {
        let mut w = self.pgbackrest_words();
        w.push(format!("--type={}", kind.as_str()));
        w.push("backup".into());
        RemoteCommand::dbsu(w.join(" "))
    }

    /// `pgbackrest [--config=…] --stanza=<cls> --output=json info`.
    pub fn pgbackrest_info(&self) -> RemoteCommand {
        let mut w = self.pgbackrest_words();
        w.push("--output=json".into());
        w.push("info".into());
        RemoteCommand::dbsu(w.join(" "))
    }

    fn bin(&self, name: &str) -> String {
        match &self.pg_bin_dir {
            Some(d) => quote(&format!("{}/{name}", d.trim_end_matches('/'))).into_owned(),
            None => name.to_string(),
        }
    }

    /// `-h <socket dir> -p <port>` for local clients.
    fn local_conn(&self) -> String {
        match &self.pg_localhost {
            Some(h) => format!("-h {} -p {}", quote(h), self.pg_port),
            None => format!("-p {}", self.pg_port),
        }
    }

    /// A full base backup (tar, gzip) into `<backup_dir>/backup_<cls>_<time>`.
    pub fn basebackup(&self) -> RemoteCommand {
        RemoteCommand::dbsu(format!(
            "d={}/backup_{}_$(date +%Y%m%dT%H%M%S) && mkdir -p \"$d\" && {} {} -D \"$d\" -Ft -z -c fast -v",
            quote(&self.backup_dir),
            quote(&self.cluster),
            self.bin("pg_basebackup"),
            self.local_conn(),
        ))
    }

    /// The base backups of the backup directory, one line each:
    /// `name<TAB>bytes<TAB>mtime (epoch seconds)`.
    pub fn basebackup_list(&self) -> RemoteCommand {
        RemoteCommand::dbsu(format!(
            "cd {} 2>/dev/null || exit 0; for f in backup_*; do [ -e \"$f\" ] || continue; \
             printf '%s\\t%s\\t%s\\n' \"$f\" \"$(du -sb \"$f\" | cut -f1)\" \"$(stat -c %Y \"$f\")\"; done",
            quote(&self.backup_dir)
        ))
    }

    /// End-to-end check of a HAProxy service on `ip:port`: connect as
    /// `user` and fail unless the server is a primary. The password is in
    /// the script (environment, never on a command line) and hidden from
    /// the display form.
    pub fn haproxy_primary_check(
        &self,
        ip: &str,
        port: u16,
        db: &str,
        user: &str,
        password: &str,
    ) -> RemoteCommand {
        let conn = format!("host={ip} port={port} dbname={db} user={user} connect_timeout=5");
        let tail = format!(
            "psql {} -tAX -F ' ' -c 'select pg_is_in_recovery(), inet_server_addr()'); echo \"$r\"; [ \"${{r%% *}}\" = f ]",
            quote(&conn)
        );
        RemoteCommand::dbsu(format!("r=$(PGPASSWORD={} {tail}", quote(password)))
            .with_display(format!("r=$(PGPASSWORD=*** {tail}"))
    }
}

/// Settings of every member of a cluster, in inventory order.
pub fn cluster_hosts(d: &Deployment, c: &Cluster) -> Vec<HostSettings> {
    let cat = Catalog::of(d);
    c.instances.iter().map(|i| cat.host(d, i)).collect()
}

/// A string variable of an instance, else Pigsty's default for it.
pub fn var_or_default(d: &Deployment, inst: &Instance, name: &str) -> Option<String> {
    if let Some(v) = var_str(&inst.vars, name) {
        return Some(v.into_owned());
    }
    match default_var(d.generation, d.version.as_deref(), name)? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
