//! The market-data line budget: which streaming subscriptions hold a line,
//! in least-recently-used order, and which are pinned (legs of open
//! positions and working orders) and so never evicted.
//!
//! Pure bookkeeping: [`LineBook::admit`] says what to cancel before a new
//! subscription is sent, the caller does the I/O. Snapshots never enter the
//! book: they hold no line.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

/// What admitting a subscription requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission<K> {
    /// Already streaming; marked as just used.
    AlreadyActive,
    /// Added; `evicted` (the least recently used unpinned line) must be
    /// cancelled first when present.
    Added { evicted: Option<K> },
    /// Every line is pinned: nothing can be evicted.
    Refused,
}

#[derive(Debug, Clone)]
struct Line {
    last_used: u64,
    pins: u32,
}

/// Lines by key with their last use and pin count.
#[derive(Debug, Clone)]
pub struct LineBook<K> {
    capacity: usize,
    clock: u64,
    lines: HashMap<K, Line>,
    /// last_used → key, for unpinned lines only.
    lru: BTreeMap<u64, K>,
    evictions: u64,
}

impl<K: Clone + Eq + Hash> LineBook<K> {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            clock: 0,
            lines: HashMap::new(),
            lru: BTreeMap::new(),
            evictions: 0,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Changes the budget; when lines exceed it, the least recently used
    /// unpinned ones are evicted and returned (pinned lines stay, even
    /// above the budget, until unpinned).
    pub fn set_capacity(&mut self, capacity: usize) -> Vec<K> {
        self.capacity = capacity.max(1);
        let mut evicted = Vec::new();
        while self.lines.len() > self.capacity {
            let Some((_, victim)) = self.lru.pop_first() else {
                break;
            };
            self.lines.remove(&victim);
            self.evictions += 1;
            evicted.push(victim);
        }
        evicted
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn pinned(&self) -> usize {
        self.lines.values().filter(|l| l.pins > 0).count()
    }

    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    pub fn contains(&self, key: &K) -> bool {
        self.lines.contains_key(key)
    }

    pub fn is_pinned(&self, key: &K) -> bool {
        self.lines.get(key).is_some_and(|l| l.pins > 0)
    }

    /// Every held line, for resubscription after a reconnect.
    pub fn keys(&self) -> Vec<K> {
        self.lines.keys().cloned().collect()
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// Makes room for `key` if needed and records it as just used.
    pub fn admit(&mut self, key: K, pinned: bool) -> Admission<K> {
        if self.lines.contains_key(&key) {
            self.touch(&key);
            if pinned {
                self.pin(&key);
            }
            return Admission::AlreadyActive;
        }
        let mut evicted = None;
        if self.lines.len() >= self.capacity {
            let Some((_, victim)) = self.lru.pop_first() else {
                return Admission::Refused;
            };
            self.lines.remove(&victim);
            self.evictions += 1;
            evicted = Some(victim);
        }
        let now = self.tick();
        self.lines.insert(
            key.clone(),
            Line {
                last_used: now,
                pins: 0,
            },
        );
        self.lru.insert(now, key.clone());
        if pinned {
            self.pin(&key);
        }
        Admission::Added { evicted }
    }

    /// Marks a line as just used (a quote was read from it).
    pub fn touch(&mut self, key: &K) {
        let now = self.tick();
        if let Some(line) = self.lines.get_mut(key) {
            if line.pins == 0 {
                self.lru.remove(&line.last_used);
                self.lru.insert(now, key.clone());
            }
            line.last_used = now;
        }
    }

    /// Adds a pin; a pinned line is never evicted. Returns false if the
    /// line is not held.
    pub fn pin(&mut self, key: &K) -> bool {
        match self.lines.get_mut(key) {
            Some(line) => {
                if line.pins == 0 {
                    self.lru.remove(&line.last_used);
                }
                line.pins += 1;
                true
            }
            None => false,
        }
    }

    /// Removes one pin; the line becomes evictable when none remain.
    pub fn unpin(&mut self, key: &K) {
        if let Some(line) = self.lines.get_mut(key)
            && line.pins > 0
        {
            line.pins -= 1;
            if line.pins == 0 {
                self.lru.insert(line.last_used, key.clone());
            }
        }
    }

    /// Drops a line (the caller cancelled it). Returns whether it was held.
    pub fn release(&mut self, key: &K) -> bool {
        match self.lines.remove(key) {
            Some(line) => {
                if line.pins == 0 {
                    self.lru.remove(&line.last_used);
                }
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_capacity_the_least_recently_used_is_evicted_and_counted() {
        let mut book = LineBook::new(90);
        for i in 0..90 {
            assert_eq!(book.admit(i, false), Admission::Added { evicted: None });
        }
        book.touch(&0);
        assert_eq!(book.admit(90, false), Admission::Added { evicted: Some(1) });
        assert_eq!(book.admit(91, false), Admission::Added { evicted: Some(2) });
        assert_eq!(book.len(), 90);
        assert_eq!(book.evictions(), 2);
        assert!(book.contains(&0));
    }

    #[test]
    fn pinned_lines_are_never_evicted() {
        let mut book = LineBook::new(90);
        for i in 0..90 {
            book.admit(i, i < 10);
        }
        for i in 90..210 {
            match book.admit(i, false) {
                Admission::Added { evicted: Some(v) } => assert!(!(0..10).contains(&v)),
                other => panic!("{other:?}"),
            }
            assert!(book.len() <= 90);
        }
        assert_eq!(book.pinned(), 10);
        assert!((0..10).all(|i| book.contains(&i)));
        assert_eq!(book.evictions(), 120);
    }

    #[test]
    fn all_pinned_refuses_and_unpin_frees() {
        let mut book = LineBook::new(2);
        book.admit("a", true);
        book.admit("b", true);
        assert_eq!(book.admit("c", false), Admission::Refused);
        book.unpin(&"b");
        assert_eq!(
            book.admit("c", false),
            Admission::Added { evicted: Some("b") }
        );
        assert!(!book.is_pinned(&"c"));
    }

    #[test]
    fn pins_count_and_readmission_touches() {
        let mut book = LineBook::new(3);
        book.admit(1, false);
        book.admit(2, false);
        book.admit(3, false);
        assert!(book.pin(&1));
        assert!(book.pin(&1));
        book.unpin(&1);
        assert!(book.is_pinned(&1));
        assert_eq!(book.admit(2, false), Admission::AlreadyActive);
        // 3 is now the least recently used unpinned line.
        assert_eq!(book.admit(4, false), Admission::Added { evicted: Some(3) });
        assert!(book.release(&2));
        assert!(!book.release(&2));
        assert_eq!(book.admit(5, false), Admission::Added { evicted: None });
        let mut keys = book.keys();
        keys.sort();
        assert_eq!(keys, vec![1, 4, 5]);
    }
}
