//! Shared harness of the live integration tests (`cargo test --test live`).
//!
//! The tests run against the loopback sandbox started by
//! `sudo tests/sandbox/sandbox up [--dcs consul]` (see tests/sandbox/README.md).
//!
//! * [`sandbox()`] checks once per process that the sandbox is up and returns
//!   its facts ([`Sandbox`]): DCS mode, inventory, nodes, ssh key, ... It
//!   panics with the command that starts the sandbox when it is not running:
//!   a live test never passes silently without a sandbox.
//! * [`Sandbox::shared`] / [`Sandbox::exclusive`] form a process wide
//!   read/write lock: read-only tests take shared access; tests that change
//!   the sandbox (switchover, kill, stop) take exclusive access and give the
//!   sandbox back healthy ([`Exclusive::release`], or on drop).
//! * helpers for HTTP (Patroni, DCS, Prometheus), `psql`, `ssh` and the
//!   sandbox script.

#![allow(dead_code)] // not every test module uses every helper

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// IP of the meta node (infra, DCS server, pg-meta-1).
pub const META_IP: &str = "127.0.0.10";
pub const PATRONI_PORT: u16 = 8008;
pub const PG_PORT: u16 = 5432;
pub const PGBOUNCER_PORT: u16 = 6432;
pub const HAPROXY_ADMIN_PORT: u16 = 9101;
pub const PROMETHEUS_PORT: u16 = 9090;
pub const ALERTMANAGER_PORT: u16 = 9093;
pub const ETCD_PORT: u16 = 2379;
pub const CONSUL_PORT: u16 = 8500;
/// Postgres superuser with a password (pgbouncer userlist + scram).
pub const PG_ADMIN: (&str, &str) = ("dbuser_dba", "DBUser.DBA");
pub const PG_MONITOR: (&str, &str) = ("dbuser_monitor", "DBUser.Monitor");
/// HAProxy service ports (Pigsty's default services).
pub const PORT_PRIMARY: u16 = 5433;
pub const PORT_REPLICA: u16 = 5434;
pub const PORT_DEFAULT: u16 = 5436;
pub const PORT_OFFLINE: u16 = 5438;

/// The canonical sandbox path every config and inventory path goes through.
pub const DEFAULT_DIR: &str = "/tmp/pigsty-sandbox";

const START_HINT: &str = "start the sandbox first (as root), then re-run the tests:\n\
    \x20   sudo tests/sandbox/sandbox up                # etcd mode (inventory/local.yml)\n\
    \x20   sudo tests/sandbox/sandbox up --dcs consul   # consul mode (inventory/local-v1.yml)\n\
    \x20   cargo test --test live";

/// Which DCS the sandbox runs (the `mode` file in the sandbox dir).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dcs {
    /// etcd 3.4 on the meta node, Pigsty v3 inventory (`inventory/local.yml`).
    Etcd,
    /// Consul 1.8 server on meta + agents on every node, Pigsty v1 inventory
    /// (`inventory/local-v1.yml`).
    Consul,
}

impl Dcs {
    pub fn as_str(self) -> &'static str {
        match self {
            Dcs::Etcd => "etcd",
            Dcs::Consul => "consul",
        }
    }
}

/// One sandbox node and the postgres instance on it.
#[derive(Debug, Clone)]
pub struct Member {
    /// Node name: `meta`, `node-1`, `node-2`, `node-3` (inventory `nodename`).
    pub node: &'static str,
    /// Node IP (inventory host key and `ansible_host`).
    pub ip: &'static str,
    /// `pg_cluster`: `pg-meta` or `pg-test`.
    pub cluster: &'static str,
    /// `pg_seq`.
    pub seq: u32,
    /// Instance / Patroni member name: `<cluster>-<seq>`.
    pub instance: &'static str,
    /// `pg_role` in the inventory (the leader after `restore_healthy`).
    pub role: &'static str,
}

/// Sandbox topology (same as both inventories).
pub const MEMBERS: [Member; 4] = [
    Member {
        node: "meta",
        ip: "127.0.0.10",
        cluster: "pg-meta",
        seq: 1,
        instance: "pg-meta-1",
        role: "primary",
    },
    Member {
        node: "node-1",
        ip: "127.0.0.11",
        cluster: "pg-test",
        seq: 1,
        instance: "pg-test-1",
        role: "primary",
    },
    Member {
        node: "node-2",
        ip: "127.0.0.12",
        cluster: "pg-test",
        seq: 2,
        instance: "pg-test-2",
        role: "replica",
    },
    Member {
        node: "node-3",
        ip: "127.0.0.13",
        cluster: "pg-test",
        seq: 3,
        instance: "pg-test-3",
        role: "replica",
    },
];

