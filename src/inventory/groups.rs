//! The Ansible side of an inventory: groups, hosts and variable precedence.
//!
//! Ansible's YAML inventory is a tree under `all`: every group has optional
//! `hosts` (name → host vars), `vars` and `children` (name → group). A group
//! name may appear several times in the tree; it is one group. A host may be
//! in several groups and gets the variables of all of them.
//!
//! Precedence follows Ansible: host vars > group vars > `all.vars` > built-in
//! defaults. Among a host's groups the deeper group wins, then the higher
//! `ansible_group_priority`, then the name that sorts later; all of this
//! decides per variable (no deep merge).
//!
//! Everything is indexed once (a host → groups index and one hash index per
//! group's vars) so resolving a variable is a few hash lookups, never a scan
//! of the inventory.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;

use super::defaults::Defaults;
use super::error::Diagnostic;
use super::yaml::{Node, Pos, Value};

/// FNV-1a: variable names are short and trusted, SipHash is overkill here.
#[derive(Debug, Clone, Copy)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A hash map with [`Fnv`] hashing.
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// A group of the inventory (`all` is group 0).
#[derive(Debug)]
pub struct Group<'a> {
    pub name: String,
    /// Where the group is (first) defined.
    pub pos: Pos,
    /// Merged `vars` of every definition of the group (later wins).
    pub vars: FastMap<&'a str, &'a Node>,
    /// Variable names in first-definition order (for stable output).
    pub var_order: Vec<&'a str>,
    /// Hosts listed directly under this group, in file order.
    pub hosts: Vec<usize>,
    pub children: Vec<usize>,
    pub parents: Vec<usize>,
    /// Ansible depth: `all` is 0, a child is one deeper than its deepest parent.
    pub depth: u32,
    /// `ansible_group_priority` (Ansible default 1).
    pub priority: i64,
}

/// A host of the inventory (keyed by the name it is listed under, usually an IP).
#[derive(Debug)]
pub struct Host<'a> {
    pub name: String,
    /// Where the host is first listed.
    pub pos: Pos,
    /// Host-level variable mappings, in file order (later wins).
    pub var_maps: Vec<&'a Node>,
    /// Groups listing the host directly, in file order.
    pub groups: Vec<usize>,
    /// Listed with a value that is not host variables (already an error).
    pub broken: bool,
}

/// Most hosts one range pattern may expand to.
const MAX_RANGE: usize = 100_000;

/// Expand Ansible host ranges: `10.10.10.[11:13]`, `db-[01:10:2]`,
/// `node-[a:c]` (several brackets multiply). A name without `[` is itself.
pub fn expand_host_range(name: &str) -> Result<Vec<String>, String> {
    let Some(open) = name.find('[') else {
        return Ok(vec![name.to_string()]);
    };
    let Some(close) = name[open..].find(']').map(|i| open + i) else {
        return Err("has '[' without ']'".to_string());
    };
    let (head, range, tail) = (&name[..open], &name[open + 1..close], &name[close + 1..]);
    let parts: Vec<&str> = range.split(':').collect();
    let (start, end, step) = match parts.as_slice() {
        [a, b] => (*a, *b, 1usize),
        [a, b, st] => (
            *a,
            *b,
            st.parse::<usize>()
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| format!("has a bad step '{st}'"))?,
        ),
        _ => return Err("needs a range like [start:end] or [start:end:step]".to_string()),
    };
    let mut items = Vec::new();
    if let (Ok(a), Ok(b)) = (start.parse::<usize>(), end.parse::<usize>()) {
        if a > b || (b - a) / step >= MAX_RANGE {
            return Err(format!("has an empty or too large range [{range}]"));
        }
        let width = if start.len() > 1 && start.starts_with('0') {
            start.len()
        } else {
            0
        };
        items.extend((a..=b).step_by(step).map(|i| format!("{i:0width$}")));
    } else if let ([a], [b]) = (start.as_bytes(), end.as_bytes()) {
        if !a.is_ascii_alphabetic() || !b.is_ascii_alphabetic() || a > b {
            return Err(format!("has a bad range [{range}]"));
        }
        items.extend((*a..=*b).step_by(step).map(|c| (c as char).to_string()));
    } else {
        return Err(format!("has a bad range [{range}]"));
    }
    let tails = expand_host_range(tail)?;
    if items.len().saturating_mul(tails.len()) > MAX_RANGE {
        return Err("expands to too many hosts".to_string());
    }
    let mut out = Vec::with_capacity(items.len() * tails.len());
    for i in &items {
        for t in &tails {
            out.push(format!("{head}{i}{t}"));
        }
    }
    Ok(out)
}

