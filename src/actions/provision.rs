//! Provisioning actions: Pigsty's playbooks run on the admin node, from the
//! Pigsty home, as the admin user, with pigsty-tui's progress callback
//! ([`super::playbook`]).
//!
//! | action | v1 | v2, v3, v4 |
//! |---|---|---|
//! | create-cluster C | `./pgsql.yml -l C` | same |
//! | remove-cluster C | `./pgsql-remove.yml -l C` | `./pgsql-rm.yml -l C` |
//! | add-instance C IP… | `./pgsql.yml -l IP,…` | same (`bin/pgsql-add C IP…`) |
//! | remove-instance C IP… | `./pgsql-remove.yml -l IP,…` | `./pgsql-rm.yml -l IP,…` (`bin/pgsql-rm C IP…`) |
//! | create-database C D | `./pgsql-createdb.yml -l C -e pg_database=D` | `./pgsql-db.yml -l C -e dbname=D` |
//! | create-user C U | `./pgsql-createuser.yml -l C -e pg_user=U` | `./pgsql-user.yml -l C -e username=U` |
//! | reload-hba C | `./pgsql.yml -l C -t pg_hba` | `./pgsql.yml -l C -t pg_hba,pg_reload` |
//! | reload-services C | `./pgsql.yml -l C -t haproxy_config,haproxy_reload` | `./pgsql.yml -l C -t pg_service` |
//! | infra | `./infra.yml` | same |
//!
//! The admin node is the infra node at `admin_ip` (else the first infra
//! node); the Pigsty home is its `pigsty_home` (default `~/pigsty`). The
//! hosts a playbook provisions must be declared in the inventory first, as
//! with Pigsty itself: edit `pigsty.yml`, then run the playbook.

use std::time::Duration;

use super::live::Progress;
use super::playbook::{CALLBACK_NAME, CALLBACK_PLUGIN};
use super::{Draft, Output, Planner, checks, live};
use crate::actions::{ActionPlan, Refusal};
use crate::model::{Cluster, Deployment, Generation, InfraNode, Instance};
use crate::snapshot::ClusterLive;
use crate::tasks::shell::{RemoteCommand, quote};
use crate::tasks::ssh::Target;
use crate::tasks::{Pipeline, Step};

/// Where pigsty-tui puts its callback plugin on the admin node.
pub const CALLBACK_DIR: &str = "${XDG_CACHE_HOME:-$HOME/.cache}/pigsty-tui/ansible";

/// What a provisioning action asks of Pigsty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybookCall {
    /// `pgsql.yml` (run as `./pgsql.yml`).
    pub playbook: String,
    /// `-l`
    pub limit: Option<String>,
    /// `-t`
    pub tags: Option<String>,
    /// `-e name=value`
    pub extra_vars: Vec<(String, String)>,
}

impl PlaybookCall {
    /// `./<playbook>` without limit, tags or extra vars.
    pub fn new(playbook: &str) -> Self {
        PlaybookCall {
            playbook: playbook.into(),
            limit: None,
            tags: None,
            extra_vars: Vec::new(),
        }
    }

    fn limit(mut self, l: impl Into<String>) -> Self {
        self.limit = Some(l.into());
        self
    }

    fn tags(mut self, t: &str) -> Self {
        self.tags = Some(t.into());
        self
    }

    fn extra(mut self, k: &str, v: &str) -> Self {
        self.extra_vars.push((k.into(), v.into()));
        self
    }

    /// The argv after `./`: `pgsql.yml -l pg-test -e dbname=x`.
    pub fn words(&self) -> Vec<String> {
        let mut w = vec![format!("./{}", self.playbook)];
        if let Some(l) = &self.limit {
            w.push("-l".into());
            w.push(l.clone());
        }
        if let Some(t) = &self.tags {
            w.push("-t".into());
            w.push(t.clone());
        }
        for (k, v) in &self.extra_vars {
            w.push("-e".into());
            w.push(format!("{k}={v}"));
        }
        w
    }

    /// The command line, quoted for a shell.
    pub fn command_line(&self) -> String {
        crate::tasks::shell::join(self.words())
    }
}

