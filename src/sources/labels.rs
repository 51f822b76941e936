//! Label sets of Prometheus samples, small and shared.
//!
//! A large deployment's answers carry tens of thousands of samples whose
//! labels repeat (every metric of an instance names the same `ins`, `cls`
//! and `ip`). A [`Labels`] is one sorted slice of name/value pairs, and an
//! [`Interner`] kept by the poller hands out one shared `Arc<str>` per
//! distinct text, across queries and polls: the samples of two rounds (the
//! merger's and the one being read) share their strings instead of holding
//! a copy each.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;

/// A sample's labels, sorted by name (names are unique).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Labels(Box<[(Arc<str>, Arc<str>)]>);

impl Labels {
    /// Labels from pairs in any order (a later duplicate name wins).
    pub fn new(mut pairs: Vec<(Arc<str>, Arc<str>)>) -> Self {
        pairs.reverse();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|a, b| a.0 == b.0);
        Labels(pairs.into_boxed_slice())
    }

    /// The value of label `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(n, _)| (**n).cmp(name))
            .ok()
            .map(|i| &*self.0[i].1)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Take label `name` out.
    pub fn remove(&mut self, name: &str) -> Option<Arc<str>> {
        let i = self.0.binary_search_by(|(n, _)| (**n).cmp(name)).ok()?;
        let mut v = std::mem::take(&mut self.0).into_vec();
        let (_, value) = v.remove(i);
        self.0 = v.into_boxed_slice();
        Some(value)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Names and values, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (&**n, &**v))
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> From<[(K, V); N]> for Labels {
    fn from(pairs: [(K, V); N]) -> Self {
        Labels::new(
            pairs
                .iter()
                .map(|(k, v)| (Arc::from(k.as_ref()), Arc::from(v.as_ref())))
                .collect(),
        )
    }
}

impl std::ops::Index<&str> for Labels {
    type Output = str;
    fn index(&self, name: &str) -> &str {
        self.get(name)
            .unwrap_or_else(|| panic!("no label {name:?}"))
    }
}

impl Serialize for Labels {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

/// One shared copy of each distinct label text.
#[derive(Debug, Default)]
pub struct Interner(HashSet<Arc<str>>);

impl Interner {
    /// The shared copy of `s` (made on first sight).
    pub fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.0.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.0.insert(a.clone());
        a
    }

    /// Forget the texts nothing else holds any more (after each poll: what
    /// the last two rounds' samples name stays).
    pub fn prune(&mut self) {
        self.0.retain(|a| Arc::strong_count(a) > 1);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_lookup_remove_and_serialize() {
        let mut l = Labels::from([("ins", "pg-test-1"), ("cls", "pg-test"), ("ip", "10.0.0.1")]);
        assert_eq!(l.get("cls"), Some("pg-test"));
        assert_eq!(&l["ins"], "pg-test-1");
        assert_eq!(l.get("job"), None);
        let names: Vec<&str> = l.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["cls", "ins", "ip"]);
        assert_eq!(
            serde_json::to_string(&l).unwrap(),
            r#"{"cls":"pg-test","ins":"pg-test-1","ip":"10.0.0.1"}"#
        );
        assert_eq!(l.remove("ins").as_deref(), Some("pg-test-1"));
        assert_eq!(l.len(), 2);
        assert!(!l.contains("ins"));
        assert_eq!(l.remove("ins"), None);
    }

    #[test]
    fn duplicate_names_keep_the_last() {
        let l = Labels::from([("a", "1"), ("b", "2"), ("a", "3")]);
        assert_eq!(l.len(), 2);
        assert_eq!(l.get("a"), Some("3"));
    }

    #[test]
    fn interner_shares_and_prunes() {
        let mut i = Interner::default();
        let a = i.intern("pg-test-1");
        let b = i.intern("pg-test-1");
        assert!(Arc::ptr_eq(&a, &b));
        let _c = i.intern("pg-test-2");
        assert_eq!(i.len(), 2);
        drop(_c);
        i.prune();
        assert_eq!(i.len(), 1);
        drop((a, b));
        i.prune();
        assert!(i.is_empty());
    }
}