/// Where a resolved variable came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Host(usize),
    Group(usize),
    Default,
}

/// One resolved variable: its node and where it was set.
#[derive(Debug, Clone, Copy)]
pub struct Var<'a> {
    pub node: &'a Node,
    pub origin: Origin,
}

/// The indexed inventory.
#[derive(Debug)]
pub struct Inventory<'a> {
    pub groups: Vec<Group<'a>>,
    pub group_index: FastMap<String, usize>,
    pub hosts: Vec<Host<'a>>,
    pub host_index: FastMap<String, usize>,
    /// Structural problems (errors).
    pub errors: Vec<Diagnostic>,
    /// Structural oddities worth a warning (message, position).
    pub notes: Vec<(Pos, String)>,
}

pub const ALL: usize = 0;

impl Group<'_> {
    /// Add this group's variables to `out` as JSON (overwriting).
    pub fn add_vars(&self, out: &mut crate::model::Vars) {
        for name in &self.var_order {
            if let Some(n) = self.vars.get(name) {
                out.insert((*name).to_string(), n.to_json());
            }
        }
    }
}

impl<'a> Inventory<'a> {
    /// Index the tree under `all`. Errors that make the file unusable (no
    /// `all`) are returned; others are collected in `errors`.
    pub fn read(root: &'a Node, file: &Path) -> Result<Self, Diagnostic> {
        let all = match &root.value {
            Value::Map(_) => root.get_entry("all"),
            Value::Null => None,
            _ => {
                return Err(Diagnostic::at(
                    file,
                    root.def,
                    format!(
                        "the inventory is {}; expected a mapping with a top-level 'all' group \
                         (an Ansible YAML inventory such as Pigsty's pigsty.yml)",
                        root.type_name()
                    ),
                ));
            }
        };
        let Some((all_key, all_node)) = all else {
            let pos = if root.is_null() { Pos::START } else { root.def };
            return Err(Diagnostic::at(
                file,
                pos,
                "no top-level 'all' group; expected an Ansible YAML inventory \
                 starting with 'all:' (holding 'children' groups and 'vars')",
            ));
        };
        if !matches!(all_node.value, Value::Map(_)) {
            return Err(Diagnostic::at(
                file,
                all_node.def,
                format!(
                    "'all' is {}; expected a mapping with 'children', 'hosts' and 'vars'",
                    all_node.type_name()
                ),
            ));
        }
        let mut inv = Inventory {
            groups: Vec::new(),
            group_index: FastMap::default(),
            hosts: Vec::new(),
            host_index: FastMap::default(),
            errors: Vec::new(),
            notes: Vec::new(),
        };
        let all_id = inv.group_id("all", all_key.def);
        debug_assert_eq!(all_id, ALL);
        inv.read_group(ALL, all_node, file);
        // Ansible reads other top-level keys as groups too (children of
        // `all`); anchor holders such as `x-common: &common {..}` are not.
        for (k, v) in root.as_map().unwrap_or(&[]) {
            let Some(name) = k.as_str() else { continue };
            let looks_like_group = v.as_map().is_some_and(|m| {
                m.iter().any(|(gk, _)| {
                    matches!(gk.as_str(), Some("hosts") | Some("vars") | Some("children"))
                })
            });
            if name == "all" || !looks_like_group {
                continue;
            }
            let cid = inv.group_id(name, k.def);
            if !inv.groups[ALL].children.contains(&cid) {
                inv.groups[ALL].children.push(cid);
                inv.groups[cid].parents.push(ALL);
            }
            inv.read_group(cid, v, file);
        }
        inv.compute_depths(file);
        for g in 0..inv.groups.len() {
            let prio = inv.groups[g]
                .vars
                .get("ansible_group_priority")
                .and_then(|n| match n.value {
                    Value::Int(i) => Some(i),
                    _ => n.scalar_text().and_then(|t| t.parse().ok()),
                });
            inv.groups[g].priority = prio.unwrap_or(1);
        }
        Ok(inv)
    }

