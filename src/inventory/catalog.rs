//! The catalog of Pigsty services: name, port, protocol, purpose and health
//! path of everything the two port tables of Pigsty's architecture list.
//!
//! Meta / infra node: Grafana 3000, Prometheus 9090 (9058 from v3.7;
//! VictoriaMetrics 8428 in v4), Alertmanager 9093 (9059 from v3.7),
//! Consul 8500 and Consul DNS 8600 (v1) or etcd 2379 (v2+), Nginx 80,
//! NTP 123/udp, Dnsmasq 53/udp, Loki 3100 (optional).
//!
//! Database node: Postgres 5432, Pgbouncer 6432, Patroni 8008, Consul agent
//! 8500 (v1), HAProxy service ports (5433 primary, 5434 replica, 5436 default,
//! 5438 offline, from the cluster's services), HAProxy admin 9101,
//! PG exporter 9630, Pgbouncer exporter 9631, Node exporter 9100,
//! Promtail 9080 (optional).
//!
//! Ports here are only the defaults' documentation: the loader passes the
//! port each inventory resolves to.

use crate::model::{ClusterService, Service, ServiceKind};

/// Fixed ports that no Pigsty variable changes.
pub const CONSUL_PORT: u16 = 8500;
pub const CONSUL_DNS_PORT: u16 = 8600;
pub const NTP_PORT: u16 = 123;
pub const LOKI_PORT: u16 = 3100;
pub const DNS_PORT: u16 = 53;
pub const PROMETHEUS_V1_PORT: u16 = 9090;
pub const ALERTMANAGER_V1_PORT: u16 = 9093;
pub const GRAFANA_PORT: u16 = 3000;
pub const ETCD_PORT: u16 = 2379;

// ---- infrastructure (meta / infra node) ----

pub fn grafana(port: u16) -> Service {
    Service::new(
        ServiceKind::Grafana,
        "Grafana",
        port,
        "Monitoring dashboards (web UI)",
    )
    .with_health("/api/health")
}

pub fn prometheus(port: u16) -> Service {
    Service::new(
        ServiceKind::Prometheus,
        "Prometheus",
        port,
        "Metrics time-series database",
    )
    .with_health("/-/ready")
}

/// v4's Prometheus replacement (Prometheus-compatible query API).
pub fn victoria_metrics(port: u16) -> Service {
    Service::new(
        ServiceKind::Prometheus,
        "VictoriaMetrics",
        port,
        "Metrics time-series database (Prometheus API)",
    )
    .with_health("/health")
}

pub fn alertmanager(port: u16) -> Service {
    Service::new(
        ServiceKind::Alertmanager,
        "Alertmanager",
        port,
        "Alert aggregation and delivery",
    )
    .with_health("/-/ready")
}

pub fn consul_server(port: u16) -> Service {
    Service::new(
        ServiceKind::ConsulServer,
        "Consul",
        port,
        "DCS server and service discovery",
    )
    .with_health("/v1/status/leader")
}

pub fn consul_dns(port: u16) -> Service {
    Service::new(
        ServiceKind::ConsulDns,
        "Consul DNS",
        port,
        "DNS for service discovery",
    )
    .udp()
}

pub fn etcd(port: u16) -> Service {
    Service::new(
        ServiceKind::Etcd,
        "etcd",
        port,
        "DCS server (Patroni leader election)",
    )
    .with_health("/health")
}

pub fn nginx(port: u16) -> Service {
    Service::new(
        ServiceKind::Nginx,
        "Nginx",
        port,
        "Web portal, reverse proxy and local repo",
    )
}

pub fn ntp(port: u16) -> Service {
    Service::new(ServiceKind::Ntp, "NTP", port, "Time server").udp()
}

pub fn dnsmasq(port: u16) -> Service {
    Service::new(ServiceKind::Dnsmasq, "Dnsmasq", port, "DNS name server").udp()
}

pub fn loki(port: u16) -> Service {
    Service::new(ServiceKind::Loki, "Loki", port, "Log collection server").with_health("/ready")
}

/// v4's Loki replacement.
pub fn victoria_logs(port: u16) -> Service {
    Service::new(
        ServiceKind::Loki,
        "VictoriaLogs",
        port,
        "Log collection server",
    )
    .with_health("/health")
}

