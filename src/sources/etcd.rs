//! etcd v3 through its HTTP/JSON gateway: `POST /v3/kv/range` for Patroni's
//! keys under `{namespace}/{cluster}/`, and `POST /v3/watch`, a stream of
//! JSON objects, to learn of a leader change as it happens.

use serde::Deserialize;

use super::dcs::{DcsClusterView, DcsScope};
use super::http::{ErrorKind, Http, SourceError};

/// An etcd endpoint: `http://127.0.0.10:2379`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdEndpoint {
    pub base: String,
}

impl EtcdEndpoint {
    pub fn new(host: &str, port: u16) -> Self {
        EtcdEndpoint {
            base: format!("http://{}", crate::model::host_port(host, port)),
        }
    }

    /// `etcd 127.0.0.10:2379`.
    pub fn source_name(&self) -> String {
        format!("etcd {}", strip_scheme(&self.base))
    }
}

pub(crate) fn strip_scheme(url: &str) -> &str {
    url.split_once("://").map_or(url, |(_, r)| r)
}

/// int64 fields arrive as JSON strings (proto3 JSON), sometimes as numbers.
fn de_i64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s.parse().map_err(D::Error::custom),
        serde_json::Value::Number(n) => n.as_i64().ok_or_else(|| D::Error::custom("not an i64")),
        serde_json::Value::Null => Ok(0),
        other => Err(D::Error::custom(format!(
            "expected an integer, got {other}"
        ))),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Header {
    #[serde(default, deserialize_with = "de_i64")]
    pub revision: i64,
}

/// A key-value pair, decoded from base64.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyValue {
    pub key: String,
    pub value: Vec<u8>,
    pub mod_revision: i64,
}

#[derive(Debug, Deserialize)]
struct RawKv {
    key: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default, deserialize_with = "de_i64")]
    mod_revision: i64,
}

impl RawKv {
    fn decode(self) -> Result<KeyValue, String> {
        let key = b64_decode(&self.key).ok_or("key is not base64")?;
        let value = match self.value {
            Some(v) => b64_decode(&v).ok_or("value is not base64")?,
            None => Vec::new(),
        };
        Ok(KeyValue {
            key: String::from_utf8_lossy(&key).into_owned(),
            value,
            mod_revision: self.mod_revision,
        })
    }
}

#[derive(Debug, Deserialize)]
struct RawRange {
    #[serde(default)]
    header: Header,
    #[serde(default)]
    kvs: Vec<RawKv>,
}

/// The gateway's error: `{"error": "…", "message": "…", "code": 3}` (3.4
/// unary calls), `{"error": {"message": …}}` (3.4 streams) or
/// `{"code": …, "message": …}` (3.5).
fn gateway_error(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    error_message(&v)
}

fn error_message(v: &serde_json::Value) -> Option<String> {
    let obj = v.as_object()?;
    if obj.contains_key("result") || obj.contains_key("header") {
        return None;
    }
    let text = |v: Option<&serde_json::Value>| v.and_then(|m| m.as_str()).map(str::to_string);
    match obj.get("error") {
        Some(serde_json::Value::Object(e)) => text(e.get("message")).or(Some("error".into())),
        Some(serde_json::Value::String(s)) => text(obj.get("message")).or(Some(s.clone())),
        _ => match obj.get("code").and_then(|c| c.as_i64()) {
            Some(c) if c != 0 => text(obj.get("message")).or(Some(format!("code {c}"))),
            _ => None,
        },
    }
}

/// The answer of `/v3/kv/range`.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    pub revision: i64,
    pub kvs: Vec<KeyValue>,
}

pub fn parse_range(source: &str, body: &[u8]) -> Result<Range, SourceError> {
    const WHAT: &str = "POST /v3/kv/range";
    if let Some(m) = gateway_error(body) {
        return Err(SourceError::new(
            source,
            ErrorKind::Api,
            format!("{WHAT}: {m}"),
        ));
    }
    let raw: RawRange = super::http::parse_json(source, WHAT, body)?;
    let kvs = raw
        .kvs
        .into_iter()
        .map(RawKv::decode)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SourceError::new(source, ErrorKind::Malformed, format!("{WHAT}: {e}")))?;
    Ok(Range {
        revision: raw.header.revision,
        kvs,
    })
}