    fn group_id(&mut self, name: &str, pos: Pos) -> usize {
        if let Some(&id) = self.group_index.get(name) {
            return id;
        }
        let id = self.groups.len();
        self.groups.push(Group {
            name: name.to_string(),
            pos,
            vars: FastMap::default(),
            var_order: Vec::new(),
            hosts: Vec::new(),
            children: Vec::new(),
            parents: Vec::new(),
            depth: 0,
            priority: 1,
        });
        self.group_index.insert(name.to_string(), id);
        id
    }

    fn host_id(&mut self, name: String, pos: Pos) -> usize {
        if let Some(&id) = self.host_index.get(&name) {
            return id;
        }
        let id = self.hosts.len();
        self.host_index.insert(name.clone(), id);
        self.hosts.push(Host {
            name,
            pos,
            var_maps: Vec::new(),
            groups: Vec::new(),
            broken: false,
        });
        id
    }

    fn read_group(&mut self, gid: usize, node: &'a Node, file: &Path) {
        let Some(entries) = node.as_map() else {
            if !node.is_null() {
                let name = self.groups[gid].name.clone();
                self.errors.push(Diagnostic::at(
                    file,
                    node.def,
                    format!(
                        "group '{name}' is {}; expected a mapping with 'hosts', 'vars' or 'children'",
                        node.type_name()
                    ),
                ));
            }
            return;
        };
        for (k, v) in entries {
            match k.as_str() {
                Some("vars") => self.read_vars(gid, v, file),
                Some("hosts") => self.read_hosts(gid, v, file),
                Some("children") => self.read_children(gid, v, file),
                _ => {
                    let name = &self.groups[gid].name;
                    self.notes.push((
                        k.def,
                        format!(
                            "group '{name}' has an unexpected key '{}' (Ansible reads only hosts, vars and children); ignored",
                            k.key_text()
                        ),
                    ));
                }
            }
        }
    }

    fn read_vars(&mut self, gid: usize, node: &'a Node, file: &Path) {
        let Some(entries) = node.as_map() else {
            if !node.is_null() {
                let name = self.groups[gid].name.clone();
                self.errors.push(Diagnostic::at(
                    file,
                    node.def,
                    format!(
                        "'vars' of group '{name}' is {}; expected a mapping of variable names to values",
                        node.type_name()
                    ),
                ));
            }
            return;
        };
        let g = &mut self.groups[gid];
        for (k, v) in entries {
            if let Some(name) = k.as_str()
                && g.vars.insert(name, v).is_none()
            {
                g.var_order.push(name);
            }
        }
    }

    fn read_hosts(&mut self, gid: usize, node: &'a Node, file: &Path) {
        let Some(entries) = node.as_map() else {
            if !node.is_null() {
                let name = self.groups[gid].name.clone();
                self.errors.push(Diagnostic::at(
                    file,
                    node.def,
                    format!(
                        "'hosts' of group '{name}' is {}; expected a mapping of hosts \
                         (IP address: host variables), e.g. '10.10.10.11: {{ pg_seq: 1, pg_role: primary }}'",
                        node.type_name()
                    ),
                ));
            }
            return;
        };
        for (k, v) in entries {
            let Some(name) = k.scalar_text() else {
                self.errors.push(Diagnostic::at(
                    file,
                    k.def,
                    format!(
                        "a host of group '{}' is keyed by {}; expected an IP address or host name",
                        self.groups[gid].name,
                        k.type_name()
                    ),
                ));
                continue;
            };
            let names = match expand_host_range(&name) {
                Ok(names) => names,
                Err(why) => {
                    self.errors.push(Diagnostic::at(
                        file,
                        k.def,
                        format!("host pattern '{name}' {why}; expected e.g. '10.10.10.[11:13]'"),
                    ));
                    continue;
                }
            };
            for name in names {
                self.add_host(gid, name, k, v, file);
            }
        }
    }

