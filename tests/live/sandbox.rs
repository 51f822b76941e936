//! Live tests of the sandbox itself: what the console relies on is there and
//! behaves like Pigsty (both DCS modes; behaviour picked from the mode file).

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{
    self, Dcs, META_IP, PG_ADMIN, PORT_DEFAULT, PORT_OFFLINE, PORT_PRIMARY, PORT_REPLICA,
    b64_decode, b64_encode, brief, get_json, http, members_of, psql, sandbox, wait_for,
};

const T: Duration = Duration::from_secs(60);

#[tokio::test]
async fn patroni_cluster_has_one_leader_and_streaming_replicas() {
    let sb = sandbox();
    let _s = sb.shared().await;

    let c = sb.cluster("pg-test").await.unwrap();
    let members = members_of(&c);
    assert_eq!(members.len(), 3, "{}", brief(&c));
    let leaders: Vec<&Value> = members.iter().filter(|m| m["role"] == "leader").collect();
    assert_eq!(leaders.len(), 1, "one leader: {}", brief(&c));
    assert_eq!(leaders[0]["state"], "running");
    assert_eq!(leaders[0]["name"], "pg-test-1", "inventory primary leads");
    let replicas: Vec<&str> = members
        .iter()
        .filter(|m| m["role"] == "replica" && m["state"] == "running")
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert_eq!(replicas.len(), 2, "two running replicas: {}", brief(&c));

    // Patroni 3.0.2: /cluster says 'running' for replicas; the leader's
    // /patroni has replication[].state == streaming with application_name
    let p = get_json(&sb.patroni_url("127.0.0.11", "/patroni"))
        .await
        .unwrap();
    assert!(
        p["role"] == "master" || p["role"] == "primary",
        "{}",
        brief(&p)
    );
    assert_eq!(p["patroni"]["scope"], "pg-test");
    let mut streaming: Vec<&str> = p["replication"]
        .as_array()
        .expect("replication")
        .iter()
        .filter(|r| r["state"] == "streaming")
        .filter_map(|r| r["application_name"].as_str())
        .collect();
    streaming.sort_unstable();
    assert_eq!(streaming, ["pg-test-2", "pg-test-3"], "{}", brief(&p));

    // replicas report themselves as replicas
    for ip in ["127.0.0.12", "127.0.0.13"] {
        let r = get_json(&sb.patroni_url(ip, "/patroni")).await.unwrap();
        assert_eq!(r["role"], "replica", "{}", brief(&r));
        assert_eq!(r["state"], "running");
    }

    // pg-meta: a single leader
    assert_eq!(sb.leader("pg-meta").await.unwrap(), "pg-meta-1");
}

#[tokio::test]
async fn dcs_holds_the_leader_key() {
    let sb = sandbox();
    let _s = sb.shared().await;
    for cls in ["pg-meta", "pg-test"] {
        let leader = sb.leader(cls).await.unwrap();
        let key = format!("/pg/{cls}/leader");
        let value = match sb.dcs {
            Dcs::Etcd => {
                let url = format!("{}/v3/kv/range", sb.dcs_url());
                let resp = http()
                    .post(&url)
                    .json(&json!({ "key": b64_encode(key.as_bytes()) }))
                    .send()
                    .await
                    .unwrap();
                assert!(resp.status().is_success(), "{url}: {}", resp.status());
                let v: Value = resp.json().await.unwrap();
                let kv = &v["kvs"][0];
                assert!(kv.is_object(), "no {key} in etcd: {}", brief(&v));
                assert_eq!(
                    b64_decode(kv["key"].as_str().unwrap()).unwrap(),
                    key.as_bytes()
                );
                b64_decode(kv["value"].as_str().unwrap()).unwrap()
            }
            Dcs::Consul => {
                let v = get_json(&format!("{}/v1/kv{key}", sb.dcs_url()))
                    .await
                    .unwrap();
                b64_decode(v[0]["Value"].as_str().expect("Value")).unwrap()
            }
        };
        assert_eq!(String::from_utf8_lossy(&value), leader, "{key}");
    }
}

