//! A YAML tree that remembers where every node came from.
//!
//! `serde_json::Value` would lose line and column, so the inventory is read
//! into [`Node`]s straight from the event stream of `granit_parser` (the YAML
//! parser under `serde_saphyr`, re-exported by it). Each node keeps two
//! locations: where it is *used* (`at`: an alias `*x` or the `<<:` merge
//! entry) and where it is *defined* (`def`: the text). Errors point at `def`.
//!
//! Scalars are resolved as Ansible's PyYAML does (YAML 1.1): unquoted
//! `yes`/`no`/`on`/`off` (lower, Title or UPPER case) and `true`/`false` are
//! booleans, `~`/`null`/empty are null, `0x1F`, `0o17`/`017`, `0b101` and
//! `1_000` are integers, floats need a dot (`1.5`, `.inf`); quoted scalars and
//! unknown tags (`!vault`, `!unsafe`) are strings. Not supported: sexagesimal
//! numbers (`1:30`) and timestamps, which stay strings. Anchors, aliases and
//! `<<:` merge keys (a mapping or a list of mappings; explicit keys win, then
//! earlier merge sources) are expanded here.

use std::fmt;

use std::collections::HashMap;

use serde_saphyr::granit_parser::{self as gp, Event, ScalarStyle};

/// A 1-based line and column in the inventory file (0:0 = unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl Pos {
    pub const START: Pos = Pos { line: 1, column: 1 };

    pub fn is_known(self) -> bool {
        self.line > 0
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

fn pos_of(m: &gp::Marker) -> Pos {
    Pos {
        line: u32::try_from(m.line()).unwrap_or(u32::MAX),
        column: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
    }
}

/// One YAML node with its locations.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    /// Where the node is used (alias or merge site for reused values).
    pub at: Pos,
    /// Where the node's text is.
    pub def: Pos,
}

/// The value of a [`Node`]. Mappings keep their entries in file order,
/// duplicates included (the last one wins on lookup, as in Ansible).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub fn new(value: Value, at: Pos) -> Self {
        Node { value, at, def: at }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a scalar (strings as is, numbers and booleans rendered);
    /// `None` for null, sequences and mappings.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::UInt(u) => Some(u.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }

    /// Text of a mapping key (`null` for a null key).
    pub fn key_text(&self) -> String {
        self.scalar_text().unwrap_or_else(|| match &self.value {
            Value::Null => "null".to_string(),
            _ => self.type_name().to_string(),
        })
    }

    /// The last entry of a mapping whose key is `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.get_entry(key).map(|(_, v)| v)
    }

    pub fn get_entry(&self, key: &str) -> Option<&(Node, Node)> {
        self.as_map()?
            .iter()
            .rev()
            .find(|(k, _)| matches!(&k.value, Value::Str(s) if s == key))
    }

    /// What kind of value this is, for messages ("a mapping", "a string", …).
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::UInt(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// A short rendering for "has <name> <short>" messages: scalars quoted
    /// as written, others as "set to null" / "set to a list" / "set to a
    /// mapping".
    pub fn short(&self) -> String {
        match &self.value {
            Value::Null => "set to null".to_string(),
            Value::Seq(_) => "set to a list".to_string(),
            Value::Map(_) => "set to a mapping".to_string(),
            Value::Str(s) if is_vault(s) => "encrypted with ansible-vault (!vault)".to_string(),
            _ => {
                let t = self.scalar_text().unwrap_or_default();
                // One line: a block scalar shows its first line.
                let t = match t.trim_end().split_once('\n') {
                    Some((first, _)) => format!("{first}…"),
                    None => t,
                };
                let t = if t.chars().count() > 40 {
                    let cut: String = t.chars().take(40).collect();
                    format!("{cut}…")
                } else {
                    t
                };
                format!("'{t}'")
            }
        }
    }

    /// Convert to a JSON value (mapping keys become strings; for duplicate
    /// keys the last one wins).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::UInt(u) => J::from(*u),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or_else(|| J::String(f.to_string())),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(s) => J::Array(s.iter().map(Node::to_json).collect()),
            Value::Map(m) => {
                let mut out = serde_json::Map::with_capacity(m.len());
                for (k, v) in m {
                    out.insert(k.key_text(), v.to_json());
                }
                J::Object(out)
            }
        }
    }
}

