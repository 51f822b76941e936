//! The Prometheus HTTP API (VictoriaMetrics speaks the same): instant
//! queries for liveness, roles and lag with Pigsty's recording rules first
//! and raw metrics as fallbacks, and range queries for sparklines.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::http::{ErrorKind, Http, SourceError};
pub use super::labels::{Interner, Labels};

/// What an instant query is for. Each has a list of expressions tried in
/// order until one returns samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Postgres reachable by its exporter (1/0), per `ins`.
    PgUp,
    /// Scrape target up (1/0), per `instance` (`ip:port`).
    Up,
    /// `pg:ins:status`: 3 = up primary, 2 = up replica, < 2 down.
    Status,
    /// `pg_in_recovery` (1 = replica), per `ins`.
    InRecovery,
    /// Bytes of replay lag, per `ins`.
    LagBytes,
    /// Seconds of replay lag, per `ins`.
    LagSeconds,
    /// One series per leader (value 1), labelled `ins`.
    Leader,
    /// Timeline per `cls` (or per `ins`).
    Timeline,
}

/// A sparkline: a range query per instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesKind {
    Tps,
    LagBytes,
    Connections,
}

/// The queries, configurable; defaults follow Pigsty's metric names and
/// its `cls`, `ins`, `ip` labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Queries {
    pub cluster_label: String,
    pub instance_label: String,
    pub ip_label: String,
    /// Instant queries, each a fallback chain.
    pub instant: BTreeMap<Metric, Vec<String>>,
    /// Range queries (sparklines), each a fallback chain.
    pub range: BTreeMap<SeriesKind, Vec<String>>,
}

fn chain(exprs: &[&str]) -> Vec<String> {
    exprs.iter().map(|s| s.to_string()).collect()
}

impl Default for Queries {
    fn default() -> Self {
        let instant = BTreeMap::from([
            (Metric::PgUp, chain(&["pg_up", "patroni_postgres_running"])),
            (Metric::Up, chain(&["up"])),
            (
                Metric::Status,
                chain(&[
                    "pg:ins:status",
                    "patroni_postgres_running * 2 + on(ins) patroni_primary",
                ]),
            ),
            (
                Metric::InRecovery,
                chain(&["pg_in_recovery", "patroni_replica"]),
            ),
            (
                Metric::LagBytes,
                chain(&[
                    "pg:ins:lag_bytes",
                    r#"max without (address, appname, usename, pid) (label_replace(pg_repl_replay_diff{appname!~"walreceiver|pg_receivewal"}, "ins", "$1", "appname", "(.+)"))"#,
                    "(max by (cls) (patroni_xlog_location) - on(cls) group_right patroni_xlog_replayed_location) and on(ins) (patroni_replica == 1)",
                ]),
            ),
            (
                Metric::LagSeconds,
                chain(&[
                    "pg:ins:lag_seconds",
                    r#"max without (address, appname, usename, pid) (label_replace(pg_repl_replay_lag{appname!~"walreceiver|pg_receivewal"}, "ins", "$1", "appname", "(.+)"))"#,
                ]),
            ),
            (
                Metric::Leader,
                chain(&[
                    "pg:cls:leader",
                    "patroni_primary == 1",
                    "patroni_master == 1",
                ]),
            ),
            (
                Metric::Timeline,
                chain(&[
                    "pg:cls:timeline",
                    "max by (cls) (patroni_postgres_timeline)",
                ]),
            ),
        ]);
        let range = BTreeMap::from([
            (
                SeriesKind::Tps,
                chain(&[
                    "pg:ins:tps",
                    "pg:ins:xact_total_rate1m",
                    "sum without (datname) (rate(pg_db_xact_total[1m]))",
                ]),
            ),
            (
                SeriesKind::LagBytes,
                chain(&["pg:ins:lag_bytes", "pg_replication_lag"]),
            ),
            (
                SeriesKind::Connections,
                chain(&[
                    "pg:ins:num_backends",
                    "sum without (datname) (pg_db_numbackends)",
                ]),
            ),
        ]);
        Queries {
            cluster_label: "cls".into(),
            instance_label: "ins".into(),
            ip_label: "ip".into(),
            instant,
            range,
        }
    }
}