#[tokio::test]
async fn consul_services_are_registered_and_passing() {
    let sb = sandbox();
    if sb.dcs != Dcs::Consul {
        eprintln!("etcd mode: no consul service registry to check");
        return;
    }
    let _s = sb.shared().await;
    let base = sb.dcs_url();
    let services = get_json(&format!("{base}/v1/catalog/services"))
        .await
        .unwrap();
    for name in [
        "postgres",
        "patroni",
        "pgbouncer",
        "pg-exporter",
        "node-exporter",
        "haproxy",
        "pg-test",
        "pg-meta",
        "pg-test-primary",
        "pg-test-replica",
        "pg-test-default",
        "pg-test-offline",
        "pg-meta-primary",
        "pg-meta-replica",
    ] {
        assert!(
            services.get(name).is_some(),
            "service {name} not registered: {}",
            brief(&services)
        );
    }
    // every check (serfHealth of 4 nodes + every service) is passing
    let checks = wait_for("all consul checks passing", T, || async {
        let v = get_json(&format!("{base}/v1/health/state/any")).await?;
        let bad: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["Status"] != "passing")
            .map(|c| format!("{}/{}:{}", c["Node"], c["ServiceName"], c["Status"]))
            .collect();
        if bad.is_empty() {
            Ok(v)
        } else {
            Err(format!("not passing: {bad:?}"))
        }
    })
    .await;
    let nodes: std::collections::BTreeSet<&str> = checks
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["Node"].as_str())
        .collect();
    assert_eq!(
        nodes.into_iter().collect::<Vec<_>>(),
        ["meta", "node-1", "node-2", "node-3"]
    );

    // patroni registers the cluster service with role tags, pigsty's
    // definitions carry cls/ins meta
    let pgtest = get_json(&format!("{base}/v1/catalog/service/pg-test"))
        .await
        .unwrap();
    let primary: Vec<&Value> = pgtest
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["ServiceTags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "primary"))
        })
        .collect();
    assert_eq!(primary.len(), 1, "{}", brief(&pgtest));
    assert_eq!(primary[0]["Node"], "node-1");
    let pg = get_json(&format!("{base}/v1/catalog/service/postgres"))
        .await
        .unwrap();
    let on_node2 = pg
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Node"] == "node-2")
        .expect("postgres on node-2");
    assert_eq!(on_node2["ServiceMeta"]["cls"], "pg-test");
    assert_eq!(on_node2["ServiceMeta"]["ins"], "pg-test-2");
    assert_eq!(on_node2["ServiceMeta"]["instance"], "pg-test-2");
    assert_eq!(on_node2["ServicePort"], 5432);
}

/// Where does a HAProxy service port of `ip` route to? (in_recovery, server ip)
fn route(ip: &str, port: u16) -> Result<(bool, String), String> {
    let out = psql(
        ip,
        port,
        PG_ADMIN,
        "postgres",
        "select pg_is_in_recovery(), inet_server_addr()",
    )?;
    let (rec, addr) = out
        .split_once('|')
        .ok_or_else(|| format!("bad psql output {out:?}"))?;
    Ok((rec == "t", addr.trim_end_matches("/32").to_string()))
}