    fn add_host(&mut self, gid: usize, name: String, k: &'a Node, v: &'a Node, file: &Path) {
        let hid = self.host_id(name, k.def);
        let host = &mut self.hosts[hid];
        if !host.groups.contains(&gid) {
            host.groups.push(gid);
            self.groups[gid].hosts.push(hid);
        }
        match &v.value {
            Value::Map(_) => host.var_maps.push(v),
            Value::Null => {}
            _ => {
                host.broken = true;
                self.errors.push(Diagnostic::at(
                    file,
                    v.def,
                    format!(
                        "host {} in group '{}' has {} as its value; expected host variables \
                         (a mapping such as '{{ pg_seq: 1, pg_role: primary }}') or nothing",
                        self.hosts[hid].name,
                        self.groups[gid].name,
                        v.type_name()
                    ),
                ))
            }
        }
    }

    fn read_children(&mut self, gid: usize, node: &'a Node, file: &Path) {
        let Some(entries) = node.as_map() else {
            if !node.is_null() {
                let name = self.groups[gid].name.clone();
                self.errors.push(Diagnostic::at(
                    file,
                    node.def,
                    format!(
                        "'children' of group '{name}' is {}; expected a mapping of group names to groups",
                        node.type_name()
                    ),
                ));
            }
            return;
        };
        for (k, v) in entries {
            let Some(name) = k.scalar_text() else {
                self.errors.push(Diagnostic::at(
                    file,
                    k.def,
                    format!(
                        "a child group is named by {}; expected a name",
                        k.type_name()
                    ),
                ));
                continue;
            };
            if name == "all" {
                self.errors.push(Diagnostic::at(
                    file,
                    k.def,
                    "group 'all' cannot be a child group".to_string(),
                ));
                continue;
            }
            let cid = self.group_id(&name, k.def);
            if !self.groups[gid].children.contains(&cid) {
                self.groups[gid].children.push(cid);
                self.groups[cid].parents.push(gid);
            }
            self.read_group(cid, v, file);
        }
    }

    /// Ansible depth of every group; reports cycles.
    fn compute_depths(&mut self, file: &Path) {
        #[derive(Clone, Copy, PartialEq)]
        enum State {
            New,
            Busy,
            Done,
        }
        let n = self.groups.len();
        let mut state = vec![State::New; n];
        let mut depth = vec![0u32; n];
        // iterative DFS over parents: depth(g) = max(depth(parent)) + 1
        for start in 0..n {
            if state[start] == State::Done {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            state[start] = State::Busy;
            while let Some(top) = stack.last_mut() {
                let (g, i) = *top;
                if i < self.groups[g].parents.len() {
                    top.1 += 1;
                    let p = self.groups[g].parents[i];
                    match state[p] {
                        State::New => {
                            state[p] = State::Busy;
                            stack.push((p, 0));
                        }
                        State::Busy => {
                            let name = self.groups[p].name.clone();
                            self.errors.push(Diagnostic::at(
                                file,
                                self.groups[p].pos,
                                format!(
                                    "group '{name}' is its own ancestor (a cycle in 'children'); \
                                     expected a tree of groups"
                                ),
                            ));
                        }
                        State::Done => {}
                    }
                } else {
                    depth[g] = self.groups[g]
                        .parents
                        .iter()
                        .filter(|&&p| state[p] == State::Done)
                        .map(|&p| depth[p] + 1)
                        .max()
                        .unwrap_or(0);
                    state[g] = State::Done;
                    stack.pop();
                }
            }
        }
        for (g, d) in depth.into_iter().enumerate() {
            self.groups[g].depth = d;
        }
    }

    /// Every group the host belongs to (directly or through children, and
    /// `all`), sorted from lowest to highest precedence.
    pub fn host_groups(&self, hid: usize) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::with_capacity(4);
        let mut stack: Vec<usize> = self.hosts[hid].groups.clone();
        stack.push(ALL);
        while let Some(g) = stack.pop() {
            if !out.contains(&g) {
                out.push(g);
                stack.extend(self.groups[g].parents.iter().copied());
            }
        }
        out.sort_by(|&a, &b| {
            let (ga, gb) = (&self.groups[a], &self.groups[b]);
            (ga.depth, ga.priority, &ga.name).cmp(&(gb.depth, gb.priority, &gb.name))
        });
        out
    }

