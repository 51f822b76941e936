//! Node checks of the wizard, over SSH: reachable, host key, sudo, OS, free
//! disk, clock skew; on the admin node also Ansible and the Pigsty home.
//! One [`NodeCheck`] per check and node, with the fix when it fails.

use serde::Serialize;

use super::SetupInputs;
use crate::model::SshTarget;
use crate::tasks::shell::RemoteCommand;
use crate::tasks::ssh::{SshErrorKind, SshPool, Target};

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Fail => "FAIL",
        }
    }
}

/// One check on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeCheck {
    pub node: String,
    pub check: &'static str,
    pub verdict: Verdict,
    pub detail: String,
    /// How to fix it (failures and warnings).
    pub fix: Option<String>,
}

impl NodeCheck {
    fn new(node: &str, check: &'static str, verdict: Verdict, detail: impl Into<String>) -> Self {
        NodeCheck {
            node: node.to_string(),
            check,
            verdict,
            detail: detail.into(),
            fix: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// `127.0.0.11  sudo      FAIL  sudo asks for a password → fix: …`
    pub fn line(&self) -> String {
        let mut s = format!(
            "{:<15} {:<10} {:<4}  {}",
            self.node,
            self.check,
            self.verdict.as_str(),
            self.detail
        );
        if let Some(f) = &self.fix {
            s.push_str(&format!(" → fix: {f}"));
        }
        s
    }
}

/// The SSH target of a node as the wizard's inputs describe it.
pub fn target(inputs: &SetupInputs, ip: &str) -> Target {
    Target {
        name: ip.to_string(),
        ssh: SshTarget {
            host: ip.to_string(),
            port: Some(inputs.ssh_port),
            user: Some(inputs.ssh_user.clone()),
            key_file: inputs.ssh_key.clone().filter(|k| !k.is_empty()),
        },
        dbsu: "postgres".into(),
    }
}

/// Free space below which a node fails (the data directory needs room).
pub const MIN_FREE_KIB: u64 = 1024 * 1024;
/// Free space below which a node gets a warning.
pub const WARN_FREE_KIB: u64 = 10 * 1024 * 1024;
/// Clock skew that warns / fails (Patroni's leader lease relies on time).
pub const SKEW_WARN_SECS: f64 = 1.0;
pub const SKEW_FAIL_SECS: f64 = 5.0;

fn script(admin: bool, home: &str) -> String {
    let mut s = String::from(
        "echo \"user=$(id -un)\"\n\
         echo \"os=$(. /etc/os-release 2>/dev/null && echo \"$ID $VERSION_ID|$PRETTY_NAME\")\"\n\
         if sudo -n true 2>/dev/null; then echo sudo=yes; else echo sudo=no; fi\n\
         echo \"disk=$(df -Pk / 2>/dev/null | awk 'NR==2{print $4}')\"\n\
         echo \"time=$(date +%s.%N)\"\n",
    );
    if admin {
        s.push_str(
            "echo \"ansible=$(command -v ansible-playbook 2>/dev/null)\"\n\
             echo \"ansible_version=$(ansible-playbook --version 2>/dev/null | head -1)\"\n",
        );
        let cd = match home.strip_prefix("~/") {
            Some(rest) => format!("\"$HOME\"/{}", crate::tasks::shell::quote(rest)),
            None => crate::tasks::shell::quote(home).into_owned(),
        };
        s.push_str(&format!(
            "if [ -d {cd} ]; then echo home=yes; else echo home=no; fi\n\
             if [ -x {cd}/pgsql.yml ]; then echo playbooks=yes; else echo playbooks=no; fi\n"
        ));
    }
    s
}

fn value<'a>(out: &'a str, key: &str) -> Option<&'a str> {
    out.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::trim)
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Evaluate the check script's output (`sent`/`received`: local Unix time
/// around the command, for the clock skew).
pub fn evaluate(
    node: &str,
    admin: bool,
    inputs: &SetupInputs,
    out: &str,
    sent: f64,
    received: f64,
) -> Vec<NodeCheck> {
    let mut v = Vec::new();
    // sudo
    match value(out, "sudo") {
        Some("yes") => v.push(NodeCheck::new(
            node,
            "sudo",
            Verdict::Pass,
            "passwordless sudo works",
        )),
        _ => v.push(
            NodeCheck::new(
                node,
                "sudo",
                Verdict::Fail,
                format!("{} cannot sudo without a password", inputs.ssh_user),
            )
            .fix(format!(
                "as root on {node}: echo '{u} ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/{u}",
                u = inputs.ssh_user
            )),
        ),
    }
    // OS
    let os = value(out, "os").unwrap_or("");
    let (id_ver, pretty) = os.split_once('|').unwrap_or((os, os));
    let id = id_ver.split_whitespace().next().unwrap_or("");
    let supported = [
        "rhel",
        "centos",
        "rocky",
        "almalinux",
        "ol",
        "debian",
        "ubuntu",
    ];
    if supported.contains(&id) {
        v.push(NodeCheck::new(
            node,
            "os",
            Verdict::Pass,
            pretty.to_string(),
        ));
    } else {
        v.push(
            NodeCheck::new(
                node,
                "os",
                Verdict::Warn,
                if pretty.is_empty() {
                    "unknown OS (no /etc/os-release)".to_string()
                } else {
                    format!("{pretty} is not an OS Pigsty supports")
                },
            )
            .fix("use EL 8/9, Debian 12 or Ubuntu 22.04/24.04"),
        );
    }
    // disk
    match value(out, "disk").and_then(|d| d.parse::<u64>().ok()) {
        Some(kib) if kib < MIN_FREE_KIB => v.push(
            NodeCheck::new(
                node,
                "disk",
                Verdict::Fail,
                format!("{} MiB free on /", kib / 1024),
            )
            .fix("free space or add a data disk (at least 1 GiB, Pigsty suggests 40 GiB+)"),
        ),
        Some(kib) if kib < WARN_FREE_KIB => v.push(
            NodeCheck::new(
                node,
                "disk",
                Verdict::Warn,
                format!("{} MiB free on /", kib / 1024),
            )
            .fix("10 GiB or more is advised for a database node"),
        ),
        Some(kib) => v.push(NodeCheck::new(
            node,
            "disk",
            Verdict::Pass,
            format!("{:.1} GiB free on /", kib as f64 / 1024.0 / 1024.0),
        )),
        None => v.push(NodeCheck::new(
            node,
            "disk",
            Verdict::Warn,
            "free space unknown (df failed)",
        )),
    }
    // clock skew: remote time against the middle of the round trip
    match value(out, "time").and_then(|t| t.parse::<f64>().ok()) {
        Some(remote) => {
            let skew = remote - (sent + received) / 2.0;
            let rtt = (received - sent).max(0.0);
            let detail = format!("clock {skew:+.2}s from here (±{:.2}s)", rtt / 2.0);
            let a = skew.abs() - rtt / 2.0;
            v.push(if a > SKEW_FAIL_SECS {
                NodeCheck::new(node, "clock", Verdict::Fail, detail)
                    .fix("enable NTP (chronyd / systemd-timesyncd) on every node")
            } else if a > SKEW_WARN_SECS {
                NodeCheck::new(node, "clock", Verdict::Warn, detail)
                    .fix("enable NTP (chronyd / systemd-timesyncd) on every node")
            } else {
                NodeCheck::new(node, "clock", Verdict::Pass, detail)
            });
        }
        None => v.push(NodeCheck::new(
            node,
            "clock",
            Verdict::Warn,
            "remote time unknown",
        )),
    }
    if admin {
        match value(out, "ansible").filter(|a| !a.is_empty()) {
            Some(path) => v.push(NodeCheck::new(
                node,
                "ansible",
                Verdict::Pass,
                format!(
                    "{} ({path})",
                    value(out, "ansible_version").unwrap_or("ansible-playbook")
                ),
            )),
            None => v.push(
                NodeCheck::new(
                    node,
                    "ansible",
                    Verdict::Fail,
                    "ansible-playbook is not installed",
                )
                .fix("install ansible-core on the admin node (Pigsty's ./bootstrap does it)"),
            ),
        }
        match (value(out, "home"), value(out, "playbooks")) {
            (Some("yes"), Some("yes")) => v.push(NodeCheck::new(
                node,
                "pigsty",
                Verdict::Pass,
                format!("{} holds Pigsty's playbooks", inputs.pigsty_home),
            )),
            (Some("yes"), _) => v.push(
                NodeCheck::new(
                    node,
                    "pigsty",
                    Verdict::Fail,
                    format!("{} has no executable pgsql.yml", inputs.pigsty_home),
                )
                .fix("download Pigsty there again, or fix the Pigsty home path"),
            ),
            _ => v.push(
                NodeCheck::new(
                    node,
                    "pigsty",
                    Verdict::Fail,
                    format!("{} does not exist", inputs.pigsty_home),
                )
                .fix(if inputs.sandbox {
                    "start the sandbox's bare nodes: sudo tests/sandbox/sandbox up --bare".to_string()
                } else {
                    "download Pigsty to the admin node: curl -fsSL https://repo.pigsty.io/get | bash"
                        .to_string()
                }),
            ),
        }
    }
    v
}