/// Range query window, resolution and cadence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RangeConfig {
    pub window: Duration,
    pub step: Duration,
    /// Re-run the range queries at most this often.
    pub every: Duration,
    /// Keep at most this many points per series.
    pub max_points: usize,
}

impl Default for RangeConfig {
    fn default() -> Self {
        RangeConfig {
            window: Duration::from_secs(15 * 60),
            step: Duration::from_secs(15),
            every: Duration::from_secs(10),
            max_points: 120,
        }
    }
}

/// One sample of an instant vector.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    pub labels: Labels,
    pub value: f64,
    /// Evaluation time, seconds since the epoch.
    pub ts: f64,
}

/// One series of a range matrix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub labels: Labels,
    /// The values, oldest first, one per step (timestamps dropped: a
    /// sparkline draws values only). Single precision, and shared with the
    /// snapshots' sparklines (not copied into each): a large deployment's
    /// range answers are thousands of series.
    pub values: Arc<[f32]>,
}

/// The `data` of a query answer.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryData {
    Vector(Vec<Sample>),
    Matrix(Vec<Series>),
    Scalar(f64, f64),
    String(String),
}

impl QueryData {
    pub fn is_empty(&self) -> bool {
        match self {
            QueryData::Vector(v) => v.is_empty(),
            QueryData::Matrix(m) => m.is_empty(),
            QueryData::Scalar(..) | QueryData::String(_) => false,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAnswer<'a> {
    status: String,
    #[serde(default, borrow)]
    data: Option<RawData<'a>>,
    #[serde(default)]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// `result` stays text until `resultType` says what it is: parsed once,
/// straight into samples or series (no generic JSON tree of a large
/// deployment's answer in between).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawData<'a> {
    result_type: String,
    #[serde(borrow)]
    result: &'a serde_json::value::RawValue,
}

/// A label name or value: borrowed, or owned when it had escapes.
struct LabelText<'a>(std::borrow::Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for LabelText<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = LabelText<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a label value (a string)")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                s: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(LabelText(s.into()))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(LabelText(s.to_string().into()))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// Which labels to keep of each sample.
type KeepLabel<'k> = &'k dyn Fn(&str) -> bool;

/// How samples are read: which labels are kept, and where their texts are
/// shared.
struct Reader<'k> {
    keep: KeepLabel<'k>,
    interner: &'k mut Interner,
}

/// `result` of a vector or matrix, read element by element: each sample
/// becomes a [`Sample`] / [`Series`] with only the labels `keep` wants
/// before the next is read (no second copy of a large answer).
struct Results<'r, 'k> {
    matrix: bool,
    reader: &'r mut Reader<'k>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Results<'_, '_> {
    type Value = QueryData;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<QueryData, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Results<'_, '_> {
    type Value = QueryData;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of samples")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<QueryData, A::Error> {
        let mut samples = Vec::new();
        let mut series = Vec::new();
        while let Some(s) = seq.next_element_seed(ElementSeed(&mut *self.reader))? {
            if self.matrix {
                series.push(Series {
                    labels: s.labels,
                    values: s.values.unwrap_or_default().0.into(),
                });
            } else if let Some((ts, value)) = s.value {
                samples.push(Sample {
                    labels: s.labels,
                    value,
                    ts,
                });
            }
        }
        Ok(if self.matrix {
            QueryData::Matrix(series)
        } else {
            QueryData::Vector(samples)
        })
    }
}

/// One element of `result` as read: `metric` (kept labels), and `value`
/// (vector) or `values` (matrix).
struct Element {
    labels: Labels,
    value: Option<(f64, f64)>,
    values: Option<Values>,
}

struct ElementSeed<'r, 'k>(&'r mut Reader<'k>);

impl<'de> serde::de::DeserializeSeed<'de> for ElementSeed<'_, '_> {
    type Value = Element;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Element, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ElementSeed<'_, '_> {
    type Value = Element;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a sample (an object with metric and value or values)")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Element, A::Error> {
        let mut out = Element {
            labels: Labels::default(),
            value: None,
            values: None,
        };
        while let Some(key) = map.next_key::<LabelText<'de>>()? {
            match &*key.0 {
                "metric" => out.labels = map.next_value_seed(LabelsSeed(&mut *self.0))?,
                "value" => {
                    out.value = map
                        .next_value::<Option<(f64, PromValue)>>()?
                        .map(|(t, v)| (t, v.0))
                }
                "values" => out.values = map.next_value::<Option<Values>>()?,
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// `metric`: the kept labels, their texts shared through the interner.
struct LabelsSeed<'r, 'k>(&'r mut Reader<'k>);

impl<'de> serde::de::DeserializeSeed<'de> for LabelsSeed<'_, '_> {
    type Value = Labels;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Labels, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for LabelsSeed<'_, '_> {
    type Value = Labels;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("labels (an object of strings)")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Labels, E> {
        Ok(Labels::default())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Labels, A::Error> {
        let mut pairs = Vec::new();
        while let Some((name, value)) = map.next_entry::<LabelText<'de>, LabelText<'de>>()? {
            if (self.0.keep)(&name.0) {
                pairs.push((
                    self.0.interner.intern(&name.0),
                    self.0.interner.intern(&value.0),
                ));
            }
        }
        Ok(self.0.interner.labels(pairs))
    }
}

/// `values` of a matrix series: `[[t, "v"], …]` read straight into the
/// values (no list of pairs in between).
#[derive(Default)]
struct Values(Vec<f32>);

impl<'de> Deserialize<'de> for Values {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Values;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of [time, value] pairs")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Values, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some((_, v)) = seq.next_element::<(f64, PromValue)>()? {
                    out.push(v.0 as f32);
                }
                Ok(Values(out))
            }
        }
        d.deserialize_seq(V)
    }
}

/// A sample value as Prometheus writes it (a string: "1", "NaN", "+Inf"),
/// read without an intermediate `String`.
#[derive(Debug, Clone, Copy)]
struct PromValue(f64);

impl<'de> Deserialize<'de> for PromValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = PromValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a sample value (a string such as \"1\" or \"NaN\")")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<PromValue, E> {
                Ok(PromValue(value(s)))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<PromValue, E> {
                Ok(PromValue(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PromValue, E> {
                Ok(PromValue(v as f64))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PromValue, E> {
                Ok(PromValue(v as f64))
            }
        }
        d.deserialize_any(V)
    }
}

/// Prometheus writes values as strings: "1", "NaN", "+Inf".
fn value(s: &str) -> f64 {
    match s {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => s.parse().unwrap_or(f64::NAN),
    }
}

/// Parse an answer of `/api/v1/query` or `/api/v1/query_range` (whatever
/// the HTTP status: errors come as `{"status":"error", …}` with 4xx/5xx).
pub fn parse_answer(
    source: &str,
    what: &str,
    http_status: u16,
    body: &[u8],
) -> Result<QueryData, SourceError> {
    parse_answer_keeping(
        source,
        what,
        http_status,
        body,
        &|_| true,
        &mut Interner::default(),
    )
}

/// [`parse_answer`] keeping only the labels `keep` wants (the poller keeps
/// those it reads: a large deployment's answers carry many more), their
/// texts shared through `interner`.
pub fn parse_answer_keeping(
    source: &str,
    what: &str,
    http_status: u16,
    body: &[u8],
    keep: KeepLabel<'_>,
    interner: &mut Interner,
) -> Result<QueryData, SourceError> {
    let raw: RawAnswer = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) if (200..300).contains(&http_status) => {
            return Err(SourceError::malformed_json_in(source, what, &e, body));
        }
        Err(_) => {
            let text: String = String::from_utf8_lossy(body).chars().take(160).collect();
            return Err(SourceError::new(
                source,
                ErrorKind::Http,
                format!("{what}: HTTP {http_status}: {}", text.trim()),
            ));
        }
    };
    if raw.status != "success" {
        return Err(SourceError::new(
            source,
            ErrorKind::Api,
            format!(
                "{what}: {}: {}",
                one_line(raw.error_type.as_deref().unwrap_or("error")),
                one_line(raw.error.as_deref().unwrap_or(""))
            ),
        ));
    }
    let data = raw.data.ok_or_else(|| {
        SourceError::new(
            source,
            ErrorKind::Malformed,
            format!("{what}: success without data"),
        )
    })?;
    let bad = |e: serde_json::Error| {
        SourceError::new(source, ErrorKind::Malformed, format!("{what}: {e}"))
    };
    let result = data.result.get();
    Ok(match data.result_type.as_str() {
        kind @ ("vector" | "matrix") => {
            use serde::de::DeserializeSeed;
            let mut de = serde_json::Deserializer::from_str(result);
            let seed = Results {
                matrix: kind == "matrix",
                reader: &mut Reader { keep, interner },
            };
            let data = seed.deserialize(&mut de).map_err(bad)?;
            de.end().map_err(bad)?;
            data
        }
        "scalar" => {
            let (t, v): (f64, PromValue) = serde_json::from_str(result).map_err(bad)?;
            QueryData::Scalar(t, v.0)
        }
        "string" => {
            let (_, v): (f64, String) = serde_json::from_str(result).map_err(bad)?;
            QueryData::String(v)
        }
        other => {
            return Err(SourceError::new(
                source,
                ErrorKind::Malformed,
                format!("{what}: unknown resultType {other}"),
            ));
        }
    })
}

/// The samples of one metric and the expression that produced them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstantResult {
    pub expr: String,
    pub samples: Vec<Sample>,
}

/// Range results of one sparkline kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RangeResult {
    pub expr: String,
    pub series: Vec<Series>,
}

/// What one poll of Prometheus learnt.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PromReport {
    pub instant: BTreeMap<Metric, InstantResult>,
    /// Present when the range queries ran this time.
    pub range: Option<BTreeMap<SeriesKind, RangeResult>>,
    /// Queries Prometheus refused (bad expression, …): not fatal.
    pub query_errors: Vec<String>,
}

