//! A bounded map of the most recently used entries, in two generations: an entry is found in
//! either, and one found in the older is moved to the newer; when the newer is full the older is
//! dropped and the newer takes its place. So at most the capacity is kept, and nothing used since
//! the last turn is dropped — least-recently-used eviction to within a generation, with no list
//! to keep in order.

use std::collections::HashMap;

/// The most recently used values by key (see the module documentation).
pub(crate) struct Recent<V> {
    newer: HashMap<String, V>,
    older: HashMap<String, V>,
    /// Half the capacity: the size of a full generation.
    generation: usize,
}

impl<V: Clone> Recent<V> {
    /// An empty map keeping at most `capacity` entries (at least 2).
    pub(crate) fn new(capacity: usize) -> Self {
        Recent {
            newer: HashMap::new(),
            older: HashMap::new(),
            generation: (capacity / 2).max(1),
        }
    }

    /// How many entries a generation holds: the newest this many are never dropped.
    pub(crate) fn generation(&self) -> usize {
        self.generation
    }

    /// The value under `key`, now the most recently used.
    pub(crate) fn get(&mut self, key: &str) -> Option<V> {
        if let Some(value) = self.newer.get(key) {
            return Some(value.clone());
        }
        let (key, value) = self.older.remove_entry(key)?;
        self.put(key, value.clone());
        Some(value)
    }

    /// Keeps `value` under `key`, as the most recently used.
    pub(crate) fn put(&mut self, key: String, value: V) {
        if self.newer.len() >= self.generation {
            self.older = std::mem::take(&mut self.newer);
        }
        self.newer.insert(key, value);
    }

    /// How many entries are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.newer.len() + self.older.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_at_most_its_capacity_and_the_recently_used() {
        let mut recent = Recent::new(4);
        for i in 0..10 {
            recent.put(format!("k{i}"), i);
            assert!(recent.len() <= 4);
        }
        // The last generation is there; the first entries are gone.
        assert_eq!(recent.get("k9"), Some(9));
        assert_eq!(recent.get("k8"), Some(8));
        assert_eq!(recent.get("k0"), None);
        // A key used again survives the next turn.
        recent.put("k10".into(), 10);
        assert_eq!(recent.get("k8"), Some(8));
        recent.put("k11".into(), 11);
        assert_eq!(recent.get("k8"), Some(8));
    }
}
