//! Polling at scale (issue #8): a generated deployment of 100 clusters x 10
//! instances moved onto loopback addresses (infra and etcd on
//! 127.100.0.1-3, the nodes on 127.101.x.y), every port of every node served
//! by a small in-process responder (Patroni's /patroni and /cluster, HAProxy
//! stats, the etcd gateway with watches, Prometheus, Alertmanager; plain
//! accept-and-close elsewhere), and 10 % of the nodes dead: their ports have
//! a full accept queue, so the kernel drops SYNs as for a host that is down
//! and every connect runs into its timeout.
//!
//! It measures (figures in README "Benchmarks"):
//! 1. one `pigsty-tui status --format json` round over all of it, as a whole
//!    process (the binary this bench is built with);
//! 2. the merge alone (`State::build` of one round's observations);
//! 3. the collector (`sources::spawn`, 2 s interval) for a while: whether
//!    every live source completes each round within the interval, its CPU
//!    time and the process's resident memory (responders included).
//!
//! With `--hold SECS` it then keeps the responders up and writes the
//! inventory to `--inventory PATH` for a console measurement
//! (`benches/console_scale.sh`); `--serve-only` skips the measurements and
//! only serves (with `--hold`, for a heap profile of the console).
//!
//! Run: `cargo bench --bench poll_scale` (loopback only; the sandbox is not
//! needed). `PIGSTY_TUI_LOOPBACK_ONLY=1` is set for the child processes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering as AtomicOrdering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use pigsty_tui::inventory;
use pigsty_tui::model::{Deployment, Proto};
use pigsty_tui::sources::prometheus::PART_LABEL;
use pigsty_tui::sources::{self, SourceKind, SourcesConfig};

const CLUSTERS: usize = 100;
const PER_CLUSTER: usize = 10;
/// The member of each cluster that is dead (0-based position): 10 %.
const DEAD_POSITION: usize = 9;
const COLLECT_FOR: Duration = Duration::from_secs(40);

/// The generated inventory on loopback addresses.
fn loopback_inventory() -> String {
    inventory::generate_inventory(CLUSTERS, PER_CLUSTER)
        .replace("10.0.0.", "127.100.0.")
        .replace(" 10.1.", " 127.101.")
}

/// What a port answers.
#[derive(Clone)]
enum Role {
    Patroni {
        member: Arc<String>,
        cluster: Arc<String>,
    },
    Haproxy(Arc<String>),
    Etcd,
    Prometheus,
    Alertmanager,
    Plain,
}

fn http(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Read one request (head and a Content-Length body); `None` on EOF.
async fn read_request(s: &mut TcpStream) -> Option<(String, String, Vec<u8>)> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    let head_end = loop {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let mut first = head.lines().next().unwrap_or("").split_whitespace();
    let method = first.next().unwrap_or("").to_string();
    let path = first.next().unwrap_or("/").to_string();
    let body = buf[head_end..].to_vec();
    Some((method, path, body))
}

async fn answer(mut s: TcpStream, role: Role, json: Arc<Bodies>) {
    let Some((_method, path, body)) = read_request(&mut s).await else {
        return;
    };
    let resp = match (&role, path.split('?').next().unwrap_or("")) {
        (Role::Patroni { member, .. }, "/patroni") => {
            http("200 OK", &json.patroni[member.as_str()])
        }
        (Role::Patroni { cluster, .. }, "/cluster") => {
            http("200 OK", &json.cluster[cluster.as_str()])
        }
        (Role::Patroni { .. }, "/history") => http("200 OK", "[]"),
        (Role::Haproxy(cluster), _) => {
            let csv = format!(
                "# pxname,svname,status,type\n{cluster}-primary,FRONTEND,OPEN,0\n{cluster}-primary,BACKEND,UP,1\n"
            );
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{csv}",
                csv.len()
            )
            .into_bytes()
        }
        (Role::Etcd, "/v3/watch") => {
            // A created watch that never reports anything: the stream stays open.
            let msg = r#"{"result":{"header":{"revision":"1"},"created":true}}"#;
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            let chunk = format!("{:x}\r\n{msg}\r\n", msg.len());
            if s.write_all(head.as_bytes()).await.is_err()
                || s.write_all(chunk.as_bytes()).await.is_err()
            {
                return;
            }
            let mut sink = [0u8; 256];
            while let Ok(n) = s.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
            return;
        }
        (Role::Etcd, "/v3/kv/range") => http("200 OK", &json.etcd_range(&body)),
        (Role::Prometheus, "/api/v1/query") => http("200 OK", &json.prometheus(&path, false)),
        (Role::Prometheus, "/api/v1/query_range") => http("200 OK", &json.prometheus(&path, true)),
        (Role::Alertmanager, "/api/v2/alerts") => http("200 OK", "[]"),
        _ => http("200 OK", "{}"),
    };
    let _ = s.write_all(&resp).await;
    let _ = s.shutdown().await;
}