    /// Every host of a group, its children's included, in order, once.
    pub fn group_hosts(&self, gid: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut seen_groups = vec![gid];
        let mut stack = vec![gid];
        let mut seen_hosts = std::collections::HashSet::new();
        while let Some(g) = stack.pop() {
            for &h in &self.groups[g].hosts {
                if seen_hosts.insert(h) {
                    out.push(h);
                }
            }
            for &c in self.groups[g].children.iter().rev() {
                if !seen_groups.contains(&c) {
                    seen_groups.push(c);
                    stack.push(c);
                }
            }
        }
        out
    }

    pub fn group(&self, name: &str) -> Option<usize> {
        self.group_index.get(name).copied()
    }
}

/// Variables of one host: its own, its groups' and the built-in defaults.
#[derive(Debug, Clone)]
pub struct HostVars<'a, 'i> {
    pub inv: &'i Inventory<'a>,
    pub host: usize,
    /// The host's groups, lowest precedence first.
    pub groups: Vec<usize>,
    pub defaults: &'a Defaults,
}

impl<'a, 'i> HostVars<'a, 'i> {
    pub fn new(inv: &'i Inventory<'a>, host: usize, defaults: &'a Defaults) -> Self {
        HostVars {
            inv,
            host,
            groups: inv.host_groups(host),
            defaults,
        }
    }

    /// Only `all.vars` and the defaults (for deployment-wide settings).
    pub fn global(inv: &'i Inventory<'a>, defaults: &'a Defaults) -> Self {
        HostVars {
            inv,
            host: usize::MAX,
            groups: vec![ALL],
            defaults,
        }
    }

    pub fn host_name(&self) -> &str {
        self.inv
            .hosts
            .get(self.host)
            .map(|h| h.name.as_str())
            .unwrap_or("all")
    }

