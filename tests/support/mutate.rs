//! Strategies shared by the property tests (`tests/proptest_*.rs`):
//! arbitrary JSON, and structure-aware mutations of valid documents — edits
//! of a JSON tree (replace a node by anything, remove it, add a key, turn a
//! number into a string, …), of text lines (delete, duplicate, swap, indent,
//! replace the value after `key:`, append YAML tokens) and of bytes
//! (truncate, insert, delete, flip).
//!
//! Included with `#[path = "support/mutate.rs"] mod mutate;`.

#![allow(dead_code)]

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value};

/// Field names of the parsed APIs: random objects use them often, so they
/// reach the typed fields rather than being ignored as unknown keys.
pub const KEYS: &[&str] = &[
    // Patroni
    "members",
    "name",
    "role",
    "state",
    "host",
    "port",
    "api_url",
    "timeline",
    "lag",
    "receive_lag",
    "replay_lag",
    "pending_restart",
    "tags",
    "pause",
    "scope",
    "xlog",
    "location",
    "replayed_location",
    "received_location",
    "replication",
    "application_name",
    "sync_state",
    "server_version",
    "patroni",
    // Prometheus
    "status",
    "data",
    "resultType",
    "result",
    "metric",
    "value",
    "values",
    "errorType",
    "error",
    "ins",
    "cls",
    "ip",
    "instance",
    // etcd
    "header",
    "revision",
    "kvs",
    "key",
    "mod_revision",
    "created",
    "canceled",
    "events",
    "type",
    "kv",
    "compact_revision",
    "code",
    "message",
    // Consul
    "Key",
    "Value",
    "ModifyIndex",
    "Node",
    "Address",
    "Services",
    "Service",
    "ID",
    "Port",
    "Tags",
    "Status",
    "CheckID",
    "ServiceID",
    // Alertmanager
    "labels",
    "annotations",
    "startsAt",
    "fingerprint",
    "silencedBy",
    // pgBackRest
    "backup",
    "label",
    "timestamp",
    "start",
    "stop",
    "info",
    "size",
    "repository",
    // Ansible callback events
    "event",
    "ts",
    "task",
    "duration",
    "msg",
    "rc",
    "hosts",
    "playbook",
];

/// Strings that tend to matter: empty, numbers as text, Patroni roles,
/// Prometheus values, base64, huge and negative numbers, control and wide
/// characters.
pub const STRINGS: &[&str] = &[
    "",
    "0",
    "1",
    "-1",
    "3",
    "18446744073709551616",
    "-9223372036854775809",
    "1e400",
    "NaN",
    "+Inf",
    "-Inf",
    "unknown",
    "master",
    "primary",
    "leader",
    "replica",
    "sync_standby",
    "standby_leader",
    "running",
    "streaming",
    "stopped",
    "success",
    "error",
    "vector",
    "matrix",
    "scalar",
    "string",
    "PUT",
    "DELETE",
    "passing",
    "critical",
    "pg-test",
    "pg-test-1",
    "pg-test-2",
    "pg-meta-1",
    "127.0.0.11",
    "L3BnL3BnLXRlc3QvbGVhZGVy", // /pg/pg-test/leader
    "cGctdGVzdC0x",             // pg-test-1
    "not base64!",
    "====",
    "\u{0}",
    "\t\r\n",
    "\u{1b}[31m",
    "数据库集群",
    "👩‍👩‍👧‍👦",
    "\u{200b}",
    "a,b,c",
    "@@pigsty-tui@@ {}",
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999999+14:00",
];

/// A JSON leaf: null, booleans, edge and random numbers, and strings.
pub fn arb_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![
            Just(0i64),
            Just(-1),
            Just(i64::MIN),
            Just(i64::MAX),
            any::<i64>()
        ]
        .prop_map(Value::from),
        prop_oneof![Just(u64::MAX), any::<u64>()].prop_map(Value::from),
        prop_oneof![
            Just(0.5f64),
            Just(-0.0),
            Just(1e300),
            Just(-1e300),
            Just(f64::MIN_POSITIVE),
            any::<f64>()
        ]
        .prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        prop::sample::select(STRINGS).prop_map(|s| Value::String(s.to_string())),
        "\\PC{0,16}".prop_map(Value::String),
    ]
    .boxed()
}

