//! Answers worked out once per distinct raw text and then remembered, for
//! the lookups that every cell of every row makes (a label's code, whether
//! a text means "not recorded", a mapped value): a column holds few
//! distinct texts, and normalising each cell anew (case, accents, an
//! allocation) was half the time of an ingest.
//!
//! Each thread keeps its own memory, with no lock: the threads that check
//! rows look up every cell. With one map behind one lock, they took turns
//! owning the lock's cache line on every lookup (perf, 300,000 records: two
//! fifths of the lookup's own time on the lock's atomic instructions); with
//! a map per thread behind an uncontended lock, the lock's two atomic
//! instructions were still three quarters of the lookup's own time, about
//! 4% of ingest's CPU samples (perf, 1M records). A text is worked out at
//! worst once per thread.

use std::cell::RefCell;
use std::fmt;

use foldhash::HashMap;
use thread_local::ThreadLocal;

/// Distinct raw texts remembered per thread; free text beyond it is
/// worked out every time rather than held.
const PER_THREAD: usize = 4096;

pub struct Remembered<V: Send> {
    by_thread: ThreadLocal<RefCell<HashMap<String, V>>>,
}

impl<V: Clone + Send> Remembered<V> {
    /// The answer for `raw`: remembered, or worked out by `work_out` (and
    /// then remembered while this thread holds fewer than [`PER_THREAD`]).
    pub fn get_or(&self, raw: &str, work_out: impl FnOnce() -> V) -> V {
        let seen = self.by_thread.get_or_default();
        if let Some(known) = seen.borrow().get(raw) {
            return known.clone();
        }
        // worked out with no borrow held, so `work_out` may look up too
        let answer = work_out();
        let mut seen = seen.borrow_mut();
        if seen.len() < PER_THREAD {
            seen.insert(raw.to_string(), answer.clone());
        }
        answer
    }
}

impl<V: Send> Default for Remembered<V> {
    fn default() -> Self {
        Remembered {
            by_thread: ThreadLocal::new(),
        }
    }
}

/// A copy starts with no memory: the answers are worked out again.
impl<V: Send> Clone for Remembered<V> {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl<V: Send> fmt::Debug for Remembered<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // only this thread's memory can be read from here
        let held = (self.by_thread.get()).map_or(0, |seen| seen.borrow().len());
        write!(f, "Remembered({held} answers on this thread)")
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
    fn threads_get_the_same_answers_from_their_own_memories() {
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
    fn a_full_memory_still_answers_without_remembering() {
        let memory: Remembered<usize> = Remembered::default();
        for i in 0..PER_THREAD + 10 {
            assert_eq!(memory.get_or(&i.to_string(), || i), i);
        }
        let beyond = (PER_THREAD + 5).to_string();
        assert_eq!(
            memory.get_or(&beyond, || 7),
            7,
            "not remembered: worked out again"
        );
        assert_eq!(memory.get_or("0", || 99), 0, "remembered");
    }
}
