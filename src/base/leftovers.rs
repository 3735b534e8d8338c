//! What runs of this tool that were killed left beside an output: a
//! staging folder or file, or a previous output moved aside, each named
//! `.NAME.ROLE-…-PID` for the process that made it. They are the tool's
//! own by name and by process; one whose process is gone is removed by the
//! next run that writes the same output, so that repeated interruptions do
//! not pile up copies of a report (26 MB after thirty killed `compare`
//! runs, in a review).

use std::path::{Path, PathBuf};

/// Entries beside `target` named `.NAME.ROLE-…PID` for one of `roles`,
/// whose process has ended. Nothing on a system without `/proc`, where a
/// process cannot be told to be gone.
pub fn of_ended_runs(target: &Path, roles: &[&str]) -> Vec<PathBuf> {
    let (Some(parent), Some(name)) = (target.parent(), target.file_name()) else {
        return Vec::new();
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let name = name.to_string_lossy();
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .filter(|entry| {
            let file = entry.file_name().to_string_lossy().into_owned();
            roles.iter().any(|role| {
                file.strip_prefix(&format!(".{name}.{role}-"))
                    .and_then(|rest| rest.rsplit('-').next())
                    .and_then(|pid| pid.parse::<u32>().ok())
                    .is_some_and(process_has_ended)
            })
        })
        .map(|entry| entry.path())
        .collect();
    found.sort();
    found
}

/// Whether process `pid` has ended. Never true of this process.
fn process_has_ended(pid: u32) -> bool {
    let proc = Path::new("/proc");
    pid != std::process::id() && proc.join("self").exists() && !proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_entries_of_ended_processes_with_the_names_own_prefix_are_found() {
        let dir = tempfile::TempDir::new().unwrap();
        let target = dir.path().join("report");
        // a pid far above any live one (Linux caps pids at 2^22)
        let ended = 4_194_400u32;
        let ours = std::process::id();
        for name in [
            format!(".report.staging-00000000000000000001-{ended}"),
            format!(".report.old-00000000000000000002-{ended}"),
            format!(".report.staging-00000000000000000003-{ours}"),
            format!(".other.staging-00000000000000000004-{ended}"),
            "report.staging-5".to_string(),
            format!(".report.notes-{ended}"),
        ] {
            std::fs::create_dir(dir.path().join(name)).unwrap();
        }
        let found: Vec<String> = of_ended_runs(&target, &["staging", "old"])
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        if Path::new("/proc/self").exists() {
            assert_eq!(
                found,
                [
                    format!(".report.old-00000000000000000002-{ended}"),
                    format!(".report.staging-00000000000000000001-{ended}"),
                ]
            );
        } else {
            assert!(found.is_empty());
        }
    }
}