/// An object key: mostly a known field name, sometimes anything.
pub fn arb_key() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::sample::select(KEYS).prop_map(str::to_string),
        1 => "\\PC{0,8}",
    ]
    .boxed()
}

/// Any JSON document (bounded size and depth).
pub fn arb_json() -> BoxedStrategy<Value> {
    arb_leaf()
        .prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((arb_key(), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
            ]
        })
        .boxed()
}

/// One edit of a JSON tree, applied at a node chosen by an [`Index`].
#[derive(Debug, Clone)]
pub enum JsonEdit {
    /// Replace the node by any value (changes its type most of the time).
    Replace(Value),
    /// Remove the node from its object or array.
    Remove,
    /// Add (or overwrite) a key of an object node.
    Insert(String, Value),
    /// A number or boolean becomes its text; a string becomes a number.
    Retype,
    /// Repeat an array's first element many times.
    Repeat(usize),
    /// Wrap the node in an array.
    Wrap,
}

pub fn arb_json_edit() -> BoxedStrategy<JsonEdit> {
    prop_oneof![
        4 => arb_json().prop_map(JsonEdit::Replace),
        3 => Just(JsonEdit::Remove),
        2 => (arb_key(), arb_json()).prop_map(|(k, v)| JsonEdit::Insert(k, v)),
        2 => Just(JsonEdit::Retype),
        1 => (2usize..64).prop_map(JsonEdit::Repeat),
        1 => Just(JsonEdit::Wrap),
    ]
    .boxed()
}

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Idx(usize),
}