/// Whether a string is an ansible-vault ciphertext (`!vault |` values).
pub fn is_vault(s: &str) -> bool {
    s.trim_start().starts_with("$ANSIBLE_VAULT;")
}

/// A YAML syntax error: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// Most nodes alias expansion may create (protects against alias bombs).
const MAX_NODES: usize = 5_000_000;

/// Deepest nesting accepted, aliases expanded (keeps recursion bounded).
const MAX_DEPTH: usize = 1_000;

/// Parse one YAML document into a [`Node`] tree.
///
/// Duplicate mapping keys are kept (Ansible accepts them; the last wins) so
/// the loader can warn about them. An empty document is `Null` at 1:1.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut b = TreeBuilder {
        anchors: HashMap::new(),
        stack: Vec::new(),
        root: None,
        nodes: 0,
    };
    let mut documents = 0usize;
    for item in gp::Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| SyntaxError {
            pos: pos_of(e.marker()),
            message: e.info(),
        })?;
        let pos = pos_of(&span.start);
        match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return Err(SyntaxError {
                        pos,
                        message: "a second YAML document ('---'); an inventory is one document"
                            .to_string(),
                    });
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                let v = resolve_scalar(&value, style, tag.as_deref(), pos)?;
                b.add(Node::new(v, pos), anchor)?;
            }
            Event::SequenceStart(_, anchor, _) => b.stack.push(Frame {
                pos,
                anchor,
                kind: FrameKind::Seq(Vec::new()),
            }),
            Event::MappingStart(_, anchor, _) => b.stack.push(Frame {
                pos,
                anchor,
                kind: FrameKind::Map {
                    entries: Vec::new(),
                    key: None,
                    merges: Vec::new(),
                },
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = b.stack.pop() else {
                    continue;
                };
                let value = match frame.kind {
                    FrameKind::Seq(items) => Value::Seq(items),
                    FrameKind::Map {
                        entries, merges, ..
                    } => Value::Map(merge(entries, merges)),
                };
                b.add(Node::new(value, frame.pos), frame.anchor)?;
            }
            Event::Alias(id) => {
                let Some((node, size, depth)) = b.anchors.get(&id) else {
                    return Err(SyntaxError {
                        pos,
                        message: "alias refers to an anchor that is not defined before it \
                                  (or to the node that contains it)"
                            .to_string(),
                    });
                };
                if b.stack.len() + depth > MAX_DEPTH {
                    return Err(SyntaxError {
                        pos,
                        message: format!("aliases nest deeper than {MAX_DEPTH} levels"),
                    });
                }
                b.nodes += size;
                if b.nodes > MAX_NODES {
                    return Err(SyntaxError {
                        pos,
                        message: format!(
                            "aliases expand to more than {MAX_NODES} nodes (an alias bomb?)"
                        ),
                    });
                }
                let mut node = node.clone();
                node.at = pos;
                b.add(node, 0)?;
            }
            _ => {}
        }
    }
    Ok(b.root.unwrap_or_else(|| Node::new(Value::Null, Pos::START)))
}

enum FrameKind {
    Seq(Vec<Node>),
    Map {
        entries: Vec<(Node, Node)>,
        /// A key waiting for its value.
        key: Option<Node>,
        /// `<<:` values, in order, with the merge key's position.
        merges: Vec<(Pos, Node)>,
    },
}

struct Frame {
    pos: Pos,
    anchor: usize,
    kind: FrameKind,
}

struct TreeBuilder {
    /// Anchor id → the anchored node, its size in nodes and its depth.
    anchors: HashMap<usize, (Node, usize, usize)>,
    stack: Vec<Frame>,
    root: Option<Node>,
    nodes: usize,
}

fn depth_of(n: &Node) -> usize {
    1 + match &n.value {
        Value::Seq(s) => s.iter().map(depth_of).max().unwrap_or(0),
        Value::Map(m) => m
            .iter()
            .map(|(k, v)| depth_of(k).max(depth_of(v)))
            .max()
            .unwrap_or(0),
        _ => 0,
    }
}

fn size_of(n: &Node) -> usize {
    1 + match &n.value {
        Value::Seq(s) => s.iter().map(size_of).sum(),
        Value::Map(m) => m.iter().map(|(k, v)| size_of(k) + size_of(v)).sum(),
        _ => 0,
    }
}