/// Facts about the running sandbox.
#[derive(Debug)]
pub struct Sandbox {
    /// Sandbox dir as given (`$PIGSTY_SANDBOX_DIR` or /tmp/pigsty-sandbox).
    pub dir: PathBuf,
    pub dcs: Dcs,
    /// `inventory/local.yml` (etcd) or `inventory/local-v1.yml` (consul).
    pub inventory: PathBuf,
    /// `tests/sandbox/sandbox`.
    pub script: PathBuf,
    pub members: Vec<Member>,
    /// Private key of the admin user (`<dir>/ssh/id_ed25519`).
    pub ssh_key: PathBuf,
    /// Host keys of every node IP (`<dir>/ssh/known_hosts`).
    pub known_hosts: PathBuf,
    pub ssh_port: u16,
    /// Admin ssh user with nopass sudo: `dba`.
    pub admin_user: String,
    /// Database OS user: `postgres`.
    pub dbsu: String,
    /// Patroni REST API credentials: `postgres`/`Patroni.API` (v2+, etcd
    /// mode) or `dbuser_monitor`/`DBUser.Monitor` (v1, consul mode).
    pub patroni_user: String,
    pub patroni_password: String,
}

static SANDBOX: OnceLock<Result<Sandbox, String>> = OnceLock::new();
static LOCK: RwLock<()> = RwLock::const_new(());

/// The sandbox, checked once per process. Panics (with how to start it) when
/// the sandbox is not up.
pub fn sandbox() -> &'static Sandbox {
    match SANDBOX.get_or_init(probe) {
        Ok(sb) => sb,
        Err(e) => panic!("pigsty sandbox is not available: {e}\n{START_HINT}"),
    }
}

