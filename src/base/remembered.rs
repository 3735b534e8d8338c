//! Answers worked out once per distinct raw text and then remembered, for
//! the lookups that every cell of every row makes (a label's code, whether
//! a text means "not recorded", a mapped value): a column holds few
//! distinct texts, and normalising each cell anew (case, accents, an
//! allocation) was half the time of an ingest.
//!
//! Each thread keeps its own memory. With one map behind one lock, the
//! two threads that check rows took turns owning the lock's cache line on
//! every lookup: a perf profile of ingest (300,000 records) put two fifths
//! of the lookup's own time on the lock's atomic instructions and on the
//! key beside it. Shards that each thread has to itself cost an
//! uncontended lock, and a text is at worst worked out once per shard.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use foldhash::HashMap;

/// Shards per memory: more than the threads that look up at once, so two
/// of them rarely share one.
const SHARDS: usize = 8;

/// Distinct raw texts remembered per shard; free text beyond it is worked
/// out every time rather than held.
const PER_SHARD: usize = 4096;

/// A shard on a cache line (two on CPUs that fetch lines in pairs) of its
/// own, so that one thread's lock does not evict another's.
#[repr(align(128))]
struct Shard<V>(Mutex<HashMap<String, V>>);

pub struct Remembered<V> {
    shards: [Shard<V>; SHARDS],
}

/// This thread's shard: threads take shards in turn as they first look up.
fn my_shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static MINE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    MINE.with(|mine| *mine)
}

impl<V: Clone> Remembered<V> {
    /// The answer for `raw`: remembered, or worked out by `work_out` (and
    /// then remembered while the shard holds fewer than [`PER_SHARD`]).
    pub fn get_or(&self, raw: &str, work_out: impl FnOnce() -> V) -> V {
        let shard = &self.shards[my_shard()].0;
        // A poisoned shard (a panic elsewhere while it was held) is only
        // a lost memory: the answer is worked out instead.
        if let Some(known) = shard.lock().ok().and_then(|seen| seen.get(raw).cloned()) {
            return known;
        }
        // worked out without the lock held, so `work_out` may look up too
        let answer = work_out();
        if let Ok(mut seen) = shard.lock()
            && seen.len() < PER_SHARD
        {
            seen.insert(raw.to_string(), answer.clone());
        }
        answer
    }
}

impl<V> Default for Remembered<V> {
    fn default() -> Self {
        Remembered {
            shards: std::array::from_fn(|_| Shard(Mutex::default())),
        }
    }
}

/// A copy starts with no memory: the answers are worked out again.
impl<V> Clone for Remembered<V> {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl<V> fmt::Debug for Remembered<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held: usize = self
            .shards
            .iter()
            .map(|s| s.0.lock().map_or(0, |seen| seen.len()))
            .sum();
        write!(f, "Remembered({held} answers)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn an_answer_is_worked_out_once_per_thread_and_then_remembered() {
        let memory: Remembered<usize> = Remembered::default();
        let worked = Cell::new(0);
        let ask = |raw: &str| {
            memory.get_or(raw, || {
                worked.set(worked.get() + 1);
                raw.len()
            })
        };
        assert_eq!(ask("Female"), 6);
        assert_eq!(ask("Female"), 6);
        assert_eq!(ask("male"), 4);
        assert_eq!(worked.get(), 2);
    }

    #[test]
    fn threads_get_the_same_answers_from_their_own_shards() {
        let memory: Remembered<String> = Remembered::default();
        let answers: Vec<Vec<String>> = std::thread::scope(|scope| {
            let askers: Vec<_> = (0..3)
                .map(|_| {
                    scope.spawn(|| {
                        (0..100)
                            .map(|i| {
                                memory.get_or(&format!("t{}", i % 7), || format!("T{}", i % 7))
                            })
                            .collect()
                    })
                })
                .collect();
            askers.into_iter().map(|a| a.join().unwrap()).collect()
        });
        for got in &answers {
            assert_eq!(got[13], "T6");
            assert_eq!(got, &answers[0]);
        }
    }

    #[test]
    fn a_full_shard_still_answers_without_remembering() {
        let memory: Remembered<usize> = Remembered::default();
        for i in 0..PER_SHARD + 10 {
            assert_eq!(memory.get_or(&i.to_string(), || i), i);
        }
        let beyond = (PER_SHARD + 5).to_string();
        assert_eq!(
            memory.get_or(&beyond, || 7),
            7,
            "not remembered: worked out again"
        );
        assert_eq!(memory.get_or("0", || 99), 0, "remembered");
    }
}