impl TreeBuilder {
    /// A complete node: remember its anchor, attach it to its parent.
    fn add(&mut self, mut node: Node, anchor: usize) -> Result<(), SyntaxError> {
        self.nodes += 1;
        let key_position = matches!(
            self.stack.last(),
            Some(Frame {
                kind: FrameKind::Map { key: None, .. },
                ..
            })
        );
        if !key_position && node.is_merge_key() {
            // a plain `<<` that is not a key is just text
            node.value = Value::Str("<<".to_string());
        }
        if anchor != 0 {
            let size = size_of(&node);
            let depth = depth_of(&node);
            self.anchors.insert(anchor, (node.clone(), size, depth));
        }
        let Some(top) = self.stack.last_mut() else {
            if self.root.is_none() {
                self.root = Some(node);
            }
            return Ok(());
        };
        match &mut top.kind {
            FrameKind::Seq(items) => items.push(node),
            FrameKind::Map {
                entries,
                key,
                merges,
            } => match key.take() {
                None => *key = Some(node),
                Some(k) if k.is_merge_key() => match &node.value {
                    Value::Map(_) => merges.push((k.def, node)),
                    Value::Seq(items) if items.iter().all(|i| i.as_map().is_some()) => {
                        merges.push((k.def, node))
                    }
                    _ => {
                        return Err(SyntaxError {
                            pos: node.def,
                            message: format!(
                                "the merge key '<<' needs a mapping or a list of mappings, not {}",
                                node.type_name()
                            ),
                        });
                    }
                },
                Some(k) => entries.push((k, node)),
            },
        }
        Ok(())
    }
}

/// Expand `<<:` merges: explicit keys win over merged ones, earlier merge
/// sources (and earlier entries of a merged list) over later ones. Merged
/// entries come after the explicit ones, located at the merge key.
fn merge(mut entries: Vec<(Node, Node)>, merges: Vec<(Pos, Node)>) -> Vec<(Node, Node)> {
    if merges.is_empty() {
        return entries;
    }
    let mut present: std::collections::HashSet<String> =
        entries.iter().map(|(k, _)| k.key_text()).collect();
    for (at, source) in merges {
        let maps: Vec<Node> = match source.value {
            Value::Map(_) => vec![source],
            Value::Seq(items) => items,
            _ => Vec::new(),
        };
        for m in maps {
            let Value::Map(pairs) = m.value else {
                continue;
            };
            for (mut k, mut v) in pairs {
                if present.insert(k.key_text()) {
                    k.at = at;
                    v.at = at;
                    entries.push((k, v));
                }
            }
        }
    }
    entries
}

impl Node {
    /// A plain `<<` key (or one tagged `!!merge`).
    fn is_merge_key(&self) -> bool {
        matches!(&self.value, Value::Str(s) if s == MERGE_KEY)
    }
}

/// Stand-in text for a merge key (a plain `<<` resolves to it).
const MERGE_KEY: &str = "\u{0}<<";

/// Resolve a scalar like PyYAML's YAML 1.1 resolver.
fn resolve_scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&gp::Tag>,
    pos: Pos,
) -> Result<Value, SyntaxError> {
    if let Some(tag) = tag {
        if tag.handle() == "tag:yaml.org,2002:" {
            let bad = |what: &str| SyntaxError {
                pos,
                message: format!("'{text}' tagged !!{what} is not a valid {what}"),
            };
            return match tag.suffix() {
                "str" | "binary" => Ok(Value::Str(text.to_string())),
                "null" => Ok(Value::Null),
                "bool" => plain_bool(text).map(Value::Bool).ok_or_else(|| bad("bool")),
                "int" => plain_int(text).ok_or_else(|| bad("int")),
                "float" => plain_float(text)
                    .or_else(|| plain_int(text).and_then(|v| as_f64(&v)).map(Value::Float))
                    .ok_or_else(|| bad("float")),
                "merge" => Ok(Value::Str(MERGE_KEY.to_string())),
                _ => Ok(Value::Str(text.to_string())),
            };
        }
        // local tags such as Ansible's !vault and !unsafe: the text
        return Ok(Value::Str(text.to_string()));
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::Str(text.to_string()));
    }
    if text == "<<" {
        return Ok(Value::Str(MERGE_KEY.to_string()));
    }
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Ok(Value::Null);
    }
    if let Some(b) = plain_bool(text) {
        return Ok(Value::Bool(b));
    }
    if let Some(v) = plain_int(text) {
        return Ok(v);
    }
    if let Some(v) = plain_float(text) {
        return Ok(v);
    }
    Ok(Value::Str(text.to_string()))
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::UInt(u) => Some(*u as f64),
        _ => None,
    }
}