/// Why SSH failed, as a check line with its fix.
pub fn ssh_failure(
    node: &str,
    inputs: &SetupInputs,
    err: &crate::tasks::ssh::SshError,
) -> NodeCheck {
    let user = &inputs.ssh_user;
    let port = inputs.ssh_port;
    match &*err.kind {
        SshErrorKind::HostKeyUnknown {
            key_type,
            fingerprint,
            ..
        } => NodeCheck::new(
            node,
            "host key",
            Verdict::Fail,
            format!("unknown host key {key_type} {fingerprint}"),
        )
        .fix("compare it with `ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub` on the node, then press `a` to trust it"),
        SshErrorKind::HostKeyChanged { path, line, .. } => NodeCheck::new(
            node,
            "host key",
            Verdict::Fail,
            format!("HOST KEY CHANGED (recorded in {}:{line}): possible man-in-the-middle", path.display()),
        )
        .fix(format!(
            "if the node was reinstalled: ssh-keygen -R {node} -f {}; otherwise investigate",
            path.display()
        )),
        SshErrorKind::Refused => NodeCheck::new(
            node,
            "reachable",
            Verdict::Fail,
            format!("connection refused on port {port}"),
        )
        .fix("start sshd on the node, or set the right SSH port"),
        SshErrorKind::Timeout { .. } | SshErrorKind::Connect(_) | SshErrorKind::Resolve(_) => {
            NodeCheck::new(node, "reachable", Verdict::Fail, err.to_string())
                .fix("check the IP, the network and the firewall (port 22 must be open)")
        }
        SshErrorKind::AuthRefused { .. } => NodeCheck::new(
            node,
            "ssh auth",
            Verdict::Fail,
            err.to_string(),
        )
        .fix(format!(
            "install your public key: ssh-copy-id {}-p {port} {user}@{node}",
            inputs
                .ssh_key
                .as_deref()
                .map(|k| format!("-i {k}.pub "))
                .unwrap_or_default()
        )),
        _ => NodeCheck::new(node, "ssh", Verdict::Fail, err.to_string()),
    }
}