fn probe() -> Result<Sandbox, String> {
    let dir =
        PathBuf::from(std::env::var("PIGSTY_SANDBOX_DIR").unwrap_or_else(|_| DEFAULT_DIR.into()));
    let mode_file = dir.join("mode");
    let mode = std::fs::read_to_string(&mode_file)
        .map_err(|e| format!("cannot read {}: {e}", mode_file.display()))?;
    let dcs = match mode.trim() {
        "etcd" => Dcs::Etcd,
        "consul" => Dcs::Consul,
        other => return Err(format!("unknown mode {other:?} in {}", mode_file.display())),
    };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let inventory = repo.join(match dcs {
        Dcs::Etcd => "inventory/local.yml",
        Dcs::Consul => "inventory/local-v1.yml",
    });
    let (patroni_user, patroni_password) = match dcs {
        Dcs::Etcd => ("postgres", "Patroni.API"),
        Dcs::Consul => ("dbuser_monitor", "DBUser.Monitor"),
    };
    let ssh_port = std::fs::read_to_string(dir.join("ssh/port"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(22);
    let sb = Sandbox {
        ssh_key: dir.join("ssh/id_ed25519"),
        known_hosts: dir.join("ssh/known_hosts"),
        dir,
        dcs,
        inventory,
        script: repo.join("tests/sandbox/sandbox"),
        members: MEMBERS.to_vec(),
        ssh_port,
        admin_user: "dba".into(),
        dbsu: "postgres".into(),
        patroni_user: patroni_user.into(),
        patroni_password: patroni_password.into(),
    };
    for f in [&sb.ssh_key, &sb.known_hosts] {
        if !f.exists() {
            return Err(format!("{} is missing", f.display()));
        }
    }
    // the DCS server and prometheus must answer; a member that is down is repaired
    let dcs_port = match dcs {
        Dcs::Etcd => ETCD_PORT,
        Dcs::Consul => CONSUL_PORT,
    };
    for (what, port) in [(dcs.as_str(), dcs_port), ("prometheus", PROMETHEUS_PORT)] {
        if !port_open(META_IP, port) {
            return Err(format!(
                "{what} does not answer on {META_IP}:{port} ({} mode)",
                dcs.as_str()
            ));
        }
    }
    let down: Vec<&str> = sb
        .members
        .iter()
        .filter(|m| !port_open(m.ip, PATRONI_PORT))
        .map(|m| m.instance)
        .collect();
    if !down.is_empty() {
        eprintln!("[harness] patroni down on {down:?}: restoring the sandbox");
        sb.try_restore_healthy()
            .map_err(|e| format!("restoring the sandbox failed: {e}"))?;
    }
    Ok(sb)
}

/// TCP connect check with a 1 s timeout.
pub fn port_open(ip: &str, port: u16) -> bool {
    let addr: SocketAddr = format!("{ip}:{port}").parse().expect("socket address");
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}

/// A fresh HTTP client (one per test: clients must not outlive a test's runtime).
/// Never uses a proxy: all traffic stays on 127.0.0.0/8.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(2))
        .build()
        .expect("reqwest client")
}

/// GET a URL and parse JSON.
pub async fn get_json(url: &str) -> Result<Value, String> {
    let resp = http()
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = resp.status();
    let body = resp.text().await.map_err(|e| format!("GET {url}: {e}"))?;
    if !status.is_success() {
        return Err(format!("GET {url}: {status}: {body}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("GET {url}: bad json ({e}): {body}"))
}

/// Poll `f` every 500 ms until it returns `Ok`, or fail after `timeout` with
/// the last error.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    loop {
        match f().await {
            Ok(v) => return v,
            Err(e) if start.elapsed() >= timeout => {
                panic!("timed out after {timeout:?} waiting for {what}: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// Shared (read-only) access to the sandbox.
pub struct Shared {
    _guard: RwLockReadGuard<'static, ()>,
    _file_lock: std::fs::File,
}

/// Exclusive access: the holder may break the sandbox and must give it back
/// healthy: call [`Exclusive::release`]; dropping the guard (e.g. on panic)
/// restores too.
pub struct Exclusive {
    guard: Option<RwLockWriteGuard<'static, ()>>,
    _file_lock: std::fs::File,
}

/// The same shared/exclusive discipline across processes (two `cargo test`
/// runs against one sandbox): an advisory lock on a file beside it.
async fn file_lock(exclusive: bool) -> std::fs::File {
    tokio::task::spawn_blocking(move || {
        let path = std::env::temp_dir().join("pigsty-sandbox.test-lock");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        let locked = if exclusive { f.lock() } else { f.lock_shared() };
        locked.unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
        f
    })
    .await
    .expect("lock task")
}

impl Exclusive {
    /// Restore health (`sandbox up`, inventory primaries lead again, haproxy
    /// follows), then release the lock. Panics if the sandbox cannot be restored.
    pub async fn release(mut self) {
        let res = tokio::task::spawn_blocking(|| sandbox().try_restore_healthy())
            .await
            .expect("restore task");
        self.guard.take();
        if let Err(e) = res {
            panic!("could not restore the sandbox: {e}");
        }
    }
}

impl Drop for Exclusive {
    fn drop(&mut self) {
        if self.guard.is_some() {
            // not released explicitly (a panic): restore, but never panic in drop
            if let Err(e) = sandbox().try_restore_healthy() {
                eprintln!("[harness] could not restore the sandbox: {e}");
            }
        }
    }
}

impl Sandbox {
    /// Shared access for read-only tests.
    pub async fn shared(&self) -> Shared {
        let guard = LOCK.read().await;
        Shared {
            _guard: guard,
            _file_lock: file_lock(false).await,
        }
    }

    /// Exclusive access for tests that change the sandbox. The sandbox is
    /// healthy (and the inventory primaries lead) when this returns.
    pub async fn exclusive(&self) -> Exclusive {
        let guard = LOCK.write().await;
        let x = Exclusive {
            guard: Some(guard),
            _file_lock: file_lock(true).await,
        };
        if !self.baseline_ok().await {
            let res = tokio::task::spawn_blocking(|| sandbox().try_restore_healthy())
                .await
                .expect("restore task");
            if let Err(e) = res {
                panic!("could not restore the sandbox: {e}");
            }
        }
        x
    }

    /// Healthy with the inventory primaries leading, checked via Patroni.
    async fn baseline_ok(&self) -> bool {
        for cls in ["pg-meta", "pg-test"] {
            match self.cluster_health(cls).await {
                Ok(leader) if leader == self.primary_of(cls).instance => {}
                _ => return false,
            }
        }
        true
    }

    /// Bring the sandbox back to its baseline: `sandbox up` (starts whatever
    /// is down and waits for health), switch the inventory primaries back to
    /// leader, wait until healthy (replicas streaming, haproxy follows,
    /// prometheus targets up). Blocking.
    pub fn try_restore_healthy(&self) -> Result<(), String> {
        self.script_ok(&["up", "--dcs", self.dcs.as_str()])?;
        for cls in ["pg-meta", "pg-test"] {
            self.script_ok(&["switchover", cls])?;
        }
        self.script_ok(&["wait"])?;
        Ok(())
    }

    /// [`Sandbox::try_restore_healthy`] that panics on failure.
    pub fn restore_healthy(&self) {
        if let Err(e) = self.try_restore_healthy() {
            panic!("could not restore the sandbox: {e}");
        }
    }

    /// Run `tests/sandbox/sandbox ARGS...` (needs root for most commands).
    pub fn script(&self, args: &[&str]) -> Output {
        Command::new(&self.script)
            .args(args)
            .env("PIGSTY_SANDBOX_DIR", &self.dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.script.display()))
    }

    /// Run the sandbox script, Err with its output when it fails.
    pub fn script_ok(&self, args: &[&str]) -> Result<String, String> {
        let out = self.script(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            Ok(text)
        } else {
            Err(format!(
                "sandbox {} failed ({}):\n{text}",
                args.join(" "),
                out.status
            ))
        }
    }

    /// Member by instance name, node name or IP.
    pub fn member(&self, key: &str) -> &Member {
        self.members
            .iter()
            .find(|m| m.instance == key || m.node == key || m.ip == key)
            .unwrap_or_else(|| panic!("no sandbox member {key}"))
    }

    pub fn cluster_members(&self, cls: &str) -> Vec<&Member> {
        self.members.iter().filter(|m| m.cluster == cls).collect()
    }

    /// The member with `pg_role: primary` in the inventory.
    pub fn primary_of(&self, cls: &str) -> &Member {
        self.members
            .iter()
            .find(|m| m.cluster == cls && m.role == "primary")
            .unwrap_or_else(|| panic!("no primary for {cls}"))
    }

    pub fn node_ips(&self) -> Vec<&'static str> {
        self.members.iter().map(|m| m.ip).collect()
    }

    pub fn patroni_url(&self, ip: &str, path: &str) -> String {
        format!("http://{ip}:{PATRONI_PORT}{path}")
    }

    pub fn prometheus_url(&self) -> String {
        format!("http://{META_IP}:{PROMETHEUS_PORT}")
    }

    /// `http://127.0.0.10:2379` (etcd) or `http://127.0.0.10:8500` (consul).
    pub fn dcs_url(&self) -> String {
        match self.dcs {
            Dcs::Etcd => format!("http://{META_IP}:{ETCD_PORT}"),
            Dcs::Consul => format!("http://{META_IP}:{CONSUL_PORT}"),
        }
    }

    /// Patroni `/cluster` of a cluster, from the first member that answers.
    pub async fn cluster(&self, cls: &str) -> Result<Value, String> {
        let mut last = String::from("no member");
        for m in self.cluster_members(cls) {
            match get_json(&self.patroni_url(m.ip, "/cluster")).await {
                Ok(v) => return Ok(v),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Name of the running leader of a cluster according to Patroni.
    pub async fn leader(&self, cls: &str) -> Result<String, String> {
        let c = self.cluster(cls).await?;
        let members = members_of(&c);
        let leaders: Vec<&str> = members
            .iter()
            .filter(|m| m["role"] == "leader" && m["state"] == "running")
            .filter_map(|m| m["name"].as_str())
            .collect();
        match leaders.as_slice() {
            [one] => Ok((*one).to_string()),
            other => Err(format!("{cls}: expected one running leader, got {other:?}")),
        }
    }

    /// Ok(leader name) when the cluster has one running leader and every other
    /// member is a running replica that streams from it (leader `/patroni`).
    pub async fn cluster_health(&self, cls: &str) -> Result<String, String> {
        let c = self.cluster(cls).await?;
        let leader = self.leader(cls).await?;
        let want = self.cluster_members(cls);
        let members = members_of(&c);
        if members.len() != want.len() {
            return Err(format!(
                "{cls}: {} members in /cluster, want {}",
                members.len(),
                want.len()
            ));
        }
        let replicas: Vec<&str> = members
            .iter()
            .filter(|m| m["role"] == "replica" && m["state"] == "running")
            .filter_map(|m| m["name"].as_str())
            .collect();
        if replicas.len() != want.len() - 1 {
            return Err(format!("{cls}: running replicas {replicas:?}"));
        }
        let lip = self.member(&leader).ip;
        let p = get_json(&self.patroni_url(lip, "/patroni")).await?;
        let mut streaming: Vec<&str> = p["replication"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|r| r["state"] == "streaming")
                    .filter_map(|r| r["application_name"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        streaming.sort_unstable();
        let mut expect = replicas.clone();
        expect.sort_unstable();
        if streaming != expect {
            return Err(format!(
                "{cls}: streaming from {leader}: {streaming:?}, replicas {expect:?}"
            ));
        }
        Ok(leader)
    }

    /// Wait until [`Sandbox::cluster_health`] succeeds; returns the leader.
    pub async fn wait_cluster_healthy(&self, cls: &str, timeout: Duration) -> String {
        wait_for(&format!("{cls} healthy"), timeout, || {
            self.cluster_health(cls)
        })
        .await
    }

    /// Instant Prometheus query; returns `data.result`.
    pub async fn prom_query(&self, q: &str) -> Result<Vec<Value>, String> {
        let url = format!("{}/api/v1/query", self.prometheus_url());
        let resp = http()
            .get(&url)
            .query(&[("query", q)])
            .send()
            .await
            .map_err(|e| format!("query {q}: {e}"))?;
        let v: Value = resp.json().await.map_err(|e| format!("query {q}: {e}"))?;
        if v["status"] != "success" {
            return Err(format!("query {q}: {v}"));
        }
        Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
    }

    /// `ssh` to a node as the admin user with the sandbox key and known_hosts
    /// (strict host key checking), running `remote_cmd`.
    pub fn ssh(&self, ip: &str, remote_cmd: &str) -> Output {
        Command::new("ssh")
            .args([
                "-F",
                "/dev/null",
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
            ])
            .args(["-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=5"])
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()))
            .arg("-i")
            .arg(&self.ssh_key)
            .args(["-p", &self.ssh_port.to_string()])
            .arg(format!("{}@{ip}", self.admin_user))
            .arg(remote_cmd)
            .output()
            .expect("cannot run ssh")
    }

    /// [`Sandbox::ssh`], Ok(trimmed stdout) on success.
    pub fn ssh_ok(&self, ip: &str, remote_cmd: &str) -> Result<String, String> {
        let out = self.ssh(ip, remote_cmd);
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(format!(
                "ssh {ip} {remote_cmd:?}: {}: {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }
}

/// `members` array of a Patroni `/cluster` document.
pub fn members_of(cluster: &Value) -> Vec<Value> {
    cluster["members"].as_array().cloned().unwrap_or_default()
}

/// `psql -tAX -c SQL` over TCP as `user` (password via PGPASSWORD); Ok(trimmed
/// stdout). The project has no PG client crate, the `psql` binary is used.
pub fn psql(
    ip: &str,
    port: u16,
    user: (&str, &str),
    db: &str,
    sql: &str,
) -> Result<String, String> {
    let out = Command::new("psql")
        .args(["-h", ip, "-p", &port.to_string(), "-U", user.0, "-d", db])
        .args(["-tAX", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .env("PGPASSWORD", user.1)
        .env("PGCONNECT_TIMEOUT", "3")
        .env("PGSSLMODE", "disable")
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "psql {ip}:{port}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Standard base64 with padding (etcd v3 JSON gateway keys).
pub fn b64_encode(data: &[u8]) -> String {
    pigsty_tui::encoding::b64_encode(data)
}

/// Decode base64 (etcd and consul values).
pub fn b64_decode(s: &str) -> Result<Vec<u8>, String> {
    pigsty_tui::encoding::b64_decode(s).ok_or_else(|| format!("bad base64 {s:?}"))
}

/// Readable dump of a JSON value for assertion messages.
pub fn brief(v: &Value) -> String {
    let mut s = String::new();
    let _ = write!(s, "{v}");
    if s.len() > 2000 {
        s.truncate(2000);
        s.push_str("...");
    }
    s
}