#[tokio::test]
async fn haproxy_services_route_by_role() {
    let sb = sandbox();
    let _s = sb.shared().await;
    for m in sb.cluster_members("pg-test") {
        assert_eq!(
            route(m.ip, PORT_PRIMARY).unwrap(),
            (false, "127.0.0.11".into()),
            "{}:5433",
            m.ip
        );
        assert_eq!(
            route(m.ip, PORT_DEFAULT).unwrap(),
            (false, "127.0.0.11".into()),
            "{}:5436",
            m.ip
        );
        let (rec, addr) = route(m.ip, PORT_REPLICA).unwrap();
        assert!(
            rec && (addr == "127.0.0.12" || addr == "127.0.0.13"),
            "{}:5434 -> {addr}",
            m.ip
        );
        // pg-test-3 has pg_offline_query: true
        assert_eq!(
            route(m.ip, PORT_OFFLINE).unwrap(),
            (true, "127.0.0.13".into()),
            "{}:5438",
            m.ip
        );
    }
    assert_eq!(
        route(META_IP, PORT_PRIMARY).unwrap(),
        (false, META_IP.into())
    );

    // stats page (csv) and prometheus metrics on 9101
    let csv = http()
        .get(format!(
            "http://127.0.0.12:{}/;csv",
            harness::HAPROXY_ADMIN_PORT
        ))
        .send()
        .await
        .unwrap();
    let csv = csv.text().await.unwrap();
    let up: Vec<&str> = csv
        .lines()
        .filter(|l| l.starts_with("pg-test-primary,pg-test-"))
        .filter(|l| l.split(',').nth(17).is_some_and(|s| s.starts_with("UP")))
        .collect();
    assert_eq!(up.len(), 1, "one UP server in pg-test-primary: {csv}");
    assert!(up[0].starts_with("pg-test-primary,pg-test-1,"));
    let metrics = http()
        .get(format!(
            "http://127.0.0.12:{}/metrics",
            harness::HAPROXY_ADMIN_PORT
        ))
        .send()
        .await
        .unwrap();
    assert!(
        metrics
            .text()
            .await
            .unwrap()
            .contains("haproxy_backend_active_servers")
    );
}