/// The provisioning operations, with Pigsty's playbook per generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provision<'a> {
    CreateCluster(&'a str),
    RemoveCluster(&'a str),
    AddInstance(&'a [String]),
    RemoveInstance(&'a [String]),
    CreateDatabase(&'a str, &'a str),
    CreateUser(&'a str, &'a str),
    ReloadHba(&'a str),
    ReloadServices(&'a str),
    Infra,
}

impl Provision<'_> {
    /// The playbook call of Pigsty `generation`.
    pub fn call(&self, generation: Generation) -> PlaybookCall {
        let v1 = generation == Generation::V1;
        let rm = if v1 {
            "pgsql-remove.yml"
        } else {
            "pgsql-rm.yml"
        };
        match self {
            Provision::CreateCluster(c) => PlaybookCall::new("pgsql.yml").limit(*c),
            Provision::RemoveCluster(c) => PlaybookCall::new(rm).limit(*c),
            Provision::AddInstance(ips) => PlaybookCall::new("pgsql.yml").limit(ips.join(",")),
            Provision::RemoveInstance(ips) => PlaybookCall::new(rm).limit(ips.join(",")),
            Provision::CreateDatabase(c, db) if v1 => PlaybookCall::new("pgsql-createdb.yml")
                .limit(*c)
                .extra("pg_database", db),
            Provision::CreateDatabase(c, db) => PlaybookCall::new("pgsql-db.yml")
                .limit(*c)
                .extra("dbname", db),
            Provision::CreateUser(c, u) if v1 => PlaybookCall::new("pgsql-createuser.yml")
                .limit(*c)
                .extra("pg_user", u),
            Provision::CreateUser(c, u) => PlaybookCall::new("pgsql-user.yml")
                .limit(*c)
                .extra("username", u),
            Provision::ReloadHba(c) if v1 => {
                PlaybookCall::new("pgsql.yml").limit(*c).tags("pg_hba")
            }
            Provision::ReloadHba(c) => PlaybookCall::new("pgsql.yml")
                .limit(*c)
                .tags("pg_hba,pg_reload"),
            Provision::ReloadServices(c) if v1 => PlaybookCall::new("pgsql.yml")
                .limit(*c)
                .tags("haproxy_config,haproxy_reload"),
            Provision::ReloadServices(c) => {
                PlaybookCall::new("pgsql.yml").limit(*c).tags("pg_service")
            }
            Provision::Infra => PlaybookCall::new("infra.yml"),
        }
    }
}

/// The admin node of a deployment: the infra node at `admin_ip`, else the
/// first infra node.
pub fn admin_node(d: &Deployment) -> Option<&InfraNode> {
    let admin_ip = d
        .infra
        .iter()
        .find_map(|n| crate::model::var_str(&n.vars, "admin_ip").map(|s| s.into_owned()));
    admin_ip
        .and_then(|ip| d.infra.iter().find(|n| n.ip == ip))
        .or_else(|| d.infra.first())
}

/// `cd` into the Pigsty home (`~/…` relative to the admin user's home).
pub fn cd_home(home: &str) -> String {
    let cd = match home.strip_prefix("~/") {
        Some(rest) => format!("cd \"$HOME\"/{}", quote(rest)),
        None if home == "~" => "cd \"$HOME\"".into(),
        None => format!("cd {}", quote(home)),
    };
    let shown = home.replace('\'', "");
    format!(
        "{cd} 2>/dev/null || {{ echo \"pigsty home {shown} not found on $(hostname) as $(id -un) \
         (set pigsty_home in the inventory)\" >&2; exit 2; }}"
    )
}

/// The script that installs the callback plugin on the admin node.
pub fn install_callback_script() -> String {
    let b64 = crate::encoding::b64_encode(CALLBACK_PLUGIN.as_bytes());
    format!(
        "set -e; d=\"{CALLBACK_DIR}\"; mkdir -p \"$d\"; \
         printf '%s' '{b64}' | base64 -d > \"$d/{CALLBACK_NAME}.py.tmp\"; \
         mv -f \"$d/{CALLBACK_NAME}.py.tmp\" \"$d/{CALLBACK_NAME}.py\"; \
         command -v ansible-playbook >/dev/null || {{ echo 'ansible-playbook not found on the admin node (PATH='\"$PATH\"')' >&2; exit 127; }}; \
         echo \"callback plugin installed in $d\""
    )
}

/// The script that runs a playbook in the Pigsty home with the callback.
pub fn playbook_script(home: &str, call: &PlaybookCall) -> String {
    format!(
        "{}\nexport ANSIBLE_CALLBACK_PLUGINS=\"{CALLBACK_DIR}\" ANSIBLE_STDOUT_CALLBACK={CALLBACK_NAME} \
         ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_RETRY_FILES_ENABLED=0 PYTHONUNBUFFERED=1\n\
         exec {}",
        cd_home(home),
        call.command_line()
    )
}

/// Step names of a provisioning pipeline (the playbook step is read back by
/// the progress view).
pub const STEP_CALLBACK: &str = "install the progress callback";

impl<'a> Planner<'a> {
    fn admin(&self) -> Result<(Target, String), Refusal> {
        let n = admin_node(self.d).ok_or_else(|| {
            self.invalid(format!(
                "{} declares no infra/meta node: no admin node to run Pigsty's playbooks on",
                self.d.source.display()
            ))
        })?;
        let home = crate::model::var_str(&n.vars, "pigsty_home")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| self.cat.pigsty_home.clone());
        Ok((Target::from_infra(n).with_name(n.name.clone()), home))
    }

    /// The pipeline: install the callback, run the playbook, then `after`.
    fn playbook_pipeline(&self, call: &PlaybookCall) -> Result<(Pipeline, String), Refusal> {
        let (target, home) = self.admin()?;
        let shown = format!("cd {home} && {}", call.command_line());
        let p = self
            .pipeline()
            .step(
                Step::command(
                    STEP_CALLBACK,
                    target.clone(),
                    RemoteCommand::admin(install_callback_script()).with_display(format!(
                        "write pigsty-tui's ansible callback to {CALLBACK_DIR}/{CALLBACK_NAME}.py"
                    )),
                )
                .timeout(Duration::from_secs(60)),
            )
            .step(
                Step::command(
                    format!("run {}", call.playbook),
                    target.clone(),
                    RemoteCommand::admin(playbook_script(&home, call)).with_display(shown),
                )
                .timeout(self.opts.playbook_timeout),
            );
        Ok((p, target.name))
    }

    fn declared_ips(&self, c: &'a Cluster, ips: &[String]) -> Result<Vec<&'a Instance>, Refusal> {
        if ips.is_empty() {
            return Err(self.invalid("no instance IP given".into()));
        }
        let mut out = Vec::new();
        for ip in ips {
            match c.instances.iter().find(|i| &i.ip == ip || &i.name == ip) {
                Some(i) => out.push(i),
                None => {
                    return Err(self.invalid(format!(
                        "{ip} is not declared in {} (inventory {}): add it under {}.hosts \
                         with its pg_seq and pg_role first, as Pigsty needs, then run again",
                        c.name,
                        self.d.source.display(),
                        c.name
                    )));
                }
            }
        }
        Ok(out)
    }

    fn cluster_state(&self, c: &Cluster) -> Option<&'a ClusterLive> {
        self.snap.cluster(&c.name)
    }

    pub(super) fn provision(
        &self,
        c: Option<&'a Cluster>,
        op: Provision<'_>,
    ) -> Result<ActionPlan, Refusal> {
        // Instances may be named by IP or instance name: Ansible's `-l`
        // needs the inventory's host keys (IPs).
        let resolved: Option<Vec<String>> = match (&op, c) {
            (Provision::AddInstance(ips) | Provision::RemoveInstance(ips), Some(c)) => Some(
                self.declared_ips(c, ips)?
                    .iter()
                    .map(|i| i.ip.clone())
                    .collect(),
            ),
            _ => None,
        };
        let call = match (&op, &resolved) {
            (Provision::AddInstance(_), Some(ips)) => {
                Provision::AddInstance(ips).call(self.d.generation)
            }
            (Provision::RemoveInstance(_), Some(ips)) => {
                Provision::RemoveInstance(ips).call(self.d.generation)
            }
            _ => op.call(self.d.generation),
        };
        let mut checks_ok = Vec::new();
        let mut warnings = Vec::new();
        let (mut p, admin) = self.playbook_pipeline(&call)?;
        checks_ok.push(format!(
            "admin node {admin}: playbooks run from the Pigsty home there"
        ));
        let description;
        match (op, c) {
            (Provision::Infra, _) => {
                description =
                    "(re)configure the infrastructure on the admin node (Pigsty's infra.yml)"
                        .to_string();
            }
            (_, None) => return Err(self.invalid("no cluster given".into())),
            (Provision::CreateCluster(_), Some(c)) => {
                if let Some(cl) = self.cluster_state(c)
                    && let Ok(l) = checks::healthy_leader(cl)
                {
                    return Err(self.refuse(vec![format!(
                        "{} already runs (leader {}): use add-instance for new members",
                        c.name, l.name
                    )]));
                }
                checks_ok.push(format!("{} has no running leader", c.name));
                description = format!(
                    "create cluster {} on {} ({} members)",
                    c.name,
                    c.instances
                        .iter()
                        .map(|i| i.ip.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    c.instances.len()
                );
                let n = c.instances.len();
                p.push(live::wait_step(
                    format!("{} has a leader and {} running members", c.name, n),
                    self.view(c),
                    self.opts.wait_timeout,
                    move |_s, cl| members_running(cl, n),
                ));
            }
            (Provision::RemoveCluster(_), Some(c)) => {
                if let Some(cl) = self.cluster_state(c) {
                    let running: Vec<&str> = cl
                        .members
                        .iter()
                        .filter(|m| checks::is_reachable(m))
                        .map(|m| m.name.as_str())
                        .collect();
                    if !running.is_empty() {
                        warnings.push(format!(
                            "{} is running ({}): its data will be removed",
                            c.name,
                            running.join(", ")
                        ));
                    }
                }
                description = format!(
                    "remove cluster {}: stop and delete every instance ({})",
                    c.name,
                    c.instances
                        .iter()
                        .map(|i| i.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let view = self.view(c);
                p.push(live::wait_step(
                    format!("no member of {} answers", c.name),
                    view,
                    self.opts.wait_timeout,
                    |_s, cl| {
                        let up: Vec<&str> = cl
                            .members
                            .iter()
                            .filter(|m| m.reachable == Some(true))
                            .map(|m| m.name.as_str())
                            .collect();
                        if up.is_empty() {
                            Progress::Done("no member's Patroni answers".into())
                        } else {
                            Progress::Waiting(format!("still answering: {}", up.join(", ")))
                        }
                    },
                ));
                warnings.push(format!(
                    "afterwards remove {} from {} (pigsty-tui keeps showing declared members)",
                    c.name,
                    self.d.source.display()
                ));
            }
            (Provision::AddInstance(ips), Some(c)) => {
                let insts = self.declared_ips(c, ips)?;
                let cl = self.live(c)?;
                let leader = checks::healthy_leader(cl).map_err(|e| self.refuse(vec![e]))?;
                checks_ok.push(format!("{} leads {}", leader.name, c.name));
                for i in &insts {
                    if let Some(m) = cl.member(&i.name)
                        && checks::is_reachable(m)
                        && checks::is_running(m)
                    {
                        return Err(self.refuse(vec![format!(
                            "{} ({}) already runs as a member of {}",
                            i.name, i.ip, c.name
                        )]));
                    }
                    checks_ok.push(format!("{} ({}) is declared and not running", i.name, i.ip));
                }
                description = format!(
                    "add {} to {}: install and start the instance, which joins as a replica of {}",
                    insts
                        .iter()
                        .map(|i| format!("{} ({})", i.name, i.ip))
                        .collect::<Vec<_>>()
                        .join(", "),
                    c.name,
                    leader.name
                );
                let names: Vec<String> = insts.iter().map(|i| i.name.clone()).collect();
                p.push(live::wait_step(
                    format!("{} streams from the leader", names.join(", ")),
                    self.view(c),
                    self.opts.wait_timeout,
                    move |_s, cl| members_streaming(cl, &names),
                ));
            }
            (Provision::RemoveInstance(ips), Some(c)) => {
                let insts = self.declared_ips(c, ips)?;
                if let Some(cl) = self.cluster_state(c)
                    && let Some(leader) = cl.leader()
                    && let Some(i) = insts.iter().find(|i| i.name == leader)
                {
                    return Err(self.refuse(vec![format!(
                        "{} is the leader of {}: switch over first, or remove the whole cluster",
                        i.name, c.name
                    )]));
                }
                if insts.len() == c.instances.len() {
                    return Err(self.refuse(vec![format!(
                        "that is every member of {}: use remove-cluster",
                        c.name
                    )]));
                }
                checks_ok.push("no instance to remove is the leader".into());
                description = format!(
                    "remove {} from {}: stop the instance and delete its data",
                    insts
                        .iter()
                        .map(|i| format!("{} ({})", i.name, i.ip))
                        .collect::<Vec<_>>()
                        .join(", "),
                    c.name
                );
                let names: Vec<String> = insts.iter().map(|i| i.name.clone()).collect();
                p.push(live::wait_step(
                    format!("{} left {}", names.join(", "), c.name),
                    self.view(c),
                    self.opts.wait_timeout,
                    move |_s, cl| members_gone(cl, &names),
                ));
                warnings.push(format!(
                    "afterwards remove {} from {}.hosts in {}",
                    ips.join(", "),
                    c.name,
                    self.d.source.display()
                ));
            }
            (Provision::CreateDatabase(_, db), Some(c)) => {
                self.declared_in(c, "pg_databases", db)?;
                checks_ok.push(format!("{db} is declared in {}.pg_databases", c.name));
                description = format!("create or update database {db} of {}", c.name);
                self.verify_step(
                    &mut p,
                    c,
                    &format!("database {db} exists"),
                    &format!(
                        "select 1 from pg_database where datname = {}",
                        sql_literal(db)
                    ),
                )?;
            }
            (Provision::CreateUser(_, u), Some(c)) => {
                self.declared_in(c, "pg_users", u)?;
                checks_ok.push(format!("{u} is declared in {}.pg_users", c.name));
                description = format!("create or update user {u} of {}", c.name);
                self.verify_step(
                    &mut p,
                    c,
                    &format!("role {u} exists"),
                    &format!("select 1 from pg_roles where rolname = {}", sql_literal(u)),
                )?;
            }
            (Provision::ReloadHba(_), Some(c)) => {
                description = format!(
                    "render and reload the HBA rules of every member of {}",
                    c.name
                );
            }
            (Provision::ReloadServices(_), Some(c)) => {
                description = format!(
                    "render and reload the HAProxy services of every member of {}",
                    c.name
                );
            }
        }
        Ok(self.assemble(Draft {
            description,
            checks: checks_ok,
            warnings,
            pipeline: p,
            output: Output::None,
        }))
    }

    /// `name` is an entry of the cluster's `pg_databases` / `pg_users`.
    fn declared_in(&self, c: &Cluster, var: &str, name: &str) -> Result<(), Refusal> {
        let names = declared_names(c, var);
        if names.iter().any(|n| n == name) {
            Ok(())
        } else {
            Err(self.invalid(format!(
                "{name} is not declared in {}.{var} of {} (declared: {}): Pigsty creates what \
                 the inventory declares, add it there first",
                c.name,
                self.d.source.display(),
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )))
        }
    }

    /// A last step: `sql` returns a row on the leader (else on the declared
    /// primary).
    fn verify_step(
        &self,
        p: &mut Pipeline,
        c: &'a Cluster,
        what: &str,
        sql: &str,
    ) -> Result<(), Refusal> {
        let cl = self.cluster_state(c);
        let host = self
            .control_host(c, cl)
            .ok_or_else(|| self.invalid(format!("{} has no members", c.name)))?;
        let s = self.settings(host);
        let mut words = vec!["psql".to_string()];
        if let Some(h) = &s.pg_localhost {
            words.push("-h".into());
            words.push(h.clone());
        }
        words.extend([
            "-p".into(),
            s.pg_port.to_string(),
            "-d".into(),
            "postgres".into(),
            "-XAtq".into(),
            "-c".into(),
            sql.to_string(),
        ]);
        let cmd = format!(
            "out=$({}) && test \"$out\" = 1 || {{ echo 'not found: {}' >&2; exit 1; }}",
            crate::tasks::shell::join(words),
            what.replace('\'', "")
        );
        p.push(
            Step::command(
                format!("check {what}"),
                Target::from_instance(host),
                RemoteCommand::dbsu(cmd).with_display(format!("psql -c \"{sql}\"")),
            )
            .timeout(self.opts.command_timeout),
        );
        Ok(())
    }
}

/// Names of a cluster's `pg_databases` / `pg_users` (`name` of each entry).
pub fn declared_names(c: &Cluster, var: &str) -> Vec<String> {
    c.instances
        .first()
        .and_then(|i| i.vars.get(var))
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|e| e.get("name").and_then(|n| n.as_str()).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn sql_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn members_running(cl: &ClusterLive, n: usize) -> Progress {
    let running = cl
        .members
        .iter()
        .filter(|m| checks::is_reachable(m) && checks::is_running(m))
        .count();
    match checks::healthy_leader(cl) {
        Ok(l) if running >= n => {
            Progress::Done(format!("{} leads, {running} members running", l.name))
        }
        Ok(_) => Progress::Waiting(format!("{running}/{n} members running")),
        Err(e) => Progress::Waiting(e),
    }
}

fn members_streaming(cl: &ClusterLive, names: &[String]) -> Progress {
    let mut missing = Vec::new();
    for n in names {
        match cl.member(n) {
            Some(m) if m.streaming == Some(true) => {}
            Some(m) if m.state.as_ref().is_some_and(|s| s.value == "streaming") => {}
            Some(m) => missing.push(format!("{n}: {}", checks::not_running_reason(m))),
            None => missing.push(format!("{n}: not seen")),
        }
    }
    if missing.is_empty() {
        Progress::Done(format!("{} streaming", names.join(", ")))
    } else {
        Progress::Waiting(missing.join("; "))
    }
}

fn members_gone(cl: &ClusterLive, names: &[String]) -> Progress {
    let up: Vec<&str> = names
        .iter()
        .filter(|n| cl.member(n).is_some_and(|m| m.reachable == Some(true)))
        .map(|s| s.as_str())
        .collect();
    if up.is_empty() {
        Progress::Done(format!("{} no longer answer", names.join(", ")))
    } else {
        Progress::Waiting(format!("still answering: {}", up.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playbooks_per_generation() {
        let ips = vec!["10.10.10.14".to_string(), "10.10.10.15".to_string()];
        let v1 = Generation::V1;
        let v3 = Generation::V3;
        assert_eq!(
            Provision::AddInstance(&ips).call(v3).command_line(),
            "./pgsql.yml -l 10.10.10.14,10.10.10.15"
        );
        assert_eq!(
            Provision::RemoveInstance(&ips).call(v1).command_line(),
            "./pgsql-remove.yml -l 10.10.10.14,10.10.10.15"
        );
        assert_eq!(
            Provision::RemoveCluster("pg-test").call(v3).command_line(),
            "./pgsql-rm.yml -l pg-test"
        );
        assert_eq!(
            Provision::CreateUser("pg-test", "dbuser_x")
                .call(v3)
                .command_line(),
            "./pgsql-user.yml -l pg-test -e username=dbuser_x"
        );
        assert_eq!(
            Provision::CreateUser("pg-test", "dbuser_x")
                .call(v1)
                .command_line(),
            "./pgsql-createuser.yml -l pg-test -e pg_user=dbuser_x"
        );
        assert_eq!(
            Provision::CreateDatabase("pg-test", "app")
                .call(Generation::V4)
                .command_line(),
            "./pgsql-db.yml -l pg-test -e dbname=app"
        );
        assert_eq!(
            Provision::CreateDatabase("pg-test", "app")
                .call(v1)
                .command_line(),
            "./pgsql-createdb.yml -l pg-test -e pg_database=app"
        );
        assert_eq!(
            Provision::ReloadHba("pg-test").call(v3).command_line(),
            "./pgsql.yml -l pg-test -t pg_hba,pg_reload"
        );
        assert_eq!(
            Provision::ReloadServices("pg-test").call(v3).command_line(),
            "./pgsql.yml -l pg-test -t pg_service"
        );
        assert_eq!(Provision::Infra.call(v3).command_line(), "./infra.yml");
        // odd names are quoted
        assert_eq!(
            Provision::CreateUser("pg-test", "a b")
                .call(v3)
                .command_line(),
            "./pgsql-user.yml -l pg-test -e 'username=a b'"
        );
    }

    #[test]
    fn home_and_scripts() {
        assert!(cd_home("~/pigsty").starts_with("cd \"$HOME\"/pigsty 2>/dev/null || "));
        assert!(cd_home("/opt/pigsty home").starts_with("cd '/opt/pigsty home' 2>"));
        let s = playbook_script("~/pigsty", &Provision::Infra.call(Generation::V3));
        assert!(s.contains("ANSIBLE_STDOUT_CALLBACK=pigsty_tui"));
        assert!(s.ends_with("exec ./infra.yml"));
        let i = install_callback_script();
        assert!(i.contains("base64 -d"));
    }

    /// The install script really writes the plugin byte for byte.
    #[test]
    fn install_script_writes_the_plugin() {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(install_callback_script())
            .env("XDG_CACHE_HOME", dir.path())
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        let written = std::fs::read_to_string(dir.path().join("pigsty-tui/ansible/pigsty_tui.py"));
        assert_eq!(written.unwrap(), CALLBACK_PLUGIN);
        // ansible-playbook may or may not be installed here: either the
        // script says so, or it succeeded
        assert!(
            out.status.success()
                || String::from_utf8_lossy(&out.stderr).contains("ansible-playbook not found")
        );
    }
}
