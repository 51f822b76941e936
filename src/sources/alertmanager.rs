//! Alertmanager's API v2: the alerts it currently holds (`GET /api/v2/alerts`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::http::{Http, SourceError};

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawStatus {
    #[serde(default)]
    state: String,
    #[serde(default)]
    silenced_by: Vec<String>,
    #[serde(default)]
    inhibited_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAlert {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    starts_at: Option<String>,
    #[serde(default)]
    ends_at: Option<String>,
    #[serde(default)]
    fingerprint: String,
    #[serde(default)]
    status: RawStatus,
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub name: String,
    /// `severity` label (Pigsty: CRIT | WARN | INFO).
    pub severity: Option<String>,
    /// `instance` label (`ip:port`).
    pub instance: Option<String>,
    pub ins: Option<String>,
    pub cls: Option<String>,
    pub ip: Option<String>,
    /// RFC 3339.
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    /// active | suppressed | unprocessed.
    pub state: String,
    pub silenced: bool,
    pub inhibited: bool,
    pub summary: Option<String>,
    pub fingerprint: String,
    pub labels: BTreeMap<String, String>,
}

pub fn parse_alerts(source: &str, body: &[u8]) -> Result<Vec<Alert>, SourceError> {
    let raw: Vec<RawAlert> = super::http::parse_json(source, "GET /api/v2/alerts", body)?;
    let mut out: Vec<Alert> = raw
        .into_iter()
        .map(|a| {
            let l = |k: &str| a.labels.get(k).cloned();
            Alert {
                name: l("alertname").unwrap_or_default(),
                severity: l("severity"),
                instance: l("instance"),
                ins: l("ins"),
                cls: l("cls"),
                ip: l("ip"),
                starts_at: a.starts_at.clone(),
                ends_at: a.ends_at.clone(),
                state: a.status.state.clone(),
                silenced: !a.status.silenced_by.is_empty(),
                inhibited: !a.status.inhibited_by.is_empty(),
                summary: a
                    .annotations
                    .get("summary")
                    .or_else(|| a.annotations.get("description"))
                    .cloned(),
                fingerprint: a.fingerprint.clone(),
                labels: a.labels,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.starts_at, &a.name, &a.fingerprint).cmp(&(&b.starts_at, &b.name, &b.fingerprint))
    });
    Ok(out)
}

/// Fetch the alerts from `base` (`http://127.0.0.10:9093`).
pub async fn poll(http: &Http, base: &str) -> Result<Vec<Alert>, SourceError> {
    let name = source_name(base);
    let r = http
        .get(
            &name,
            &format!("{}/api/v2/alerts", base.trim_end_matches('/')),
            None,
        )
        .await?
        .require_success(&name, "GET /api/v2/alerts")?;
    parse_alerts(&name, &r.body)
}

/// `alertmanager http://127.0.0.10:9093`.
pub fn source_name(base: &str) -> String {
    format!("alertmanager {}", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::fixture;

    const SRC: &str = "alertmanager http://127.0.0.10:9093";

    #[test]
    fn v2_alerts() {
        let a = parse_alerts(SRC, &fixture("alertmanager/alerts.json")).unwrap();
        assert_eq!(a.len(), 2);
        let down = a.iter().find(|a| a.name == "PgsqlDown").unwrap();
        assert_eq!(down.severity.as_deref(), Some("CRIT"));
        assert_eq!(down.ins.as_deref(), Some("pg-test-3"));
        assert_eq!(down.cls.as_deref(), Some("pg-test"));
        assert_eq!(down.instance.as_deref(), Some("127.0.0.13:9630"));
        assert_eq!(down.state, "active");
        assert!(down.starts_at.as_deref().unwrap().starts_with("20"));
        let silenced = a.iter().find(|a| a.name != "PgsqlDown").unwrap();
        assert_eq!(silenced.state, "suppressed");
        assert!(silenced.silenced);
    }

    #[test]
    fn empty_and_malformed() {
        assert!(parse_alerts(SRC, b"[]").unwrap().is_empty());
        let e = parse_alerts(SRC, b"[{").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("alertmanager http://127.0.0.10:9093: malformed JSON"),
            "{e}"
        );
    }
}