/// The label that tags each part of the combined instant query.
pub const PART_LABEL: &str = "pigsty_tui_part";

/// One query for several instant expressions: each tagged with its index
/// in [`PART_LABEL`] and joined with `or` (the tags keep every label set
/// distinct, so `or` drops nothing):
/// `label_replace(pg_up, "pigsty_tui_part", "0", "", "") or label_replace(up, …, "1", …)`.
pub fn combined_query(exprs: &[&str]) -> String {
    exprs
        .iter()
        .enumerate()
        .map(|(i, e)| format!(r#"label_replace({e}, "{PART_LABEL}", "{i}", "", "")"#))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Split the samples of a [`combined_query`] back into its `n` parts,
/// removing the tag (samples without a valid tag are dropped).
/// The labels left are shared through `interner` (the parts' samples of
/// one instance then hold one set).
pub fn split_parts(samples: Vec<Sample>, n: usize, interner: &mut Interner) -> Vec<Vec<Sample>> {
    let mut parts = vec![Vec::new(); n];
    for mut s in samples {
        let (labels, part) = interner.without(&s.labels, PART_LABEL);
        s.labels = labels;
        let Some(i) = part.and_then(|v| v.parse::<usize>().ok()) else {
            continue;
        };
        if let Some(p) = parts.get_mut(i) {
            p.push(s);
        }
    }
    parts
}

/// What a fallback chain found (the expression and its data, if any) and
/// the expressions Prometheus refused on the way.
type ChainResult = Result<(Option<(String, QueryData)>, Vec<String>), SourceError>;

/// The Prometheus poller: instant queries every time, range queries when
/// `range.every` has passed.
#[derive(Debug)]
pub struct PromPoller {
    pub base: String,
    name: String,
    http: Http,
    queries: Queries,
    range: RangeConfig,
    last_range: Option<std::time::Instant>,
    /// Ask the instant queries in one request (until Prometheus refuses
    /// the combination, then one request per metric).
    combine: std::sync::atomic::AtomicBool,
    /// One shared copy of each label text, across queries and polls.
    interner: std::sync::Mutex<Interner>,
}

impl PromPoller {
    pub fn new(base: &str, http: Http, queries: Queries, range: RangeConfig) -> Self {
        let base = base.trim_end_matches('/').to_string();
        PromPoller {
            name: format!("prometheus {base}"),
            base,
            http,
            queries,
            range,
            last_range: None,
            combine: std::sync::atomic::AtomicBool::new(true),
            interner: Default::default(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    async fn query(&self, path: &str, params: &[(&str, String)]) -> Result<QueryData, SourceError> {
        let url = format!("{}{path}", self.base);
        let req = self.http.client().get(&url).query(params);
        let what = format!("GET {path}");
        let r = self
            .http
            .send(&self.name, &what, req, self.http.timeout, true)
            .await?;
        let keep = |label: &str| {
            label == "instance"
                || label == PART_LABEL
                || label == self.queries.instance_label
                || label == self.queries.cluster_label
                || label == self.queries.ip_label
        };
        let mut interner = self.interner.lock().unwrap_or_else(|e| e.into_inner());
        parse_answer_keeping(&self.name, &what, r.status, &r.body, &keep, &mut interner)
    }

    /// Run a fallback chain: the first expression with results wins. API
    /// errors (a rejected expression) fall through to the next; transport
    /// errors abort.
    async fn first_nonempty(&self, exprs: &[String], range: Option<(f64, f64)>) -> ChainResult {
        let mut refused = Vec::new();
        for expr in exprs {
            let r = match range {
                None => {
                    self.query("/api/v1/query", &[("query", expr.clone())])
                        .await
                }
                Some((start, end)) => {
                    self.query(
                        "/api/v1/query_range",
                        &[
                            ("query", expr.clone()),
                            ("start", format!("{start:.3}")),
                            ("end", format!("{end:.3}")),
                            ("step", format!("{}s", self.range.step.as_secs().max(1))),
                        ],
                    )
                    .await
                }
            };
            match r {
                Ok(d) if !d.is_empty() => return Ok((Some((expr.clone(), d)), refused)),
                Ok(_) => {}
                Err(e) if e.kind == ErrorKind::Api => refused.push(format!("{expr}: {}", e.detail)),
                Err(e) => return Err(e),
            }
        }
        Ok((None, refused))
    }

    /// Every instant chain: the first expression of each in one combined
    /// request, then the rest of the chains that found nothing (one
    /// request each, as without combining). Falls back to one request per
    /// metric for good when Prometheus refuses the combination (a first
    /// expression that is not an instant vector, …).
    async fn instant_all(&self) -> Vec<(Metric, ChainResult)> {
        use std::sync::atomic::Ordering::Relaxed;
        let chains: Vec<(Metric, &[String])> = self
            .queries
            .instant
            .iter()
            .map(|(m, e)| (*m, e.as_slice()))
            .collect();
        let firsts: Vec<&str> = chains
            .iter()
            .filter_map(|(_, e)| e.first().map(String::as_str))
            .collect();
        let this = self;
        if self.combine.load(Relaxed) && firsts.len() > 1 && firsts.len() == chains.len() {
            let q = combined_query(&firsts);
            match this.query("/api/v1/query", &[("query", q)]).await {
                Ok(QueryData::Vector(v)) => {
                    let parts = {
                        let mut interner = this.interner.lock().unwrap_or_else(|e| e.into_inner());
                        split_parts(v, chains.len(), &mut interner)
                    };
                    return futures::future::join_all(chains.iter().zip(parts).map(
                        |((m, exprs), samples)| async move {
                            if samples.is_empty() {
                                (*m, this.first_nonempty(&exprs[1..], None).await)
                            } else {
                                let found = (exprs[0].clone(), QueryData::Vector(samples));
                                (*m, Ok((Some(found), Vec::new())))
                            }
                        },
                    ))
                    .await;
                }
                Ok(_)
                | Err(SourceError {
                    kind: ErrorKind::Api,
                    ..
                }) => {}
                Err(e) => return chains.iter().map(|(m, _)| (*m, Err(e.clone()))).collect(),
            }
            self.combine.store(false, Relaxed);
        }
        futures::future::join_all(
            chains
                .iter()
                .map(|(m, exprs)| async move { (*m, this.first_nonempty(exprs, None).await) }),
        )
        .await
    }

    pub async fn poll(&mut self) -> Result<PromReport, SourceError> {
        let want_range = self
            .last_range
            .is_none_or(|t| t.elapsed() >= self.range.every);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let window = (now - self.range.window.as_secs_f64(), now);
        let this = &*self;
        let instant = this.instant_all();
        let ranges = async {
            if !want_range {
                return Vec::new();
            }
            // One after the other: each answer is a few MB at a thousand
            // instances, and three of them read at once triple the peak.
            // A transport error ends the poll (below), so the rest are not
            // asked: a stalled Prometheus costs one timeout, not three.
            let mut out = Vec::with_capacity(this.queries.range.len());
            for (k, exprs) in &this.queries.range {
                let r = this.first_nonempty(exprs, Some(window)).await;
                let failed = r.is_err();
                out.push((*k, r));
                if failed {
                    break;
                }
            }
            out
        };
        let (instant, ranges) = tokio::join!(instant, ranges);
        // What neither these answers nor the merger's last ones hold goes.
        self.interner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .prune();
        let mut report = PromReport::default();
        for (metric, r) in instant {
            let (found, refused) = r?;
            report.query_errors.extend(refused);
            let (expr, samples) = match found {
                Some((expr, QueryData::Vector(v))) => (expr, v),
                Some((expr, QueryData::Scalar(t, v))) => (
                    expr,
                    vec![Sample {
                        labels: Labels::default(),
                        value: v,
                        ts: t,
                    }],
                ),
                Some((expr, _)) => (expr, Vec::new()),
                None => (String::new(), Vec::new()),
            };
            report
                .instant
                .insert(metric, InstantResult { expr, samples });
        }
        if want_range {
            let mut out = BTreeMap::new();
            for (kind, r) in ranges {
                let (found, refused) = r?;
                report.query_errors.extend(refused);
                let (expr, mut series) = match found {
                    Some((expr, QueryData::Matrix(m))) => (expr, m),
                    _ => (String::new(), Vec::new()),
                };
                for s in &mut series {
                    let n = s.values.len();
                    if n > self.range.max_points {
                        s.values = s.values[n - self.range.max_points..].into();
                    }
                }
                out.insert(kind, RangeResult { expr, series });
            }
            report.range = Some(out);
            self.last_range = Some(std::time::Instant::now());
        }
        Ok(report)
    }
}

/// Text taken from an answer, on one line (error messages are shown in
/// status lines): runs of whitespace and control characters become a space.
fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::fixture;

    const SRC: &str = "prometheus http://127.0.0.10:9090";

    #[test]
    fn vector() {
        let d = parse_answer(
            SRC,
            "GET /api/v1/query",
            200,
            &fixture("prometheus/vector-pg-up.json"),
        )
        .unwrap();
        let QueryData::Vector(v) = d else {
            panic!("{d:?}")
        };
        assert_eq!(v.len(), 4);
        let s = v
            .iter()
            .find(|s| s.labels.get("ins") == Some("pg-test-2"))
            .unwrap();
        assert_eq!(s.value, 1.0);
        assert_eq!(&s.labels["cls"], "pg-test");
        assert_eq!(&s.labels["ip"], "127.0.0.12");
        assert!(s.ts > 1.0e9);
    }

    #[test]
    fn matrix() {
        let d = parse_answer(
            SRC,
            "GET /api/v1/query_range",
            200,
            &fixture("prometheus/matrix-tps.json"),
        )
        .unwrap();
        let QueryData::Matrix(m) = d else {
            panic!("{d:?}")
        };
        assert!(!m.is_empty());
        assert!(m[0].values.len() > 2);
        assert!(m[0].values.iter().all(|v| v.is_finite() && *v >= 0.0));
    }

    #[test]
    fn special_values() {
        let d = parse_answer(
            SRC,
            "GET /api/v1/query",
            200,
            br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1.5,"NaN"]},{"metric":{},"value":[1.5,"+Inf"]}]}}"#,
        )
        .unwrap();
        let QueryData::Vector(v) = d else { panic!() };
        assert!(v[0].value.is_nan());
        assert!(v[1].value.is_infinite());
        let d = parse_answer(
            SRC,
            "GET /api/v1/query",
            200,
            br#"{"status":"success","data":{"resultType":"scalar","result":[1.5,"2"]}}"#,
        )
        .unwrap();
        assert_eq!(d, QueryData::Scalar(1.5, 2.0));
    }

    #[test]
    fn api_error() {
        let e = parse_answer(
            SRC,
            "GET /api/v1/query",
            400,
            &fixture("prometheus/error-bad-data.json"),
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Api);
        assert!(
            e.to_string()
                .starts_with("prometheus http://127.0.0.10:9090: GET /api/v1/query: bad_data: "),
            "{e}"
        );
    }

    #[test]
    fn malformed_names_endpoint_and_position() {
        let e = parse_answer(
            SRC,
            "GET /api/v1/query",
            200,
            br#"{"status":"success","data":{"#,
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Malformed);
        let s = e.to_string();
        assert!(
            s.starts_with("prometheus http://127.0.0.10:9090: malformed JSON at line 1 column"),
            "{s}"
        );
        // A non-JSON 502 from a proxy is an HTTP error, not malformed JSON.
        let e =
            parse_answer(SRC, "GET /api/v1/query", 502, b"<html>Bad Gateway</html>").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Http);
    }

    /// The poller keeps only the labels it reads; escaped label values are
    /// unescaped; a malformed element names where it failed.
    #[test]
    fn answers_keep_only_the_wanted_labels() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"pg_up","cls":"pg-test","ins":"pg-test-1","ip":"10.0.0.1","job":"pgsql","note":"a \"quoted\" \u00e9","a\u0026b":"x"},"value":[1.5,"1"]},
            {"metric":{"cls":"pg-test","ins":"pg-test-2"},"value":[1.5,"NaN"]}]}}"#;
        let keep = |l: &str| l == "cls" || l == "ins" || l == "note" || l == "a&b";
        let d = parse_answer_keeping(
            SRC,
            "GET /api/v1/query",
            200,
            body,
            &keep,
            &mut Interner::default(),
        )
        .unwrap();
        let QueryData::Vector(v) = d else {
            panic!("{d:?}")
        };
        assert_eq!(v.len(), 2);
        let keys: Vec<&str> = v[0].labels.iter().map(|(n, _)| n).collect();
        assert_eq!(keys, ["a&b", "cls", "ins", "note"]);
        assert_eq!(&v[0].labels["note"], "a \"quoted\" \u{e9}");
        assert_eq!(v[0].value, 1.0);
        assert!(v[1].value.is_nan());
        // Everything kept by parse_answer.
        let QueryData::Vector(all) = parse_answer(SRC, "GET /api/v1/query", 200, body).unwrap()
        else {
            panic!()
        };
        assert_eq!(all[0].labels.len(), 7);
        let bad = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2]]}]}}"#;
        let e = parse_answer_keeping(
            SRC,
            "GET /api/v1/query_range",
            200,
            bad,
            &keep,
            &mut Interner::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("GET /api/v1/query_range"), "{e}");
        assert!(e.to_string().contains("column"), "{e}");
    }

    #[test]
    fn combined_query_tags_and_splits_parts() {
        let q = combined_query(&["pg_up", "patroni_primary == 1"]);
        assert_eq!(
            q,
            r#"label_replace(pg_up, "pigsty_tui_part", "0", "", "") or label_replace(patroni_primary == 1, "pigsty_tui_part", "1", "", "")"#
        );
        let d = parse_answer(
            SRC,
            "GET /api/v1/query",
            200,
            br#"{"status":"success","data":{"resultType":"vector","result":[
                {"metric":{"__name__":"pg_up","ins":"pg-test-1","pigsty_tui_part":"0"},"value":[1.5,"1"]},
                {"metric":{"ins":"pg-test-1","pigsty_tui_part":"2"},"value":[1.5,"1"]},
                {"metric":{"ins":"pg-test-2","pigsty_tui_part":"x"},"value":[1.5,"1"]},
                {"metric":{"__name__":"pg_up","ins":"pg-test-2","pigsty_tui_part":"0"},"value":[1.5,"0"]}]}}"#,
        )
        .unwrap();
        let QueryData::Vector(v) = d else { panic!() };
        let parts = split_parts(v, 2, &mut Interner::default());
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].len(), 2);
        assert!(parts[1].is_empty());
        assert!(parts[0].iter().all(|s| !s.labels.contains(PART_LABEL)));
        assert_eq!(&parts[0][1].labels["ins"], "pg-test-2");
        assert_eq!(parts[0][1].value, 0.0);
    }

    #[test]
    fn default_queries_follow_pigsty() {
        let q = Queries::default();
        assert_eq!(q.instant[&Metric::Status][0], "pg:ins:status");
        assert_eq!(q.instant[&Metric::Leader][0], "pg:cls:leader");
        assert!(
            q.instant[&Metric::Leader]
                .iter()
                .any(|e| e.starts_with("patroni_"))
        );
        assert_eq!(q.range[&SeriesKind::Tps][0], "pg:ins:tps");
        assert_eq!(q.instance_label, "ins");
    }
}
