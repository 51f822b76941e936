//! Label sets of Prometheus samples, small and shared.
//!
//! A large deployment's answers carry tens of thousands of samples whose
//! labels repeat (every metric of an instance names the same `ins`, `cls`
//! and `ip`). A [`Labels`] is one sorted slice of name/value pairs, and an
//! [`Interner`] kept by the poller hands out one shared `Arc<str>` per
//! distinct text, across queries and polls: the samples of two rounds (the
//! merger's and the one being read) share their strings instead of holding
//! a copy each. Whole label sets are shared the same way: the instant
//! metrics of one instance carry the same set, held once.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;

/// One label: its name and value.
type Pair = (Arc<str>, Arc<str>);

/// A sample's labels, sorted by name (names are unique).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Labels(Arc<[Pair]>);

impl Labels {
    /// Labels from pairs in any order (a later duplicate name wins).
    pub fn new(pairs: Vec<Pair>) -> Self {
        Labels(sorted(pairs).into())
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

/// Pairs sorted by name, a later duplicate name winning.
fn sorted(mut pairs: Vec<Pair>) -> Vec<Pair> {
    pairs.reverse();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs.dedup_by(|a, b| a.0 == b.0);
    pairs
}

/// One shared copy of each distinct label text, and of each label set.
#[derive(Debug, Default)]
pub struct Interner {
    texts: HashSet<Arc<str>>,
    sets: HashSet<Arc<[Pair]>>,
}

impl Interner {
    /// The shared copy of `s` (made on first sight).
    pub fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.texts.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.texts.insert(a.clone());
        a
    }

    /// The shared label set of these pairs (in any order, a later
    /// duplicate name winning; made on first sight).
    pub fn labels(&mut self, pairs: Vec<Pair>) -> Labels {
        let pairs = sorted(pairs);
        if let Some(a) = self.sets.get(pairs.as_slice()) {
            return Labels(a.clone());
        }
        let a: Arc<[Pair]> = pairs.into();
        self.sets.insert(a.clone());
        Labels(a)
    }

    /// `labels` without label `name`, shared; with the removed value.
    pub fn without(&mut self, labels: &Labels, name: &str) -> (Labels, Option<Arc<str>>) {
        let Ok(i) = labels.0.binary_search_by(|(n, _)| (**n).cmp(name)) else {
            return (labels.clone(), None);
        };
        let mut v = labels.0.to_vec();
        let (_, value) = v.remove(i);
        (self.labels(v), Some(value))
    }

    /// Forget the sets and texts nothing else holds any more (after each
    /// poll: what the last two rounds' samples name stays).
    pub fn prune(&mut self) {
        self.sets.retain(|a| Arc::strong_count(a) > 1);
        self.texts.retain(|a| Arc::strong_count(a) > 1);
    }

    /// How many distinct texts are held.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_lookup_remove_and_serialize() {
        let l = Labels::from([("ins", "pg-test-1"), ("cls", "pg-test"), ("ip", "10.0.0.1")]);
        assert_eq!(l.get("cls"), Some("pg-test"));
        assert_eq!(&l["ins"], "pg-test-1");
        assert_eq!(l.get("job"), None);
        let names: Vec<&str> = l.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["cls", "ins", "ip"]);
        assert_eq!(
            serde_json::to_string(&l).unwrap(),
            r#"{"cls":"pg-test","ins":"pg-test-1","ip":"10.0.0.1"}"#
        );
        let (l, ins) = Interner::default().without(&l, "ins");
        assert_eq!(ins.as_deref(), Some("pg-test-1"));
        assert_eq!(l.len(), 2);
        assert!(!l.contains("ins"));
        assert_eq!(Interner::default().without(&l, "ins").1, None);
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

    #[test]
    fn label_sets_are_shared_and_pruned() {
        let mut i = Interner::default();
        let pair = |i: &mut Interner, n: &str, v: &str| (i.intern(n), i.intern(v));
        let a = {
            let p = vec![
                pair(&mut i, "ins", "pg-test-1"),
                pair(&mut i, "cls", "pg-test"),
            ];
            i.labels(p)
        };
        let b = {
            let p = vec![
                pair(&mut i, "cls", "pg-test"),
                pair(&mut i, "ins", "pg-test-1"),
            ];
            i.labels(p)
        };
        assert!(Arc::ptr_eq(&a.0, &b.0), "one set whatever the order");
        // The set of a combined query's sample without its part tag is
        // the set of the same labels asked alone.
        let tagged = {
            let p = vec![
                pair(&mut i, "__part", "3"),
                pair(&mut i, "cls", "pg-test"),
                pair(&mut i, "ins", "pg-test-1"),
            ];
            i.labels(p)
        };
        let (untagged, part) = i.without(&tagged, "__part");
        assert_eq!(part.as_deref(), Some("3"));
        assert!(Arc::ptr_eq(&untagged.0, &a.0));
        drop((tagged, untagged, part));
        i.prune();
        assert_eq!(
            i.len(),
            4,
            "cls, pg-test, ins, pg-test-1 still held by a and b"
        );
        drop((a, b));
        i.prune();
        assert!(i.is_empty());
    }
}