fn collect_paths(v: &Value, prefix: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                prefix.push(Seg::Key(k.clone()));
                collect_paths(c, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                prefix.push(Seg::Idx(i));
                collect_paths(c, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn node_mut<'a>(v: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    let mut cur = v;
    for s in path {
        cur = match (s, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get_mut(k)?,
            (Seg::Idx(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Apply `edits` in order, each at a node picked among the current ones.
pub fn apply_json_edits(v: &mut Value, edits: &[(Index, JsonEdit)]) {
    for (at, edit) in edits {
        let mut paths = Vec::new();
        collect_paths(v, &mut Vec::new(), &mut paths);
        let path = at.get(&paths).clone();
        match edit {
            JsonEdit::Replace(new) => {
                if let Some(n) = node_mut(v, &path) {
                    *n = new.clone();
                }
            }
            JsonEdit::Remove => {
                let Some((last, parent)) = path.split_last() else {
                    *v = Value::Null;
                    continue;
                };
                match (last, node_mut(v, parent)) {
                    (Seg::Key(k), Some(Value::Object(m))) => {
                        m.remove(k);
                    }
                    (Seg::Idx(i), Some(Value::Array(a))) if *i < a.len() => {
                        a.remove(*i);
                    }
                    _ => {}
                }
            }
            JsonEdit::Insert(k, new) => match node_mut(v, &path) {
                Some(Value::Object(m)) => {
                    m.insert(k.clone(), new.clone());
                }
                Some(Value::Array(a)) => a.push(new.clone()),
                _ => {}
            },
            JsonEdit::Retype => {
                if let Some(n) = node_mut(v, &path) {
                    *n = match n.take() {
                        Value::Number(x) => Value::String(x.to_string()),
                        Value::Bool(b) => Value::String(b.to_string()),
                        Value::String(s) => s
                            .parse::<i64>()
                            .map(Value::from)
                            .unwrap_or_else(|_| Value::from(s.len() as u64)),
                        Value::Null => Value::from(0),
                        Value::Array(a) => Value::from(a.len()),
                        Value::Object(m) => Value::Array(m.into_iter().map(|(_, v)| v).collect()),
                    };
                }
            }
            JsonEdit::Repeat(n) => {
                if let Some(Value::Array(a)) = node_mut(v, &path)
                    && let Some(first) = a.first().cloned()
                {
                    a.extend(std::iter::repeat_n(first, *n));
                }
            }
            JsonEdit::Wrap => {
                if let Some(n) = node_mut(v, &path) {
                    *n = Value::Array(vec![n.take()]);
                }
            }
        }
    }
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
pub enum ByteEdit {
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    Set(Index, u8),
}

pub fn arb_byte_edit() -> BoxedStrategy<ByteEdit> {
    let junk = prop_oneof![
        prop::collection::vec(any::<u8>(), 1..8),
        prop::sample::select(
            &[
                "{", "}", "[", "]", "\"", ",", ":", "\\", "\\u", "null", "-", "1e9999", "\n",
                "\u{0}", "\u{feff}",
            ][..]
        )
        .prop_map(|s| s.as_bytes().to_vec()),
    ];
    prop_oneof![
        any::<Index>().prop_map(ByteEdit::Truncate),
        (any::<Index>(), junk).prop_map(|(i, j)| ByteEdit::Insert(i, j)),
        (any::<Index>(), 1usize..16).prop_map(|(i, n)| ByteEdit::Delete(i, n)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| ByteEdit::Set(i, b)),
    ]
    .boxed()
}

pub fn apply_byte_edits(b: &mut Vec<u8>, edits: &[ByteEdit]) {
    for e in edits {
        let len = b.len();
        match e {
            ByteEdit::Truncate(i) => b.truncate(i.index(len + 1)),
            ByteEdit::Insert(i, j) => {
                let at = i.index(len + 1);
                b.splice(at..at, j.iter().copied());
            }
            ByteEdit::Delete(i, n) if len > 0 => {
                let at = i.index(len);
                b.drain(at..(at + n).min(len));
            }
            ByteEdit::Set(i, x) if len > 0 => b[i.index(len)] = *x,
            _ => {}
        }
    }
}

/// Input for a JSON parser: random bytes, any JSON, or (mostly) a valid
/// seed document with tree edits, sometimes followed by byte edits.
pub fn json_input(seeds: Vec<Value>) -> BoxedStrategy<Vec<u8>> {
    let seeds = std::sync::Arc::new(seeds);
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..256),
        2 => arb_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        6 => (
            any::<Index>(),
            prop::collection::vec((any::<Index>(), arb_json_edit()), 0..5),
            prop::collection::vec(arb_byte_edit(), 0..3),
        )
            .prop_map(move |(seed, edits, bytes)| {
                let mut v = seed.get(seeds.as_slice()).clone();
                apply_json_edits(&mut v, &edits);
                let mut out = serde_json::to_vec(&v).unwrap();
                apply_byte_edits(&mut out, &bytes);
                out
            }),
    ]
    .boxed()
}

/// One edit of a text, line-wise.
#[derive(Debug, Clone)]
pub enum LineEdit {
    Delete,
    Duplicate,
    SwapWith(Index),
    /// Remove (negative) or add leading spaces.
    Indent(i8),
    /// Replace what follows the first `: ` (or the separator given) by this.
    ReplaceValue(String),
    /// Append this to the line.
    Append(String),
    /// Insert this line before.
    InsertLine(String),
    /// Cut the line at a character.
    Cut(Index),
}

/// Tokens that stress a YAML reader (and most line-oriented formats).
pub const YAML_TOKENS: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    " *a",
    " &a",
    " *undefined",
    "- x",
    ": :",
    "\t",
    " !!int x",
    " !!binary x",
    " !vault |",
    " <<: 1",
    "<<: *a",
    " ? x",
    " |",
    " >-",
    "'",
    "\"",
    "\"\\u",
    " #",
    "---",
    "...",
    "%YAML 1.1",
    ",",
    ":",
    "@",
    "`",
    "\u{0}",
    "\u{feff}",
    "\r",
    " ~",
    " null",
    " yes",
    " 0x",
    " 0o9",
    " 1e999",
    " 99999999999999999999999",
    " -1",
    " 65536",
    " .nan",
    " 10.10.10.[11:13]",
    " [1:99999999]",
    " fd00::11",
    " 数据库",
];

/// Values for [`LineEdit::ReplaceValue`].
pub const YAML_VALUES: &[&str] = &[
    "",
    "~",
    "null",
    "0",
    "-1",
    "65536",
    "99999999999999999999",
    "1.5",
    ".inf",
    "yes",
    "'1'",
    "\"x\"",
    "[]",
    "{}",
    "[1, 2]",
    "{a: 1}",
    "*a",
    "&a x",
    "!vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162",
    "|\n  text",
    "primary",
    "replica",
    "offline",
    "primay",
    "etcd",
    "consul",
    "zookeeper",
    "10.10.10.10",
    "127.0.0.11",
    "fd00::10",
    "node-1.example.com",
    "10.10.10.[11:13]",
    "[a:c]",
    "[9:1]",
    "'${ip}'",
    "{{ inventory_hostname }}",
    "v1.5.1",
    "v2.7.0",
    "v3.6.1",
    "v4.0.0",
    "vX",
    "pg-test",
    "数据库",
];

pub fn arb_line_edit() -> BoxedStrategy<LineEdit> {
    prop_oneof![
        2 => Just(LineEdit::Delete),
        1 => Just(LineEdit::Duplicate),
        1 => any::<Index>().prop_map(LineEdit::SwapWith),
        2 => (-4i8..=4).prop_map(LineEdit::Indent),
        4 => prop_oneof![
            3 => prop::sample::select(YAML_VALUES).prop_map(str::to_string),
            1 => "\\PC{0,12}",
        ]
        .prop_map(LineEdit::ReplaceValue),
        2 => prop::sample::select(YAML_TOKENS).prop_map(|s| LineEdit::Append(s.to_string())),
        1 => prop_oneof![
            prop::sample::select(YAML_TOKENS).prop_map(str::to_string),
            "[ -~]{0,20}",
        ]
        .prop_map(LineEdit::InsertLine),
        1 => any::<Index>().prop_map(LineEdit::Cut),
    ]
    .boxed()
}

/// Apply line edits, each at a line picked by its [`Index`]; `sep` is the
/// key/value separator for [`LineEdit::ReplaceValue`] (`": "` for YAML).
pub fn apply_line_edits(text: &str, edits: &[(Index, LineEdit)], sep: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for (at, e) in edits {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let i = at.index(lines.len());
        match e {
            LineEdit::Delete => {
                lines.remove(i);
            }
            LineEdit::Duplicate => {
                let l = lines[i].clone();
                lines.insert(i, l);
            }
            LineEdit::SwapWith(j) => {
                let j = j.index(lines.len());
                lines.swap(i, j);
            }
            LineEdit::Indent(n) => {
                let l = &mut lines[i];
                if *n >= 0 {
                    l.insert_str(0, &" ".repeat(*n as usize));
                } else {
                    let strip = l.len() - l.trim_start_matches(' ').len();
                    l.drain(..strip.min(n.unsigned_abs() as usize));
                }
            }
            LineEdit::ReplaceValue(v) => {
                let l = &mut lines[i];
                match l.find(sep) {
                    Some(p) => {
                        l.truncate(p + sep.len());
                        l.push_str(v);
                    }
                    None => l.push_str(v),
                }
            }
            LineEdit::Append(t) => lines[i].push_str(t),
            LineEdit::InsertLine(t) => lines.insert(i, t.clone()),
            LineEdit::Cut(c) => {
                let l = &mut lines[i];
                let cuts: Vec<usize> = l.char_indices().map(|(p, _)| p).collect();
                if !cuts.is_empty() {
                    let p = *c.get(&cuts);
                    l.truncate(p);
                }
            }
        }
    }
    let mut out = lines.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Input for a text parser: random text, or a seed with line edits (and
/// sometimes a cut at any character).
pub fn text_input(seeds: Vec<String>, sep: &'static str) -> BoxedStrategy<String> {
    let seeds = std::sync::Arc::new(seeds);
    prop_oneof![
        1 => "\\PC{0,200}",
        1 => prop::collection::vec(prop::sample::select(YAML_TOKENS), 0..40)
            .prop_map(|t| t.concat()),
        6 => (
            any::<Index>(),
            prop::collection::vec((any::<Index>(), arb_line_edit()), 0..6),
            prop::option::weighted(0.15, any::<Index>()),
        )
            .prop_map(move |(seed, edits, cut)| {
                let mut t = apply_line_edits(seed.get::<String>(seeds.as_slice()), &edits, sep);
                if let Some(c) = cut {
                    let cuts: Vec<usize> = t.char_indices().map(|(p, _)| p).collect();
                    if !cuts.is_empty() {
                        let p = *c.get(&cuts);
                        t.truncate(p);
                    }
                }
                t
            }),
    ]
    .boxed()
}