/// Kind of change in a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Put,
    Delete,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WatchEvent {
    pub kind: EventKind,
    pub kv: KeyValue,
}

/// One object of the watch stream.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchMessage {
    Created {
        revision: i64,
    },
    Events {
        revision: i64,
        events: Vec<WatchEvent>,
    },
    /// A progress notification (no events).
    Progress {
        revision: i64,
    },
    Canceled {
        reason: String,
        compact_revision: i64,
    },
}

#[derive(Debug, Deserialize)]
struct RawWatch {
    #[serde(default)]
    result: Option<RawWatchResult>,
}

#[derive(Debug, Deserialize)]
struct RawWatchResult {
    #[serde(default)]
    header: Header,
    #[serde(default)]
    created: bool,
    #[serde(default)]
    canceled: bool,
    #[serde(default)]
    cancel_reason: Option<String>,
    #[serde(default, deserialize_with = "de_i64")]
    compact_revision: i64,
    #[serde(default)]
    events: Vec<RawEvent>,
}

#[derive(Debug, Deserialize)]
struct RawEvent {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    kv: RawKv,
}

pub fn parse_watch_message(source: &str, obj: &[u8]) -> Result<WatchMessage, SourceError> {
    const WHAT: &str = "POST /v3/watch";
    let value: serde_json::Value = super::http::parse_json(source, WHAT, obj)?;
    if let Some(m) = error_message(&value) {
        return Err(SourceError::new(
            source,
            ErrorKind::Api,
            format!("{WHAT}: {m}"),
        ));
    }
    let raw: RawWatch = serde_json::from_value(value)
        .map_err(|e| SourceError::new(source, ErrorKind::Malformed, format!("{WHAT}: {e}")))?;
    let r = raw.result.ok_or_else(|| {
        SourceError::new(source, ErrorKind::Malformed, format!("{WHAT}: no result"))
    })?;
    let revision = r.header.revision;
    if r.canceled {
        return Ok(WatchMessage::Canceled {
            reason: r.cancel_reason.unwrap_or_default(),
            compact_revision: r.compact_revision,
        });
    }
    if r.created {
        return Ok(WatchMessage::Created { revision });
    }
    if r.events.is_empty() {
        return Ok(WatchMessage::Progress { revision });
    }
    let events = r
        .events
        .into_iter()
        .map(|e| {
            let kind = match e.kind.as_deref() {
                Some("DELETE") => EventKind::Delete,
                _ => EventKind::Put,
            };
            e.kv.decode().map(|kv| WatchEvent { kind, kv })
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SourceError::new(source, ErrorKind::Malformed, format!("{WHAT}: {e}")))?;
    Ok(WatchMessage::Events { revision, events })
}

/// Splits a byte stream into complete top-level JSON objects, whatever the
/// chunking (objects may straddle chunks; several may share one).
#[derive(Debug, Default)]
pub struct JsonObjects {
    buf: Vec<u8>,
    /// How far `buf` has been scanned, and the scanner state there.
    scanned: usize,
    depth: u32,
    in_string: bool,
    escaped: bool,
    start: Option<usize>,
}

/// A watch stream must not grow without bound if it never closes an object.
const MAX_OBJECT: usize = 16 << 20;

impl JsonObjects {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed a chunk; returns the objects completed by it.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Vec<u8>>, String> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        let mut i = self.scanned;
        while i < self.buf.len() {
            let c = self.buf[i];
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if c == b'\\' {
                    self.escaped = true;
                } else if c == b'"' {
                    self.in_string = false;
                }
            } else {
                match c {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => {
                        if self.depth == 0 {
                            self.start = Some(i);
                        }
                        self.depth += 1;
                    }
                    b'}' | b']' => {
                        if self.depth == 0 {
                            return Err("unbalanced JSON in stream".into());
                        }
                        self.depth -= 1;
                        if self.depth == 0
                            && let Some(s) = self.start.take()
                        {
                            out.push(self.buf[s..=i].to_vec());
                        }
                    }
                    _ => {}
                }
            }
            i += 1;
        }
        // Drop what is complete; keep the unfinished object.
        let keep_from = self.start.unwrap_or(self.buf.len());
        self.buf.drain(..keep_from);
        self.scanned = self.buf.len();
        if let Some(s) = self.start.as_mut() {
            *s = 0;
        }
        if self.buf.len() > MAX_OBJECT {
            return Err(format!("a stream object exceeds {MAX_OBJECT} bytes"));
        }
        Ok(out)
    }
}