/// Canned Patroni answers, by member and by cluster.
struct Bodies {
    patroni: HashMap<String, String>,
    cluster: HashMap<String, String>,
    /// `range` answers of etcd by key prefix (`/pg/pg-c1/`).
    etcd: HashMap<String, String>,
    /// Live instances: (cluster, instance, ip, leader).
    instances: Vec<(String, String, String, bool)>,
    /// Every exporter target: (ip:port, job, up).
    targets: Vec<(String, &'static str, bool)>,
}

impl Bodies {
    /// etcd's answer to a `range` request (its JSON body names the prefix).
    fn etcd_range(&self, body: &[u8]) -> String {
        let req: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let prefix = req["key"]
            .as_str()
            .and_then(pigsty_tui::encoding::b64_decode)
            .map(|k| String::from_utf8_lossy(&k).into_owned())
            .unwrap_or_default();
        self.etcd
            .get(&prefix)
            .cloned()
            .unwrap_or_else(|| r#"{"header":{"revision":"1"},"count":"0"}"#.into())
    }

    /// Prometheus' answer: Pigsty's recording rules and `up` over every
    /// live instance and target, as an instant vector (the combined query
    /// of the poller too) or a range matrix.
    fn prometheus(&self, path: &str, range: bool) -> String {
        let params: HashMap<String, String> =
            reqwest::Url::parse(&format!("http://responder{path}"))
                .map(|u| u.query_pairs().into_owned().collect())
                .unwrap_or_default();
        let query = params.get("query").cloned().unwrap_or_default();
        // The poller's combined query (`prometheus::combined_query`):
        // label_replace(EXPR, "<PART_LABEL>", "i", "", "") or …
        let tag = format!(", \"{PART_LABEL}\", \"");
        let parts: Vec<(Option<String>, String)> = if query.contains(PART_LABEL) {
            query
                .split(" or ")
                .filter_map(|p| {
                    let p = p.strip_prefix("label_replace(")?;
                    let (expr, rest) = p.split_once(&tag)?;
                    let part = rest.split('"').next()?;
                    Some((Some(part.to_string()), expr.to_string()))
                })
                .collect()
        } else {
            vec![(None, query.clone())]
        };
        let (start, end, step) = (
            params
                .get("start")
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0),
            params
                .get("end")
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0),
            params
                .get("step")
                .and_then(|v| v.trim_end_matches('s').parse::<f64>().ok())
                .unwrap_or(15.0)
                .max(1.0),
        );
        let mut out = Vec::new();
        for (part, expr) in &parts {
            let extra = part
                .as_ref()
                .map(|p| format!(r#","{PART_LABEL}":"{p}""#))
                .unwrap_or_default();
            let mut sample = |labels: String, value: f64| {
                if range {
                    let mut points = Vec::new();
                    let mut t = start;
                    while t <= end {
                        points.push(format!(r#"[{t:.3},"{value}"]"#));
                        t += step;
                    }
                    out.push(format!(
                        r#"{{"metric":{{{labels}{extra}}},"values":[{}]}}"#,
                        points.join(",")
                    ));
                } else {
                    out.push(format!(
                        r#"{{"metric":{{{labels}{extra}}},"value":[{end:.3},"{value}"]}}"#
                    ));
                }
            };
            let ins_labels = |cls: &str, ins: &str, ip: &str| {
                format!(
                    r#""cls":"{cls}","ins":"{ins}","ip":"{ip}","instance":"{ip}:9630","job":"pgsql""#
                )
            };
            match expr.as_str() {
                "up" => {
                    for (instance, job, up) in &self.targets {
                        sample(
                            format!(r#""__name__":"up","instance":"{instance}","job":"{job}""#),
                            if *up { 1.0 } else { 0.0 },
                        );
                    }
                }
                "pg:cls:leader" | "pg:cls:timeline" => {
                    for (cls, ins, ip, leader) in &self.instances {
                        if *leader {
                            sample(ins_labels(cls, ins, ip), 1.0);
                        }
                    }
                }
                e => {
                    for (cls, ins, ip, leader) in &self.instances {
                        let v = match e {
                            "pg_up" => 1.0,
                            "pg:ins:status" => 2.0 + f64::from(u8::from(*leader)),
                            "pg_in_recovery" => f64::from(u8::from(!*leader)),
                            "pg:ins:lag_bytes" | "pg:ins:lag_seconds" if *leader => continue,
                            "pg:ins:lag_bytes" => 4096.0,
                            "pg:ins:lag_seconds" => 0.01,
                            "pg:ins:tps" => 120.5,
                            "pg:ins:num_backends" => 12.0,
                            _ => continue,
                        };
                        sample(ins_labels(cls, ins, ip), v);
                    }
                }
            }
        }
        let kind = if range { "matrix" } else { "vector" };
        format!(
            r#"{{"status":"success","data":{{"resultType":"{kind}","result":[{}]}}}}"#,
            out.join(",")
        )
    }
}

fn bodies(d: &Deployment) -> Bodies {
    let b64 = |t: &str| pigsty_tui::encoding::b64_encode(t.as_bytes());
    let mut patroni = HashMap::new();
    let mut cluster = HashMap::new();
    let mut etcd = HashMap::new();
    // The whole namespace, as the console ranges it (one request).
    let mut namespace_kvs = Vec::new();
    let mut instances = Vec::new();
    let mut dead_ips = Vec::new();
    for c in &d.clusters {
        let mut members = Vec::new();
        let mut kvs = Vec::new();
        let mut kv = |key: String, value: String| {
            kvs.push(format!(
                r#"{{"key":"{}","create_revision":"2","mod_revision":"7","version":"3","value":"{}"}}"#,
                b64(&key),
                b64(&value)
            ));
        };
        let leader_name = &c.instances[0].name;
        kv(format!("/pg/{}/leader", c.name), leader_name.clone());
        kv(
            format!("/pg/{}/config", c.name),
            r#"{"ttl":30,"loop_wait":10,"retry_timeout":10,"maximum_lag_on_failover":1048576}"#
                .into(),
        );
        kv(
            format!("/pg/{}/initialize", c.name),
            "7310000000000000001".into(),
        );
        kv(
            format!("/pg/{}/status", c.name),
            r#"{"optime":1000}"#.into(),
        );
        // The leader's pg_stat_replication: every live replica streaming.
        let replication: Vec<String> = c
            .instances
            .iter()
            .enumerate()
            .filter(|(k, _)| *k != 0 && *k != DEAD_POSITION)
            .map(|(_, i)| {
                format!(
                    r#"{{"usename":"replicator","application_name":"{}","client_addr":"{}","state":"streaming","sync_state":"async","sync_priority":0}}"#,
                    i.name, i.ip
                )
            })
            .collect();
        for (k, i) in c.instances.iter().enumerate() {
            let leader = k == 0;
            let body = if leader {
                format!(
                    r#"{{"state":"running","role":"primary","server_version":170000,"timeline":1,"xlog":{{"location":1000}},"replication":[{}],"patroni":{{"version":"4.0.4","scope":"{}","name":"{}"}}}}"#,
                    replication.join(","),
                    c.name,
                    i.name
                )
            } else {
                format!(
                    r#"{{"state":"running","role":"replica","server_version":170000,"timeline":1,"xlog":{{"received_location":1000,"replayed_location":1000}},"patroni":{{"version":"4.0.4","scope":"{}","name":"{}"}}}}"#,
                    c.name, i.name
                )
            };
            patroni.insert(i.name.clone(), body);
            if k == DEAD_POSITION {
                dead_ips.push(i.ip.clone());
                continue;
            }
            let role = if leader { "leader" } else { "replica" };
            members.push(format!(
                r#"{{"name":"{}","role":"{role}","state":"{}","host":"{}","port":5432,"timeline":1,"lag":0}}"#,
                i.name,
                if leader { "running" } else { "streaming" },
                i.ip
            ));
            kv(
                format!("/pg/{}/members/{}", c.name, i.name),
                format!(
                    r#"{{"conn_url":"postgres://{ip}:5432/postgres","api_url":"http://{ip}:8008/patroni","state":"running","role":"{}","version":"4.0.4","xlog_location":1000,"timeline":1}}"#,
                    if leader { "primary" } else { "replica" },
                    ip = i.ip
                ),
            );
            instances.push((c.name.clone(), i.name.clone(), i.ip.clone(), leader));
        }
        cluster.insert(
            c.name.clone(),
            format!(r#"{{"members":[{}]}}"#, members.join(",")),
        );
        etcd.insert(
            format!("/pg/{}/", c.name),
            format!(
                r#"{{"header":{{"revision":"7"}},"kvs":[{}],"count":"{}"}}"#,
                kvs.join(","),
                kvs.len()
            ),
        );
        namespace_kvs.extend(kvs);
    }
    etcd.insert(
        "/pg/".to_string(),
        format!(
            r#"{{"header":{{"revision":"7"}},"kvs":[{}],"count":"{}"}}"#,
            namespace_kvs.join(","),
            namespace_kvs.len()
        ),
    );
    let mut targets = Vec::new();
    for ip in d.node_ips() {
        let up = !dead_ips.iter().any(|x| x == ip);
        for (port, job) in [
            (9100, "node"),
            (9630, "pgsql"),
            (9631, "pgbouncer"),
            (9101, "haproxy"),
            (8008, "patroni"),
        ] {
            targets.push((format!("{ip}:{port}"), job, up));
        }
    }
    Bodies {
        patroni,
        cluster,
        etcd,
        instances,
        targets,
    }
}

/// Every TCP port the sources touch on one node, with what it answers.
fn ports(d: &Deployment, ip: &str) -> Vec<(u16, Role)> {
    let mut out: Vec<(u16, Role)> = Vec::new();
    let instance = d.node(ip).and_then(|n| n.instance);
    for t in sources::probe_targets(d, ip) {
        if t.proto == Proto::Udp {
            continue;
        }
        let role = match (t.port, instance) {
            (p, Some(i)) if p == i.patroni_port() => Role::Patroni {
                member: Arc::new(i.name.clone()),
                cluster: Arc::new(i.cluster.clone()),
            },
            (9101, Some(i)) => Role::Haproxy(Arc::new(i.cluster.clone())),
            (2379, _) => Role::Etcd,
            (9090, _) => Role::Prometheus,
            (9093, _) => Role::Alertmanager,
            _ => Role::Plain,
        };
        out.push((t.port, role));
    }
    out
}

/// A listener whose accept queue is full: connects to it time out.
async fn black_hole(addr: SocketAddr) -> std::io::Result<(TcpListener, Vec<TcpStream>)> {
    let sock = TcpSocket::new_v4()?;
    sock.set_reuseaddr(true)?;
    sock.bind(addr)?;
    let l = sock.listen(0)?;
    let mut fillers = Vec::new();
    for _ in 0..2 {
        if let Ok(Ok(s)) =
            tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr)).await
        {
            fillers.push(s);
        }
    }
    Ok((l, fillers))
}

struct Responders {
    live_ports: usize,
    dead_ports: usize,
    _holes: Vec<(TcpListener, Vec<TcpStream>)>,
}

async fn start_responders(d: Arc<Deployment>) -> Responders {
    let json = Arc::new(bodies(&d));
    let dead: Vec<String> = d
        .clusters
        .iter()
        .filter_map(|c| c.instances.get(DEAD_POSITION).map(|i| i.ip.clone()))
        .collect();
    let mut r = Responders {
        live_ports: 0,
        dead_ports: 0,
        _holes: Vec::new(),
    };
    for ip in d.node_ips() {
        for (port, role) in ports(&d, ip) {
            let addr: SocketAddr = format!("{ip}:{port}").parse().expect("address");
            if dead.iter().any(|x| x == ip) {
                r._holes.push(
                    black_hole(addr)
                        .await
                        .unwrap_or_else(|e| panic!("{addr}: {e}")),
                );
                r.dead_ports += 1;
                continue;
            }
            let l = TcpListener::bind(addr)
                .await
                .unwrap_or_else(|e| panic!("cannot listen on {addr}: {e}"));
            r.live_ports += 1;
            let json = json.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((s, _)) = l.accept().await else {
                        continue;
                    };
                    tokio::spawn(answer(s, role.clone(), json.clone()));
                }
            });
        }
    }
    r
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time so far of this process's threads whose name starts with
/// `prefix` (utime + stime of /proc/self/task/*/stat).
fn cpu_time(prefix: &str) -> Duration {
    let mut ticks = 0u64;
    for t in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
        let Some((head, after)) = stat.rsplit_once(')') else {
            continue;
        };
        let name = head.split_once('(').map_or("", |(_, n)| n);
        if !name.starts_with(prefix) {
            continue;
        }
        let f: Vec<u64> = after
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        // Fields after the name: state is [0]; utime [11], stime [12].
        ticks += f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    }
    Duration::from_millis(ticks * 10)
}

fn status_round(inventory: &Path) {
    let bin = env!("CARGO_BIN_EXE_pigsty-tui");
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let t = Instant::now();
        let out = std::process::Command::new(bin)
            .args(["status", "--format", "json", "-i"])
            .arg(inventory)
            .env("PIGSTY_TUI_LOOPBACK_ONLY", "1")
            .env(
                "XDG_STATE_HOME",
                std::env::temp_dir().join("pigsty-tui-poll-scale"),
            )
            .output()
            .expect("run pigsty-tui status");
        times.push(t.elapsed());
        last = Some(out);
    }
    times.sort();
    let out = last.expect("one run");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "status printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let sources = doc["sources"].as_array().cloned().unwrap_or_default();
    let ok: Vec<&serde_json::Value> = sources.iter().filter(|s| s["status"] == "ok").collect();
    let max_ok = ok
        .iter()
        .filter_map(|s| s["latency_ms"].as_f64())
        .fold(0.0, f64::max);
    println!(
        "status --format json, {} instances: median {:?} of 3 (whole process), {} sources ok, {} failing, slowest ok source {max_ok:.0} ms",
        CLUSTERS * PER_CLUSTER,
        times[1],
        ok.len(),
        sources.len() - ok.len()
    );
}