#[tokio::test]
async fn switchover_moves_leader_and_haproxy_follows() {
    let sb = sandbox();
    let x = sb.exclusive().await;
    let old = sb.leader("pg-test").await.unwrap();
    assert_eq!(old, "pg-test-1");
    let body = json!({ "leader": "pg-test-1", "candidate": "pg-test-2" });
    let url = sb.patroni_url("127.0.0.11", "/switchover");

    // writes need the REST API credentials
    let resp = http().post(&url).json(&body).send().await.unwrap();
    assert_eq!(
        resp.status().as_u16(),
        401,
        "unauthenticated switchover must be rejected"
    );

    switchover(&url, &body).await;
    let leader = wait_for("pg-test-2 leads", T, || async {
        match sb.leader("pg-test").await {
            Ok(l) if l == "pg-test-2" => Ok(l),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(leader, "pg-test-2");
    // HAProxy 5433 (primary via pgbouncer) on every node follows the leader
    for m in sb.cluster_members("pg-test") {
        let ip = m.ip;
        wait_for(&format!("{ip}:5433 -> 127.0.0.12"), T, || async move {
            match route(ip, PORT_PRIMARY) {
                Ok(r) if r == (false, "127.0.0.12".to_string()) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
    }

    // and back: the old leader first has to stream from the new one
    sb.wait_cluster_healthy("pg-test", T).await;
    let back = json!({ "leader": "pg-test-2", "candidate": "pg-test-1" });
    switchover(&sb.patroni_url("127.0.0.12", "/switchover"), &back).await;
    let leader = sb.wait_cluster_healthy("pg-test", T).await;
    assert_eq!(leader, "pg-test-1");
    wait_for("127.0.0.13:5433 -> 127.0.0.11", T, || async {
        match route("127.0.0.13", PORT_PRIMARY) {
            Ok(r) if r == (false, "127.0.0.11".to_string()) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    x.release().await;
}

/// POST /switchover with the mode's REST credentials, retrying while Patroni
/// says the candidate is not ready (412/503).
async fn switchover(url: &str, body: &Value) {
    let sb = sandbox();
    wait_for(&format!("switchover {body}"), T, || async {
        let resp = http()
            .post(url)
            .basic_auth(&sb.patroni_user, Some(&sb.patroni_password))
            .json(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if status.is_success() {
            Ok(text)
        } else {
            Err(format!("{status}: {text}"))
        }
    })
    .await;
}

#[tokio::test]
async fn prometheus_scrapes_everything_and_answers_pigsty_rules() {
    let sb = sandbox();
    let _s = sb.shared().await;

    let targets = get_json(&format!(
        "{}/api/v1/targets?state=active",
        sb.prometheus_url()
    ))
    .await
    .unwrap();
    let targets = targets["data"]["activeTargets"].as_array().unwrap().clone();
    let expect = match sb.dcs {
        Dcs::Etcd => 19, // 2 infra + 1 etcd + 4x(node_exporter, haproxy) + 4x(pg exporter, patroni)
        Dcs::Consul => 22, // 2 infra + 4 consul + 16
    };
    assert_eq!(targets.len(), expect, "active targets");
    for t in &targets {
        let l = &t["labels"];
        for k in ["job", "cls", "ins", "ip", "instance"] {
            assert!(l[k].is_string(), "target without {k}: {}", brief(t));
        }
        assert!(
            ["pgsql", "node", "etcd", "infra"].contains(&l["job"].as_str().unwrap()),
            "{}",
            brief(l)
        );
    }
    wait_for("every target up", T, || async {
        let r = sb.prom_query("up").await?;
        let down: Vec<String> = r
            .iter()
            .filter(|s| s["value"][1] != "1")
            .map(|s| s["metric"].to_string())
            .collect();
        if r.len() == expect && down.is_empty() {
            Ok(())
        } else {
            Err(format!("{} series, down: {down:?}", r.len()))
        }
    })
    .await;

    // recording rules with Pigsty's names, non-empty, with Pigsty's labels
    for rule in [
        "pg:ins:status",
        "pg:ins:is_leader",
        "pg:cls:leader",
        "pg:ins:lag_bytes",
        "pg:ins:lag_seconds",
        "pg:cls:timeline",
        "pg:ins:tps",
        "pg:cls:size",
        "patroni_up",
    ] {
        let r = wait_for(&format!("{rule} non-empty"), T, || async {
            let r = sb.prom_query(rule).await?;
            if r.is_empty() {
                Err("empty".to_string())
            } else {
                Ok(r)
            }
        })
        .await;
        assert!(
            r.iter().all(|s| s["metric"]["cls"].is_string()),
            "{rule}: {r:?}"
        );
    }
    // leadership encoded like Pigsty: 3 = leader up, 2 = replica up
    let status = wait_for("pg:ins:status of pg-test", T, || async {
        let r = sb.prom_query(r#"pg:ins:status{cls="pg-test"}"#).await?;
        let mut v: Vec<(String, String)> = r
            .iter()
            .map(|s| {
                (
                    s["metric"]["ins"].as_str().unwrap_or("").to_string(),
                    s["value"][1].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        v.sort();
        let want = [("pg-test-1", "3"), ("pg-test-2", "2"), ("pg-test-3", "2")];
        if v.iter().map(|(a, b)| (a.as_str(), b.as_str())).eq(want) {
            Ok(v)
        } else {
            Err(format!("{v:?}"))
        }
    })
    .await;
    assert_eq!(status.len(), 3);
    // one leader, lag of both replicas seen from the leader's wal senders
    wait_for(
        "pg:cls:leader and pg:ins:lag_bytes of pg-test",
        T,
        || async {
            let leader = sb.prom_query(r#"pg:cls:leader{cls="pg-test"}"#).await?;
            let leader: Vec<&str> = leader
                .iter()
                .filter_map(|s| s["metric"]["ins"].as_str())
                .collect();
            let lag = sb.prom_query(r#"pg:ins:lag_bytes{cls="pg-test"}"#).await?;
            let mut lag_ins: Vec<&str> = lag
                .iter()
                .filter_map(|s| s["metric"]["ins"].as_str())
                .collect();
            lag_ins.sort_unstable();
            if leader == ["pg-test-1"] && lag_ins == ["pg-test-2", "pg-test-3"] {
                Ok(())
            } else {
                Err(format!("leader {leader:?}, lag of {lag_ins:?}"))
            }
        },
    )
    .await;

    // Pigsty's alert rules are loaded and alertmanager is wired
    let rules = get_json(&format!("{}/api/v1/rules?type=alert", sb.prometheus_url()))
        .await
        .unwrap();
    let text = rules.to_string();
    for alert in ["PostgresDown", "PatroniDown", "PostgresReplicationLag"] {
        assert!(
            text.contains(&format!("\"name\":\"{alert}\"")),
            "alert {alert} missing"
        );
    }
    let ams = get_json(&format!("{}/api/v1/alertmanagers", sb.prometheus_url()))
        .await
        .unwrap();
    assert_eq!(
        ams["data"]["activeAlertmanagers"][0]["url"],
        "http://127.0.0.10:9093/api/v2/alerts",
        "{}",
        brief(&ams)
    );
    let am = get_json(&format!(
        "http://{META_IP}:{}/api/v2/status",
        harness::ALERTMANAGER_PORT
    ))
    .await
    .unwrap();
    assert!(am["versionInfo"].is_object(), "{}", brief(&am));
}

#[tokio::test]
async fn ssh_as_admin_then_sudo_to_dbsu() {
    let sb = sandbox();
    let _s = sb.shared().await;
    for m in &sb.members {
        assert_eq!(
            sb.ssh_ok(m.ip, "id -un").unwrap(),
            sb.admin_user,
            "{}",
            m.ip
        );
        let out = sb
            .ssh_ok(m.ip, "sudo -iu postgres psql -tAXc 'select 1'")
            .unwrap();
        assert_eq!(out, "1", "{}", m.ip);
        // the dbsu session lands on this node's instance (PGHOST from the node's sshd)
        let user = sb
            .ssh_ok(m.ip, "sudo -iu postgres psql -tAXc 'select current_user'")
            .unwrap();
        assert_eq!(user, sb.dbsu);
        let dd = sb
            .ssh_ok(m.ip, "sudo -iu postgres psql -tAXc 'show data_directory'")
            .unwrap();
        assert_eq!(dd, format!("{}/{}/pg/data", harness::DEFAULT_DIR, m.ip));
        // patronictl finds its config (PATRONICTL_CONFIG_FILE)
        let list = sb
            .ssh_ok(m.ip, "sudo -iu postgres patronictl list -f json")
            .unwrap();
        let list: Value = serde_json::from_str(&list).unwrap();
        assert!(
            list.as_array()
                .unwrap()
                .iter()
                .any(|r| r["Member"] == m.instance),
            "{list}"
        );
    }
    // a wrong host key is refused: strict checking against the sandbox known_hosts
    let out = std::process::Command::new("ssh")
        .args([
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
        ])
        .args([
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=5",
        ])
        .arg("-i")
        .arg(&sb.ssh_key)
        .arg(format!("{}@127.0.0.11", sb.admin_user))
        .arg("true")
        .output()
        .unwrap();
    assert!(!out.status.success(), "unknown host key must be rejected");
}

#[tokio::test]
async fn pgbackrest_full_backup_on_leader() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let leader = sb.member(&sb.leader("pg-test").await.unwrap()).ip;
    sb.ssh_ok(
        leader,
        "sudo -iu postgres pgbackrest --stanza=pg-test --log-level-console=warn backup --type=full",
    )
    .unwrap();
    let info = sb
        .ssh_ok(
            leader,
            "sudo -iu postgres pgbackrest --stanza=pg-test --output=json info",
        )
        .unwrap();
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info[0]["name"], "pg-test");
    assert_eq!(info[0]["status"]["code"], 0, "{}", brief(&info));
    let fulls = info[0]["backup"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "full")
        .count();
    assert!(fulls >= 1, "{}", brief(&info));
}

#[tokio::test]
async fn inventory_host_vars_point_into_the_sandbox() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let text = std::fs::read_to_string(&sb.inventory).unwrap();
    let inv: Value =
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", sb.inventory.display()));
    let children = &inv["all"]["children"];
    let vars = &inv["all"]["vars"];
    match sb.dcs {
        Dcs::Etcd => {
            assert!(vars["version"].as_str().unwrap().starts_with("v3"));
            assert_eq!(children["etcd"]["hosts"][META_IP]["etcd_seq"], 1);
            assert_eq!(children["infra"]["hosts"][META_IP]["infra_seq"], 1);
            assert_eq!(
                vars["patroni_username"].as_str(),
                Some(sb.patroni_user.as_str())
            );
            assert_eq!(
                vars["patroni_password"].as_str(),
                Some(sb.patroni_password.as_str())
            );
        }
        Dcs::Consul => {
            assert!(vars["version"].as_str().unwrap().starts_with("v1"));
            assert_eq!(children["meta"]["vars"]["meta_node"], true);
            assert_eq!(vars["pg_dcs_type"], "consul");
            assert_eq!(vars["dcs_servers"]["meta-1"], META_IP);
            assert_eq!(
                vars["pg_monitor_username"].as_str(),
                Some(sb.patroni_user.as_str())
            );
            assert_eq!(
                vars["pg_monitor_password"].as_str(),
                Some(sb.patroni_password.as_str())
            );
        }
    }
    assert_eq!(vars["pg_namespace"], "/pg");
    for m in &sb.members {
        let h = &children[m.cluster]["hosts"][m.ip];
        assert_eq!(children[m.cluster]["vars"]["pg_cluster"], m.cluster);
        assert_eq!(h["pg_seq"], m.seq);
        assert_eq!(h["pg_role"], m.role);
        assert_eq!(h["nodename"], m.node);
        assert_eq!(h["ansible_host"], m.ip);
        assert_eq!(
            h["ansible_port"], sb.ssh_port,
            "ansible_port (sandbox sshd port)"
        );
        assert_eq!(h["ansible_user"].as_str(), Some(sb.admin_user.as_str()));
        let key = h["ansible_ssh_private_key_file"].as_str().unwrap();
        assert_eq!(
            std::fs::canonicalize(key).unwrap(),
            std::fs::canonicalize(&sb.ssh_key).unwrap()
        );
        let patroni_yml =
            std::fs::read_to_string(h["patronictl_config"].as_str().unwrap()).unwrap();
        assert!(
            patroni_yml.contains(&format!("name: {}\n", m.instance)),
            "patronictl_config of {}",
            m.ip
        );
        assert!(patroni_yml.contains(&format!("scope: {}\n", m.cluster)));
        for (var, inside) in [
            ("pg_data", "PG_VERSION"),
            ("pgbackrest_config", ""),
            ("pg_log_dir", ""),
            ("patroni_log_dir", "patroni.log"),
            ("pgbouncer_log_dir", "pgbouncer.log"),
            ("pg_localhost", ".s.PGSQL.5432"),
            ("pg_fs_main", "postgres"),
            ("pg_fs_bkup", "postgres"),
        ] {
            let p = std::path::Path::new(
                h[var]
                    .as_str()
                    .unwrap_or_else(|| panic!("{var} of {}", m.ip)),
            );
            let p = if inside.is_empty() {
                p.to_path_buf()
            } else {
                p.join(inside)
            };
            assert!(p.exists(), "{var} of {}: {} missing", m.ip, p.display());
        }
    }
}

#[tokio::test]
async fn kill_member_then_up_restarts_only_that_member() {
    let sb = sandbox();
    let x = sb.exclusive().await;
    let before = status_pids(sb);
    sb.script_ok(&["kill", "node-2", "member"]).unwrap();
    let after_kill = status_pids(sb);
    for svc in ["patroni", "postgres"] {
        assert_eq!(
            after_kill.get(&("node-2".into(), svc.into())),
            Some(&None),
            "node-2 {svc} killed"
        );
    }
    let t = std::time::Instant::now();
    sb.script_ok(&["up"]).unwrap();
    eprintln!("member restarted and healthy in {:?}", t.elapsed());
    let after = status_pids(sb);
    for (k, pid) in &before {
        let restarted = k.0 == "node-2" && (k.1 == "patroni" || k.1 == "postgres");
        if restarted {
            assert!(after[k].is_some() && after[k] != *pid, "{k:?} restarted");
        } else {
            assert_eq!(after[k], *pid, "{k:?} untouched by up");
        }
    }
    assert_eq!(sb.cluster_health("pg-test").await.unwrap(), "pg-test-1");
    x.release().await;
}

/// `sandbox status` as (node, service) -> Some(pid) | None (down)
fn status_pids(sb: &harness::Sandbox) -> std::collections::BTreeMap<(String, String), Option<u32>> {
    let out = sb.script_ok(&["status"]).unwrap();
    out.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let pid = f
                .get(4)
                .and_then(|p| p.strip_prefix("pid="))
                .and_then(|p| p.parse().ok());
            (f.len() >= 4).then(|| ((f[0].to_string(), f[2].to_string()), pid))
        })
        .collect()
}
