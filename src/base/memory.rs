//! How the process takes memory from the kernel.

/// The environment variable with which a user may still ask for
/// transparent huge pages (mimalloc's own option: `1` allows them).
const ASK_FOR_HUGE_PAGES: &str = "MIMALLOC_ALLOW_THP";

/// Turns transparent huge pages off for this process and the processes it
/// starts (Linux), unless `MIMALLOC_ALLOW_THP` asks for them; elsewhere it
/// does nothing. Called first thing in `main`.
///
/// Why: mimalloc marks its arenas for huge pages, so the first small
/// allocations of each thread made the kernel zero a whole 2 MiB page of
/// which a few KiB were used. In one `run` on the sample data (`perf`,
/// fresh store) that zeroing was 805 of 5,549 CPU samples. Measured on
/// the AMD machine on 2026-12-06, with `MIMALLOC_ALLOW_THP=0` (what this
/// does) against the default, interleaved: `run` on the sample data with a
/// fresh store, 6 rounds, median 1.570 -> 1.380 s and CPU 2.155 -> 1.950 s,
/// peak memory 219 -> 176 MB; `ingest` of a million records, 3 rounds,
/// 8.08 -> 7.39 s; `report` on them 4.94 -> 4.51 s; the 14 benchmark
/// queries (`benches/ab_builds.py queries`, every table the same) 2.011 ->
/// 1.885 s at a million records (5 rounds) and 13.64 -> 13.04 s at ten
/// million (3 rounds).
pub fn no_transparent_huge_pages() {
    if huge_pages_asked_for(std::env::var(ASK_FOR_HUGE_PAGES).ok().as_deref()) {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_THP_DISABLE takes integers only; it changes
    // a flag of this process and touches no memory of ours. A kernel that
    // refuses it leaves huge pages as they were, which is only slower.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Whether `MIMALLOC_ALLOW_THP`, as set (or not), asks for huge pages:
/// any value but `0`, as mimalloc reads it.
fn huge_pages_asked_for(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.trim() != "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_pages_stay_only_when_asked_for() {
        assert!(!huge_pages_asked_for(None));
        assert!(!huge_pages_asked_for(Some("0")));
        assert!(huge_pages_asked_for(Some("1")));
        assert!(huge_pages_asked_for(Some("2")));
    }

    /// The kernel's view of the process afterwards: `THP_enabled: 0` in
    /// /proc/self/status (Linux 6.x prints the line; older kernels do not,
    /// and then the flag is read back with prctl).
    #[cfg(target_os = "linux")]
    #[test]
    fn the_process_has_no_transparent_huge_pages_afterwards() {
        if huge_pages_asked_for(std::env::var(ASK_FOR_HUGE_PAGES).ok().as_deref()) {
            return; // the one who runs the tests asked for them
        }
        no_transparent_huge_pages();
        // SAFETY: as above; PR_GET_THP_DISABLE only reads the flag
        let flag = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
        assert_eq!(flag, 1);
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        if let Some(line) = status.lines().find(|l| l.starts_with("THP_enabled:")) {
            assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
        }
    }
}