/// The merge alone: one round's observations of the 1,000 instances, built
/// into a snapshot again and again (what the merger does each interval).
/// Heap bytes live in this process (every allocation counted).
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

/// The system allocator, counting what is live: the model's sizes below.
struct Counting;

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, AtomicOrdering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, AtomicOrdering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            AtomicOrdering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap bytes `make` leaves allocated (what it returns, when nothing else
/// allocates meanwhile: the responders are idle between rounds).
fn heap_of<T>(make: impl FnOnce() -> T) -> (T, isize) {
    let before = LIVE_BYTES.load(AtomicOrdering::SeqCst);
    let v = make();
    (v, LIVE_BYTES.load(AtomicOrdering::SeqCst) - before)
}

fn mb(bytes: isize) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

fn merge(d: &Deployment, rt: &tokio::runtime::Runtime) {
    let cfg = SourcesConfig::with_interval(Duration::from_secs(2));
    let (mut state, state_bytes) =
        heap_of(|| rt.block_on(sources::poll_once_state(d, cfg.clone())));
    // The model's sizes (the console keeps the deployment, the merger's
    // state and one or two snapshots).
    std::thread::sleep(Duration::from_millis(500));
    let (snap, snap_bytes) = heap_of(|| state.build(d, std::time::SystemTime::now()));
    let (d2, deployment_bytes) =
        heap_of(|| inventory::parse(&loopback_inventory(), Path::new("/tmp/x.yml")).unwrap());
    println!(
        "model heap: deployment {:.1} MB, merger state after one round {:.1} MB, snapshot {:.1} MB",
        mb(deployment_bytes),
        mb(state_bytes),
        mb(snap_bytes)
    );
    drop((snap, d2));
    let runs = 20;
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let snap = state.build(d, std::time::SystemTime::now());
            let took = t.elapsed();
            assert_eq!(snap.clusters.len(), CLUSTERS);
            took
        })
        .collect();
    times.sort();
    println!(
        "merge (State::build) of {} instances: median {:.1} ms of {runs}",
        CLUSTERS * PER_CLUSTER,
        times[runs / 2].as_secs_f64() * 1000.0
    );
}