/// The next key after every key with this prefix (etcd's `range_end`).
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // All 0xff: to the end of the keyspace.
    vec![0]
}

/// `{"key": …, "range_end": …}` for every key under `prefix`.
pub fn prefix_request(prefix: &str) -> serde_json::Value {
    serde_json::json!({
        "key": b64_encode(prefix.as_bytes()),
        "range_end": b64_encode(&prefix_end(prefix.as_bytes())),
    })
}

/// The watch creation body for every key under `prefix`, from `start_revision`.
pub fn watch_request(prefix: &str, start_revision: i64) -> serde_json::Value {
    let mut create = prefix_request(prefix);
    if start_revision > 0 {
        create["start_revision"] = serde_json::Value::String(start_revision.to_string());
    }
    serde_json::json!({ "create_request": create })
}

/// Fetch every key of a scope (every cluster of the namespace, in one
/// range), split into each cluster's view.
pub async fn range_scope(
    http: &Http,
    ep: &EtcdEndpoint,
    scope: &DcsScope,
) -> Result<Vec<(String, DcsClusterView)>, SourceError> {
    let range = range_prefix(http, ep, &scope.prefix).await?;
    Ok(scope_views(scope, &range))
}

/// Every key under `prefix`.
async fn range_prefix(http: &Http, ep: &EtcdEndpoint, prefix: &str) -> Result<Range, SourceError> {
    let name = ep.source_name();
    let url = format!("{}/v3/kv/range", ep.base);
    let r = http.post_json(&name, &url, &prefix_request(prefix)).await?;
    let r = if r.is_success() {
        r
    } else if let Some(m) = gateway_error(&r.body) {
        return Err(SourceError::new(
            &name,
            ErrorKind::Api,
            format!("POST /v3/kv/range: {m}"),
        ));
    } else {
        r.require_success(&name, "POST /v3/kv/range")?
    };
    parse_range(&name, &r.body)
}

/// Each cluster's view from a range of its scope's keys.
pub fn scope_views(scope: &DcsScope, range: &Range) -> Vec<(String, DcsClusterView)> {
    scope.views(
        range.revision,
        range
            .kvs
            .iter()
            .map(|kv| (kv.key.as_str(), kv.value.as_slice())),
    )
}