    /// The variable as set in the inventory (not a default).
    pub fn explicit(&self, name: &str) -> Option<Var<'a>> {
        if let Some(h) = self.inv.hosts.get(self.host) {
            for m in h.var_maps.iter().rev() {
                if let Some(n) = m.get(name) {
                    return Some(Var {
                        node: n,
                        origin: Origin::Host(self.host),
                    });
                }
            }
        }
        for &g in self.groups.iter().rev() {
            if let Some(n) = self.inv.groups[g].vars.get(name) {
                return Some(Var {
                    node: n,
                    origin: Origin::Group(g),
                });
            }
        }
        None
    }

    /// The variable with Ansible precedence, falling back to the defaults.
    pub fn get(&self, name: &str) -> Option<Var<'a>> {
        self.explicit(name).or_else(|| {
            self.defaults.get(name).map(|n| Var {
                node: n,
                origin: Origin::Default,
            })
        })
    }

    /// Add the variables of the host's groups other than `all`, lowest
    /// precedence first (later inserts win).
    pub fn add_group_vars(&self, out: &mut crate::model::Vars) {
        for &g in &self.groups {
            if g == ALL {
                continue;
            }
            self.inv.groups[g].add_vars(out);
        }
    }

    /// Add the host's own variables (they win over everything).
    pub fn add_host_vars(&self, out: &mut crate::model::Vars) {
        if let Some(h) = self.inv.hosts.get(self.host) {
            for m in &h.var_maps {
                for (k, v) in m.as_map().unwrap_or(&[]) {
                    if let Some(name) = k.as_str() {
                        out.insert(name.to_string(), v.to_json());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::yaml;

    fn inv(text: &str) -> (Node, Vec<String>) {
        let root = yaml::parse(text).unwrap();
        (root, Vec::new())
    }

    #[test]
    fn precedence_host_over_child_over_parent_over_all() {
        let (root, _) = inv("all:
  vars: { a: all, b: all, c: all, d: all }
  children:
    parent:
      vars: { b: parent, c: parent, d: parent }
      children:
        child:
          vars: { c: child, d: child }
          hosts:
            h1: { d: host }
");
        let inv = Inventory::read(&root, Path::new("x.yml")).unwrap();
        let defaults = Defaults::default();
        let h = inv.host_index["h1"];
        let v = HostVars::new(&inv, h, &defaults);
        let get = |n: &str| v.get(n).unwrap().node.as_str().unwrap().to_string();
        assert_eq!(get("a"), "all");
        assert_eq!(get("b"), "parent");
        assert_eq!(get("c"), "child");
        assert_eq!(get("d"), "host");
        assert_eq!(inv.groups[inv.group("child").unwrap()].depth, 2);
    }

    #[test]
    fn same_depth_sorted_by_priority_then_name() {
        let (root, _) = inv("all:
  children:
    zeta: { hosts: { h: {} }, vars: { x: zeta, y: zeta } }
    alpha: { hosts: { h: {} }, vars: { x: alpha, y: alpha, ansible_group_priority: 99 } }
");
        let inv = Inventory::read(&root, Path::new("x.yml")).unwrap();
        let defaults = Defaults::default();
        let v = HostVars::new(&inv, 0, &defaults);
        // alpha has the higher priority, so it wins despite sorting first
        assert_eq!(v.get("x").unwrap().node.as_str(), Some("alpha"));
    }

    #[test]
    fn host_ranges() {
        assert_eq!(
            expand_host_range("10.10.10.[11:13]").unwrap(),
            ["10.10.10.11", "10.10.10.12", "10.10.10.13"]
        );
        assert_eq!(
            expand_host_range("db-[01:05:2]").unwrap(),
            ["db-01", "db-03", "db-05"]
        );
        assert_eq!(
            expand_host_range("n[a:b]-[1:2]").unwrap(),
            ["na-1", "na-2", "nb-1", "nb-2"]
        );
        assert_eq!(expand_host_range("plain").unwrap(), ["plain"]);
        assert!(expand_host_range("x[1:").is_err());
        assert!(expand_host_range("x[3:1]").is_err());
        assert!(expand_host_range("x[1:2:0]").is_err());
    }

    #[test]
    fn top_level_groups_are_children_of_all() {
        let (root, _) = inv("x-common: &c { a: 1 }
all:
  vars: { v: all }
pg-extra:
  hosts: { h1: {} }
  vars: { v: extra }
");
        let inv = Inventory::read(&root, Path::new("x.yml")).unwrap();
        assert!(inv.group("x-common").is_none());
        let g = inv.group("pg-extra").unwrap();
        assert_eq!(inv.groups[g].depth, 1);
        let defaults = Defaults::default();
        let v = HostVars::new(&inv, inv.host_index["h1"], &defaults);
        assert_eq!(v.get("v").unwrap().node.as_str(), Some("extra"));
    }

    #[test]
    fn cycle_is_an_error() {
        let (root, _) = inv("all:
  children:
    a: { children: { b: { children: { a: {} } } } }
");
        let inv = Inventory::read(&root, Path::new("x.yml")).unwrap();
        assert!(
            inv.errors
                .iter()
                .any(|d| d.message.contains("own ancestor")),
            "{:?}",
            inv.errors
        );
    }

    #[test]
    fn group_hosts_include_children() {
        let (root, _) = inv("all:
  children:
    top: { hosts: { a: }, children: { sub: { hosts: { b: , a: } } } }
");
        let inv = Inventory::read(&root, Path::new("x.yml")).unwrap();
        let top = inv.group("top").unwrap();
        let names: Vec<_> = inv
            .group_hosts(top)
            .into_iter()
            .map(|h| inv.hosts[h].name.as_str())
            .collect();
        assert_eq!(names, ["a", "b"]);
    }
}