fn collect(d: Arc<Deployment>, rt: &tokio::runtime::Runtime) {
    let interval = Duration::from_secs(2);
    let cfg = SourcesConfig::with_interval(interval);
    let settle = sources::settle_time(interval);
    rt.block_on(async move {
        let cancel = tokio_util::sync::CancellationToken::new();
        let mut rx = sources::spawn(d, cfg, cancel.clone());
        let started = Instant::now();
        let cpu0 = (cpu_time("collector"), cpu_time("responder"));
        let mut snapshots = 0u32;
        let mut late_rounds = 0u32;
        let mut worst_lateness = Duration::ZERO;
        let mut last = None;
        while started.elapsed() < COLLECT_FOR {
            if tokio::time::timeout(Duration::from_secs(5), rx.changed())
                .await
                .is_err()
            {
                break;
            }
            let s = rx.borrow_and_update().clone();
            snapshots += 1;
            // After the first rounds, every source that answers must have
            // answered within its own period (the interval; port probes
            // every `probe_every` intervals) plus the merger's settle time.
            if started.elapsed() > Duration::from_secs(12) {
                let late = s
                    .sources
                    .iter()
                    .filter(|x| x.ok && x.kind != SourceKind::Etcd)
                    .filter_map(|x| {
                        let age = Duration::from_millis(x.age_ms?);
                        let due = x.next_in? + settle;
                        age.checked_sub(due)
                    })
                    .max();
                if let Some(l) = late {
                    worst_lateness = worst_lateness.max(l);
                    if l > Duration::from_millis(500) {
                        late_rounds += 1;
                    }
                }
            }
            last = Some(s);
        }
        let cpu = (
            cpu_time("collector") - cpu0.0,
            cpu_time("responder") - cpu0.1,
        );
        let secs = started.elapsed().as_secs_f64();
        cancel.cancel();
        let s = last.expect("snapshots");
        let failing = s.sources.iter().filter(|x| !x.ok).count();
        let patroni_ok = s
            .sources
            .iter()
            .filter(|x| x.ok && x.kind == SourceKind::Patroni)
            .count();
        println!(
            "collector at 2 s over {secs:.0} s: {} sources ({patroni_ok} Patroni ok, {failing} failing), {snapshots} snapshots; answering sources at most {} ms past their period, {late_rounds} snapshots with one more than 0.5 s late",
            s.sources.len(),
            worst_lateness.as_millis()
        );
        println!(
            "CPU: collector {:.1} % of a core, responders {:.1} %; process RSS {} MB (both)",
            cpu.0.as_secs_f64() / secs * 100.0,
            cpu.1.as_secs_f64() / secs * 100.0,
            rss_kb() / 1024
        );
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let hold = args
        .iter()
        .position(|a| a == "--hold")
        .and_then(|i| args.get(i + 1)?.parse::<u64>().ok());
    let inventory_path = args
        .iter()
        .position(|a| a == "--inventory")
        .and_then(|i| args.get(i + 1).map(PathBuf::from))
        .unwrap_or_else(|| std::env::temp_dir().join("pigsty-tui-poll-scale.yml"));
    // SAFETY: set before any thread starts.
    unsafe { std::env::set_var("PIGSTY_TUI_LOOPBACK_ONLY", "1") };

    let text = loopback_inventory();
    let d = Arc::new(inventory::parse(&text, &inventory_path).expect("generated inventory parses"));
    assert_eq!(d.instance_count(), CLUSTERS * PER_CLUSTER);
    assert!(
        d.node_ips().iter().all(|ip| ip.starts_with("127.")),
        "every address on loopback"
    );
    std::fs::write(&inventory_path, &text).expect("write the inventory");

    let servers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("responder")
        .enable_all()
        .build()
        .expect("runtime");
    let r = servers.block_on(start_responders(d.clone()));
    println!(
        "responders: {} live ports, {} dead (10 % of the nodes, connects time out); inventory {}",
        r.live_ports,
        r.dead_ports,
        inventory_path.display()
    );
    // --serve-only: no measurements here, only the responders (for a
    // console or heap profile against them).
    if !args.iter().any(|a| a == "--serve-only") {
        if !args.iter().any(|a| a == "--merge-only") {
            status_round(&inventory_path);
        }
        let client = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("collector")
            .enable_all()
            .build()
            .expect("runtime");
        merge(&d, &client);
        // --merge-only: the merge figures (and the model's sizes) alone.
        if !args.iter().any(|a| a == "--merge-only") {
            collect(d, &client);
        }
    }
    if let Some(secs) = hold {
        println!("holding the responders for {secs} s");
        std::thread::sleep(Duration::from_secs(secs));
    }
    drop(r);
    let _ = std::fs::remove_file(&inventory_path);
}
