//! The layout stays one-way: each stage of `src/` uses only the stages
//! before it (docs/architecture.md). A `crate::` path to a later stage is a
//! failing test naming the file, not a cycle found years later.

use std::path::Path;

/// The stages in dependency order; `error` is shared by all.
const STAGES: &[&str] = &[
    "base",
    "store",
    "classify",
    "input",
    "generate",
    "directory",
    "reference",
    "sql",
    "publish",
    "gaps",
    "report",
    "exchange",
    "pipeline",
];

fn rank(stage: &str) -> Option<usize> {
    STAGES.iter().position(|s| *s == stage)
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_stage_uses_only_the_stages_before_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut top: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|n| n != "cli")
        .collect();
    top.sort();
    for stage in &top {
        assert!(
            rank(stage).is_some(),
            "src/{stage}/ is not a stage of the layout: add it to STAGES and docs/architecture.md"
        );
    }
    let mut files = Vec::new();
    for stage in &top {
        sources(&src.join(stage), &mut files);
    }
    let mut wrong = Vec::new();
    for file in files {
        let stage = file
            .strip_prefix(&src)
            .unwrap()
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .into_owned();
        let own = rank(&stage).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, _) in line.match_indices("crate::") {
                let used: String = line[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if let Some(r) = rank(&used)
                    && r > own
                {
                    wrong.push(format!("{}: uses crate::{used}", file.display()));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "later stages used:\n{}", wrong.join("\n"));
}
