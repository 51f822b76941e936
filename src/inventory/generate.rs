//! Synthetic inventories for benchmarks and tests.

use std::fmt::Write;

/// The service IP of host number `n` (0-based): 10.x.y.z, never .0.
fn ip(n: usize) -> String {
    let a = 1 + n / 62_500;
    let b = (n / 250) % 250;
    let c = n % 250 + 1;
    format!("10.{a}.{b}.{c}")
}

/// A synthetic Pigsty v3 inventory (`version: v3.6.1`): one infra node
/// (10.0.0.1), a 3-node etcd cluster (10.0.0.1-3) and `clusters` PostgreSQL
/// clusters `pg-c1`, `pg-c2`, … of `per_cluster` instances each (the first a
/// primary, the last of 3+ an offline-query replica), on distinct IPs
/// starting at 10.1.0.1. Cluster vars merge a shared anchor with `<<:`.
/// For benchmarks and tests; it is valid YAML that [`super::parse`] reads
/// without errors or warnings.
pub fn generate_inventory(clusters: usize, per_cluster: usize) -> String {
    let mut s = String::with_capacity(1024 + clusters * (400 + per_cluster * 64));
    let _ = writeln!(
        s,
        "---\n# synthetic Pigsty v3 inventory: {clusters} clusters x {per_cluster} instances\nall:"
    );
    // vars first: the anchor must come before its aliases
    s.push_str(
        "  vars:
    version: v3.6.1
    admin_ip: 10.0.0.1
    region: default
    node_tune: oltp
    pg_conf: oltp.yml
    pg_common: &pg_common
      pg_version: 17
      pg_vip_enabled: false
      node_crontab: [ '00 01 * * * postgres /pg/bin/pg-backup full' ]
    infra_portal:
      home         : { domain: h.pigsty }
      grafana      : { domain: g.pigsty ,endpoint: \"${admin_ip}:3000\" , websocket: true }
      prometheus   : { domain: p.pigsty ,endpoint: \"${admin_ip}:9090\" }
      alertmanager : { domain: a.pigsty ,endpoint: \"${admin_ip}:9093\" }
    pg_admin_password: DBUser.DBA
    pg_monitor_password: DBUser.Monitor
    pg_replication_password: DBUser.Replicator
    patroni_password: Patroni.API
    haproxy_admin_password: pigsty
    pgbackrest_method: local
  children:
",
    );
    s.push_str(
        "    infra:\n      hosts:\n        10.0.0.1: { infra_seq: 1 }\n      vars:\n        docker_enabled: false\n",
    );
    s.push_str("    etcd:\n      hosts:\n");
    for i in 1..=3 {
        let _ = writeln!(s, "        10.0.0.{i}: {{ etcd_seq: {i} }}");
    }
    s.push_str("      vars:\n        etcd_cluster: etcd\n");
    let mut n = 0usize;
    for c in 1..=clusters {
        let _ = writeln!(s, "    pg-c{c}:\n      hosts:");
        for seq in 1..=per_cluster {
            let role = if seq == 1 { "primary" } else { "replica" };
            let offline = if seq == per_cluster && per_cluster >= 3 {
                ", pg_offline_query: true"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "        {}: {{ pg_seq: {seq}, pg_role: {role}{offline} }}",
                ip(n)
            );
            n += 1;
        }
        let _ = writeln!(
            s,
            "      vars:\n        <<: *pg_common\n        pg_cluster: pg-c{c}\n        \
             pg_users: [{{ name: dbuser_c{c}, password: DBUser.C{c}, pgbouncer: true, roles: [dbrole_admin] }}]\n        \
             pg_databases: [{{ name: c{c} }}]"
        );
    }
    s.push_str("...\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips_are_distinct() {
        let ips: std::collections::HashSet<_> = (0..200_000).map(ip).collect();
        assert_eq!(ips.len(), 200_000);
        assert_eq!(ip(0), "10.1.0.1");
        assert!(!ips.iter().any(|i| i.ends_with(".0")));
    }
}