pub use crate::encoding::{b64_decode, b64_encode};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::fixture;

    const SRC: &str = "etcd 127.0.0.10:2379";

    #[test]
    fn range_end_of_prefix() {
        assert_eq!(prefix_end(b"/pg/pg-test/"), b"/pg/pg-test0".to_vec());
        assert_eq!(prefix_end(&[b'a', 0xff]), b"b".to_vec());
        let r = prefix_request("/pg/pg-test/");
        assert_eq!(r["key"], "L3BnL3BnLXRlc3Qv");
        assert_eq!(r["range_end"], "L3BnL3BnLXRlc3Qw");
    }

    /// pg-test's view of a range of the `/pg/` namespace.
    fn pg_test_view(r: &Range) -> DcsClusterView {
        let scope = &DcsScope::of("/pg", &["pg-test"], true)[0];
        scope_views(scope, r).remove(0).1
    }

    #[test]
    fn range_of_a_cluster() {
        let r = parse_range(SRC, &fixture("etcd/range.json")).unwrap();
        assert!(r.revision > 0);
        let v = pg_test_view(&r);
        assert_eq!(v.leader.as_deref(), Some("pg-test-1"));
        assert_eq!(v.members.len(), 3);
        assert_eq!(v.members["pg-test-2"].state.as_deref(), Some("running"));
        assert_eq!(v.revision, r.revision);
        assert!(v.problems.is_empty(), "{:?}", v.problems);
    }

    #[test]
    fn patroni_heartbeats_through_the_watch() {
        // Recorded: Patroni 3.0.2 updating its keys, watched from the
        // revision after `range.json`.
        let r = parse_range(SRC, &fixture("etcd/range.json")).unwrap();
        let mut v = pg_test_view(&r);
        assert!(!v.history.is_empty());
        let before = v.optime;
        let mut split = JsonObjects::new();
        let mut puts = 0;
        for obj in split.push(&fixture("etcd/watch-patroni.txt")).unwrap() {
            match parse_watch_message(SRC, &obj).unwrap() {
                WatchMessage::Events { revision, events } => {
                    assert!(revision > r.revision);
                    for e in events {
                        assert_eq!(e.kind, EventKind::Put);
                        v.set("/pg/pg-test/", &e.kv.key, Some(&e.kv.value));
                        puts += 1;
                    }
                }
                WatchMessage::Created { .. } | WatchMessage::Progress { .. } => {}
                m => panic!("{m:?}"),
            }
        }
        assert!(puts >= 3, "member keys refreshed");
        assert_eq!(v.leader.as_deref(), Some("pg-test-1"));
        assert_eq!(v.members.len(), 3);
        assert!(v.optime >= before);
        assert!(v.problems.is_empty(), "{:?}", v.problems);
    }

    #[test]
    fn empty_range() {
        let r = parse_range(
            SRC,
            br#"{"header":{"cluster_id":"1","member_id":"2","revision":"7","raft_term":"2"}}"#,
        )
        .unwrap();
        assert_eq!(r.revision, 7);
        assert!(r.kvs.is_empty());
    }

    #[test]
    fn range_errors() {
        let e = parse_range(SRC, br#"{"header":{"revision":"7"},"kvs":[{"key":"#).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Malformed);
        assert!(
            e.to_string()
                .starts_with("etcd 127.0.0.10:2379: malformed JSON"),
            "{e}"
        );
        let e = parse_range(
            SRC,
            br#"{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: request timed out","http_status":"Service Unavailable"}}"#,
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Api);
        assert!(e.to_string().contains("request timed out"), "{e}");
        let e = parse_range(SRC, &fixture("etcd/range-error.json")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "etcd 127.0.0.10:2379: POST /v3/kv/range: unexpected EOF"
        );
    }

    #[test]
    fn watch_stream_in_arbitrary_chunks() {
        let stream = fixture("etcd/watch-stream.txt");
        // Every chunking yields the same messages.
        for size in [1, 7, 64, stream.len()] {
            let mut split = JsonObjects::new();
            let mut msgs = Vec::new();
            for chunk in stream.chunks(size) {
                for obj in split.push(chunk).unwrap() {
                    msgs.push(parse_watch_message(SRC, &obj).unwrap());
                }
            }
            assert_eq!(msgs.len(), 3, "chunk size {size}");
            assert!(matches!(msgs[0], WatchMessage::Created { .. }));
            let WatchMessage::Events { events, revision } = &msgs[1] else {
                panic!("{:?}", msgs[1])
            };
            assert!(*revision > 0);
            assert_eq!(events[0].kind, EventKind::Delete);
            assert_eq!(events[0].kv.key, "/pg/pg-test/leader");
            let WatchMessage::Events { events, .. } = &msgs[2] else {
                panic!("{:?}", msgs[2])
            };
            assert_eq!(events[0].kind, EventKind::Put);
            assert_eq!(events[0].kv.key, "/pg/pg-test/leader");
            assert_eq!(events[0].kv.value, b"pg-test-2");
        }
    }

    #[test]
    fn splitter_handles_braces_in_strings() {
        let mut s = JsonObjects::new();
        let out = s.push(br#"{"a":"}{\"x"}{"b":[1,{"c":2}]}"#).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], br#"{"a":"}{\"x"}"#.to_vec());
    }

    #[test]
    fn watch_cancel_and_error() {
        let stream = fixture("etcd/watch-compacted.txt");
        let objs = JsonObjects::new().push(&stream).unwrap();
        let m = parse_watch_message(SRC, &objs[1]).unwrap();
        assert!(matches!(
            m,
            WatchMessage::Canceled {
                compact_revision: 9,
                ..
            }
        ));
        let e = parse_watch_message(
            SRC,
            br#"{"error":{"grpc_code":14,"message":"transport is closing"}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("transport is closing"));
    }

    #[test]
    fn watch_body() {
        let b = watch_request("/pg/pg-test/", 12);
        assert_eq!(b["create_request"]["key"], "L3BnL3BnLXRlc3Qv");
        assert_eq!(b["create_request"]["start_revision"], "12");
    }
}