// ---- database node ----

pub fn postgres(port: u16) -> Service {
    Service::new(
        ServiceKind::Postgres,
        "Postgres",
        port,
        "PostgreSQL database server",
    )
}

pub fn pgbouncer(port: u16) -> Service {
    Service::new(
        ServiceKind::Pgbouncer,
        "Pgbouncer",
        port,
        "Connection pooler",
    )
}

pub fn patroni(port: u16) -> Service {
    Service::new(
        ServiceKind::Patroni,
        "Patroni",
        port,
        "HA agent and REST API",
    )
    .with_health("/health")
}

pub fn consul_agent(port: u16) -> Service {
    Service::new(
        ServiceKind::ConsulAgent,
        "Consul Agent",
        port,
        "Local Consul agent (DCS, service registry)",
    )
    .with_health("/v1/status/leader")
}

/// A HAProxy service port of the cluster: "Haproxy Primary" etc.
pub fn haproxy_service(svc: &ClusterService) -> Service {
    let mut title = String::with_capacity(svc.name.len() + 8);
    title.push_str("Haproxy ");
    let mut chars = svc.name.chars();
    if let Some(c) = chars.next() {
        title.extend(c.to_uppercase());
        title.push_str(chars.as_str());
    }
    let what = match svc.name.as_str() {
        "primary" => "Read-write service".to_string(),
        "replica" => "Read-only service".to_string(),
        "default" => "Direct primary service (admin, DDL)".to_string(),
        "offline" => "Offline service (ETL, interactive)".to_string(),
        "standby" => "Sync standby service".to_string(),
        other => format!("Cluster service '{other}'"),
    };
    Service::new(
        ServiceKind::HaproxyService,
        &title,
        svc.port,
        &format!("{what} → {}", svc.dest),
    )
}

pub fn haproxy_admin(port: u16) -> Service {
    Service::new(
        ServiceKind::HaproxyAdmin,
        "Haproxy Admin",
        port,
        "HAProxy admin page and metrics",
    )
    .with_health("/metrics")
}

pub fn pg_exporter(port: u16) -> Service {
    Service::new(
        ServiceKind::PgExporter,
        "PG Exporter",
        port,
        "PostgreSQL metrics exporter",
    )
    .with_health("/metrics")
}

pub fn pgbouncer_exporter(port: u16) -> Service {
    Service::new(
        ServiceKind::PgbouncerExporter,
        "PGBouncer Exporter",
        port,
        "Pgbouncer metrics exporter",
    )
    .with_health("/metrics")
}

pub fn node_exporter(port: u16) -> Service {
    Service::new(
        ServiceKind::NodeExporter,
        "Node Exporter",
        port,
        "Host metrics exporter",
    )
    .with_health("/metrics")
}

pub fn promtail(port: u16) -> Service {
    Service::new(
        ServiceKind::Promtail,
        "Promtail",
        port,
        "Log shipper (to Loki)",
    )
    .with_health("/ready")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Proto;

    #[test]
    fn haproxy_names() {
        let s = haproxy_service(&ClusterService {
            name: "primary".into(),
            port: 5433,
            dest: "pgbouncer".into(),
            check: Some("/primary".into()),
            selector: Some("[]".into()),
        });
        assert_eq!(&*s.name, "Haproxy Primary");
        assert_eq!(s.port, 5433);
        assert!(s.purpose.contains("pgbouncer"));
    }

    #[test]
    fn udp_and_health() {
        assert_eq!(dnsmasq(53).proto, Proto::Udp);
        assert_eq!(ntp(123).proto, Proto::Udp);
        assert_eq!(patroni(8008).http_health.as_deref(), Some("/health"));
        assert_eq!(prometheus(9090).http_health.as_deref(), Some("/-/ready"));
        assert_eq!(etcd(2379).http_health.as_deref(), Some("/health"));
        assert_eq!(
            consul_server(8500).http_health.as_deref(),
            Some("/v1/status/leader")
        );
        assert_eq!(grafana(3000).http_health.as_deref(), Some("/api/health"));
    }
}