fn plain_bool(s: &str) -> Option<bool> {
    match s {
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// YAML 1.1 integers: decimal, `0x`, `0o`/leading-zero octal, `0b`, with `_`.
fn plain_int(s: &str) -> Option<Value> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(d) = body.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = body.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = body.strip_prefix("0b") {
        (2, d)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || !digits
            .bytes()
            .all(|b| b == b'_' || (b as char).is_digit(radix))
    {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let magnitude = u128::from_str_radix(&clean, radix).ok()?;
    if neg {
        let v = i128::try_from(magnitude).ok()?.checked_neg()?;
        i64::try_from(v).ok().map(Value::Int)
    } else if let Ok(i) = i64::try_from(magnitude) {
        Some(Value::Int(i))
    } else {
        u64::try_from(magnitude).ok().map(Value::UInt)
    }
}

/// YAML 1.1 floats: a dot is required (`1.5`, `-.5`, `1.0e+3`), or
/// `.inf` / `.nan` spellings.
fn plain_float(s: &str) -> Option<Value> {
    let body = s.trim_start_matches(['-', '+']);
    if s.len() - body.len() > 1 {
        return None;
    }
    let neg = s.starts_with('-');
    match body {
        ".inf" | ".Inf" | ".INF" => {
            return Some(Value::Float(if neg {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }));
        }
        ".nan" | ".NaN" | ".NAN" if s.len() == body.len() => return Some(Value::Float(f64::NAN)),
        _ => {}
    }
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac) = mantissa.split_once('.')?;
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    if !digits(int_part) || !digits(frac) || (int_part.is_empty() && frac.is_empty()) {
        return None;
    }
    if int_part.starts_with('_') {
        return None;
    }
    if let Some(e) = exp {
        let ed = e.strip_prefix(['-', '+'])?;
        if ed.is_empty() || !ed.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    let clean: String = s.chars().filter(|c| *c != '_').collect();
    let clean = if clean.contains(['e', 'E']) || !clean.ends_with('.') {
        clean
    } else {
        format!("{clean}0")
    };
    clean.parse::<f64>().ok().map(Value::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_locations_and_expands_merges() {
        let text = "base: &b\n  x: 1\n  y: 2\nuse:\n  <<: *b\n  y: 3\n";
        let root = parse(text).unwrap();
        let used = root.get("use").unwrap();
        assert_eq!(used.get("y").unwrap().value, Value::Int(3));
        let x = used.get("x").unwrap();
        assert_eq!(x.value, Value::Int(1));
        // defined in the anchor, used at the merge entry
        assert_eq!(x.def, Pos { line: 2, column: 6 });
        assert_eq!(x.at.line, 5);
    }

    #[test]
    fn duplicate_keys_last_wins() {
        let root = parse("a: 1\na: 2\n").unwrap();
        assert_eq!(root.as_map().unwrap().len(), 2);
        assert_eq!(root.get("a").unwrap().value, Value::Int(2));
        assert_eq!(root.to_json(), serde_json::json!({"a": 2}));
    }

    #[test]
    fn syntax_error_has_location() {
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.pos.is_known());
        assert!(!e.message.is_empty());
        let e = parse("all:\n  x: { a: 1\n  y: 2\n").unwrap_err();
        assert_eq!(e.pos.line, 3, "{e:?}");
        let e = parse("a: *nope\n").unwrap_err();
        assert_eq!(e.pos, Pos { line: 1, column: 4 }, "{e:?}");
    }

    #[test]
    fn scalars_like_pyyaml() {
        let j = parse(
            "a: 10.10.10.10\nb: 5432\nc: '5432'\nd: 0x1F\ne: 017\nf: 1_000\ng: 1.5\nh: 1e3\ni: ~\nj:\nk: .inf\nl: -7\nm: 09\nn: !!str 12\no: !vault |\n  $ANSIBLE_VAULT;1.1\np: 0.30\nq: <<\n",
        )
        .unwrap()
        .to_json();
        assert_eq!(j["a"], "10.10.10.10");
        assert_eq!(j["b"], 5432);
        assert_eq!(j["c"], "5432");
        assert_eq!(j["d"], 31);
        assert_eq!(j["e"], 15);
        assert_eq!(j["f"], 1000);
        assert_eq!(j["g"], 1.5);
        assert_eq!(j["h"], "1e3");
        assert_eq!(j["i"], serde_json::Value::Null);
        assert_eq!(j["j"], serde_json::Value::Null);
        assert_eq!(j["k"], "inf"); // not representable in JSON
        assert_eq!(j["l"], -7);
        assert_eq!(j["m"], "09");
        assert_eq!(j["n"], "12");
        assert_eq!(j["o"], "$ANSIBLE_VAULT;1.1\n");
        assert_eq!(j["p"], 0.3);
        assert_eq!(j["q"], "<<");
    }

    #[test]
    fn merge_lists_earlier_wins_explicit_wins() {
        let root =
            parse("a: &a { x: a, y: a }\nb: &b { x: b, z: b }\nc:\n  <<: [*a, *b]\n  y: c\n")
                .unwrap();
        let j = root.to_json();
        assert_eq!(j["c"], serde_json::json!({"x": "a", "y": "c", "z": "b"}));
        let c = root.get("c").unwrap();
        assert_eq!(c.get("z").unwrap().at.line, 4);
        assert_eq!(c.get("z").unwrap().def.line, 2);
    }

    #[test]
    fn bad_merge_value_and_second_document() {
        let e = parse("a:\n  <<: 5\n").unwrap_err();
        assert!(e.message.contains("merge key"), "{e:?}");
        assert_eq!(e.pos.line, 2);
        let e = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(e.message.contains("second YAML document"), "{e:?}");
        assert_eq!(e.pos.line, 2);
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            text.push_str(&format!(
                "l{i}: &l{i} [*l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}]\n"
            ));
        }
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("alias"), "{e:?}");
    }

    #[test]
    fn booleans_like_pyyaml() {
        let root = parse(
            "a: 'yes'\nb: yes\nc: &x \"on\"\nd: *x\ne: !!str off\nf: y\ng: True\nh: [Off, n, NO]\ny: 1\n",
        )
        .unwrap();
        let j = root.to_json();
        assert_eq!(j["a"], "yes");
        assert_eq!(j["b"], true);
        assert_eq!(j["c"], "on");
        assert_eq!(j["d"], "on");
        assert_eq!(j["e"], "off");
        assert_eq!(j["f"], "y");
        assert_eq!(j["g"], true);
        assert_eq!(j["h"], serde_json::json!([false, "n", false]));
        assert_eq!(j["y"], 1);
    }

    #[test]
    fn one_anchor_many_aliases() {
        let mut text = String::from("base: &b { x: 1 }\n");
        for i in 0..2000 {
            text.push_str(&format!("k{i}: {{ <<: *b, y: {i} }}\n"));
        }
        let root = parse(&text).unwrap();
        assert_eq!(
            root.get("k1999").unwrap().get("x").unwrap().value,
            Value::Int(1)
        );
    }

    #[test]
    fn deep_alias_nesting_is_refused() {
        let mut text = String::from("l0: &l0 [[[[[[[[[[x]]]]]]]]]]\n");
        for i in 1..200 {
            let p = i - 1;
            text.push_str(&format!("l{i}: &l{i} [[[[[[[[[[*l{p}]]]]]]]]]]\n"));
        }
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("nest deeper"), "{e:?}");
    }

    #[test]
    fn empty_document_is_null() {
        assert!(parse("").unwrap().is_null());
        assert!(parse("---\n...\n").unwrap().is_null());
    }

    #[test]
    fn json_conversion_renders_keys() {
        let root = parse("6001: {}\ntrue: x\nf: 1.5\n").unwrap();
        assert_eq!(
            root.to_json(),
            serde_json::json!({"6001": {}, "true": "x", "f": 1.5})
        );
    }
}