/// Check one node over `pool` (its host key policy decides on unknown keys).
pub async fn check_node(pool: &SshPool, inputs: &SetupInputs, node: &str) -> Vec<NodeCheck> {
    let admin = node == inputs.admin_ip;
    let t = target(inputs, node);
    let sent = unix_now();
    match pool
        .output(
            &t,
            &RemoteCommand::admin(script(admin, &inputs.pigsty_home)),
        )
        .await
    {
        Err(e) => vec![ssh_failure(node, inputs, &e)],
        Ok(out) => {
            let received = unix_now();
            let mut v = vec![NodeCheck::new(
                node,
                "ssh",
                Verdict::Pass,
                format!(
                    "{}@{node}:{} reachable, host key known",
                    inputs.ssh_user, inputs.ssh_port
                ),
            )];
            v.extend(evaluate(
                node,
                admin,
                inputs,
                &out.stdout_str(),
                sent,
                received,
            ));
            v
        }
    }
}

/// Check every node (in parallel), admin node first in the result.
pub async fn check_all(pool: &SshPool, inputs: &SetupInputs) -> Vec<NodeCheck> {
    let nodes = inputs.all_nodes();
    let futs = nodes.iter().map(|n| check_node(pool, inputs, n));
    futures::future::join_all(futs)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// The worst verdict of a set of checks.
pub fn worst(checks: &[NodeCheck]) -> Option<Verdict> {
    checks.iter().map(|c| c.verdict).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> SetupInputs {
        SetupInputs::sandbox()
    }

    #[test]
    fn a_healthy_admin_node_passes() {
        let now = unix_now();
        let out = format!(
            "user=dba\nos=debian 12|Debian GNU/Linux 12 (bookworm)\nsudo=yes\ndisk=52428800\n\
             time={now:.3}\nansible=/usr/bin/ansible-playbook\nansible_version=ansible-playbook [core 2.14.3]\n\
             home=yes\nplaybooks=yes\n"
        );
        let v = evaluate("127.0.0.10", true, &inputs(), &out, now - 0.01, now + 0.01);
        assert!(v.iter().all(|c| c.verdict == Verdict::Pass), "{v:#?}");
        let names: Vec<&str> = v.iter().map(|c| c.check).collect();
        assert_eq!(
            names,
            vec!["sudo", "os", "disk", "clock", "ansible", "pigsty"]
        );
    }

    #[test]
    fn problems_come_with_their_fix() {
        let now = unix_now();
        let out = format!(
            "user=dba\nos=arch |Arch Linux\nsudo=no\ndisk=1000\ntime={:.3}\nansible=\nhome=no\nplaybooks=no\n",
            now + 30.0
        );
        let v = evaluate("127.0.0.10", true, &inputs(), &out, now, now);
        let by = |name: &str| v.iter().find(|c| c.check == name).unwrap();
        assert_eq!(by("sudo").verdict, Verdict::Fail);
        assert!(by("sudo").fix.as_ref().unwrap().contains("NOPASSWD"));
        assert_eq!(by("os").verdict, Verdict::Warn);
        assert_eq!(by("disk").verdict, Verdict::Fail);
        assert_eq!(by("clock").verdict, Verdict::Fail);
        assert!(by("clock").detail.contains("+30"), "{}", by("clock").detail);
        assert_eq!(by("ansible").verdict, Verdict::Fail);
        assert!(by("pigsty").fix.as_ref().unwrap().contains("--bare"));
        assert_eq!(worst(&v), Some(Verdict::Fail));
        assert!(by("sudo").line().contains("→ fix:"));
    }
}
