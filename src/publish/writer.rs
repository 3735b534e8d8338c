//! The one writer of output folders (`report`, `gaps`, `compare`, `merge`,
//! `run`): everything is written into a staging folder beside the target,
//! checked there, and only then put in the target's place.
//!
//! The target folder is the user's. It is written only when it does not
//! exist, is empty, or is a previous output of the same command, which a
//! marker file ([`MARKER`]) records together with every file that output
//! wrote; a folder holding anything else (a store, a working directory,
//! someone's notes) is refused, and nothing the tool did not write is ever
//! deleted. Replacing is two renames: the old output is moved aside, the new
//! one moved in, and only then is the old one removed, so a run killed at
//! any point leaves a complete output in place or beside it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The marker file of an output folder.
pub const MARKER: &str = ".safetynet-output.json";

/// What the marker records: which command wrote the folder, and each file
/// it wrote (relative paths, sorted). No time stamp: the same output is the
/// same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    pub written_by: String,
    pub files: Vec<String>,
}

/// An output folder being written.
pub struct OutputDir {
    target: PathBuf,
    staging: PathBuf,
    command: String,
    committed: bool,
}

impl OutputDir {
    /// Checks that `command` may write `target` and creates a fresh staging
    /// folder beside it, named for this process so that two runs never
    /// share one.
    pub fn begin(target: &Path, command: &str) -> Result<Self> {
        restore_aside(target)?;
        check_target(target, command)?;
        // what killed runs of this output left: their staging folders, and
        // previous outputs moved aside (ours by the marker) that a run
        // killed after putting its own in place did not remove
        for leftover in crate::base::leftovers::of_ended_runs(target, &["staging", "old"]) {
            let aside = leftover.to_string_lossy().contains(".old-");
            if !aside || leftover.join(MARKER).is_file() {
                let _ = std::fs::remove_dir_all(&leftover);
            }
        }
        let staging = sibling(target, "staging")?;
        std::fs::create_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
        Ok(OutputDir {
            target: target.to_path_buf(),
            staging,
            command: command.to_string(),
            committed: false,
        })
    }

    /// Where the output is written before it is put in place.
    pub fn staging(&self) -> &Path {
        &self.staging
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The path in the target of a file written under the staging folder.
    pub fn published_path(&self, staged: &Path) -> PathBuf {
        match staged.strip_prefix(&self.staging) {
            Ok(relative) => self.target.join(relative),
            Err(_) => staged.to_path_buf(),
        }
    }

    /// Records what is staged as a release of `store` (its ledger), before
    /// it is put in place: a publication the ledger does not know never
    /// leaves.
    pub fn record_release(
        &self,
        store: &crate::store::Store,
        scope: crate::store::releases::Scope,
        policy: crate::publish::Policy,
    ) -> Result<()> {
        if !policy.suppression {
            return Ok(()); // internal work, stamped NOT FOR PUBLICATION
        }
        crate::store::releases::record(
            store,
            crate::store::releases::Publication {
                command: self.command.clone(),
                target: self.target.display().to_string(),
                scope,
                min_cell: policy.min_cell,
                protection_width: policy.width(),
                max_noise: policy.perturbation().max_noise,
                files: crate::store::releases::published_files(&self.staging)?,
            },
        )?;
        Ok(())
    }

    /// Writes the marker and puts the staging folder in the target's place.
    pub fn commit(mut self) -> Result<()> {
        let files: Vec<String> = crate::base::files::relative_files(&self.staging)?
            .into_iter()
            .map(|(relative, _)| relative)
            .collect();
        let marker = Marker {
            written_by: self.command.clone(),
            files,
        };
        let path = self.staging.join(MARKER);
        let text = serde_json::to_string_pretty(&marker)
            .map_err(|e| Error::store(&path, e.to_string()))?;
        std::fs::write(&path, text + "\n").map_err(|e| Error::io(&path, e))?;
        // checked again: the target may have changed while we wrote
        check_target(&self.target, &self.command)?;
        let aside = if self.target.exists() {
            let aside = sibling(&self.target, "old")?;
            std::fs::rename(&self.target, &aside).map_err(|e| Error::io(&self.target, e))?;
            crate::store::kill_point("output-after-aside");
            Some(aside)
        } else {
            None
        };
        if let Err(e) = std::fs::rename(&self.staging, &self.target) {
            // put the previous output back where it was
            if let Some(aside) = &aside {
                let _ = std::fs::rename(aside, &self.target);
            }
            return Err(Error::io(&self.target, e));
        }
        self.committed = true;
        sync_parent(&self.target);
        if let Some(aside) = aside {
            // only the files the previous output listed, checked above
            std::fs::remove_dir_all(&aside).map_err(|e| Error::io(&aside, e))?;
        }
        Ok(())
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.committed {
            // the staging folder is this process's own
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

/// A run killed between moving the previous output aside and moving the
/// new one in leaves no target but the old output beside it: put it back,
/// so the target is never lost. Only a folder of ours (with a marker).
fn restore_aside(target: &Path) -> Result<()> {
    if target.exists() {
        return Ok(());
    }
    let (Some(parent), Some(name)) = (target.parent(), target.file_name()) else {
        return Ok(());
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let prefix = format!(".{}.old-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Ok(());
    };
    let mut aside: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
                && p.join(MARKER).is_file()
        })
        .collect();
    aside.sort();
    if let Some(latest) = aside.last() {
        std::fs::rename(latest, target).map_err(|e| Error::io(target, e))?;
    }
    Ok(())
}

/// Writes a document's outputs into `dir`: each table as `tables/NAME.csv`,
/// all of them as `STEM.xlsx`, each chart (already drawn) as
/// `charts/NAME.svg` and `.png`, and the document as `STEM.md` and
/// `STEM.html`. What the report, the gaps and a comparison all write;
/// returns the files in that order.
pub fn write_document(
    dir: &Path,
    stem: &str,
    doc: &crate::publish::render::Document<'_>,
) -> Result<Vec<PathBuf>> {
    use crate::publish::{charts, render};
    let tables_dir = dir.join("tables");
    let charts_dir = dir.join("charts");
    for folder in [dir, &tables_dir, &charts_dir] {
        std::fs::create_dir_all(folder).map_err(|e| Error::io(folder, e))?;
    }
    let mut written = Vec::new();
    let svg_of = |chart: &charts::Chart| charts_dir.join(format!("{}.svg", chart.name));
    let png_of = |chart: &charts::Chart| charts_dir.join(format!("{}.png", chart.name));
    // The charts' PNGs are drawn on a thread of their own beside the other
    // files: drawing them was the largest part of writing a report, on one
    // core. The files are the same; an error is reported as it was, the
    // first in the order the files were written one after another.
    let (tables_and_svgs, pngs, documents) = std::thread::scope(|scope| {
        let pngs = scope.spawn(|| {
            doc.charts
                .iter()
                .try_for_each(|chart| charts::write_png(chart, &png_of(chart)))
        });
        let tables_and_svgs = (|| -> Result<()> {
            for table in doc.tables {
                let path = tables_dir.join(format!("{}.csv", table.spec.name));
                render::write_csv(table, doc.policy, &path)?;
                written.push(path);
            }
            let xlsx = dir.join(format!("{stem}.xlsx"));
            render::write_xlsx(doc, &xlsx)?;
            written.push(xlsx);
            for chart in doc.charts {
                let svg = svg_of(chart);
                std::fs::write(&svg, &chart.svg).map_err(|e| Error::io(&svg, e))?;
                written.extend([svg, png_of(chart)]);
            }
            Ok(())
        })();
        let documents = (|| -> Result<()> {
            if tables_and_svgs.is_err() {
                return Ok(()); // the error reported is that one
            }
            let md = dir.join(format!("{stem}.md"));
            std::fs::write(&md, render::markdown_document(doc)).map_err(|e| Error::io(&md, e))?;
            let html = dir.join(format!("{stem}.html"));
            std::fs::write(&html, render::html_document(doc, &format!("{stem}.xlsx")))
                .map_err(|e| Error::io(&html, e))?;
            written.extend([md, html]);
            Ok(())
        })();
        let pngs = pngs
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (tables_and_svgs, pngs, documents)
    });
    tables_and_svgs?;
    pngs?;
    documents?;
    Ok(written)
}

/// Refuses a target that is not a folder `command` may replace.
fn check_target(target: &Path, command: &str) -> Result<()> {
    if !target.exists() {
        return Ok(());
    }
    let refuse = |why: String| {
        Err(Error::Usage(format!(
            "--out {}: {why}; safetynet never deletes what it did not write. Choose a new or empty folder",
            target.display()
        )))
    };
    if !target.is_dir() {
        return refuse("is a file, not a folder".into());
    }
    let on_disk: Vec<String> = crate::base::files::relative_files(target)?
        .into_iter()
        .map(|(relative, _)| relative)
        .collect();
    let empty_dirs_only = on_disk.is_empty();
    let marker_path = target.join(MARKER);
    if !marker_path.exists() {
        if empty_dirs_only
            && std::fs::read_dir(target)
                .map_err(|e| Error::io(target, e))?
                .next()
                .is_none()
        {
            return Ok(());
        }
        return refuse(format!(
            "is not empty and was not written by `safetynet {command}` (it holds {})",
            sample(&on_disk)
        ));
    }
    let text = std::fs::read_to_string(&marker_path).map_err(|e| Error::io(&marker_path, e))?;
    let marker: Marker = serde_json::from_str(&text)
        .map_err(|e| Error::bad_input(&marker_path, format!("not an output marker: {e}")))?;
    if marker.written_by != command {
        return refuse(format!(
            "holds the output of `safetynet {}`, not of `safetynet {command}`",
            marker.written_by
        ));
    }
    let ours: BTreeSet<&str> = marker.files.iter().map(String::as_str).collect();
    let foreign: Vec<String> = on_disk
        .into_iter()
        .filter(|f| f != MARKER && !ours.contains(f.as_str()))
        .collect();
    if !foreign.is_empty() {
        return refuse(format!(
            "holds files safetynet did not write ({})",
            sample(&foreign)
        ));
    }
    Ok(())
}

fn sample(files: &[String]) -> String {
    let mut text = files.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if files.len() > 5 {
        text += &format!(" and {} more", files.len() - 5);
    }
    text
}

/// A hidden folder beside `target`, unique to this process and moment.
fn sibling(target: &Path, role: &str) -> Result<PathBuf> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            Error::Usage(format!(
                "--out {}: name a folder, not a root or `..`",
                target.display()
            ))
        })?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    // the clock first, so that names sort by time
    Ok(target.with_file_name(format!(".{name}.{role}-{nanos:020}-{}", std::process::id())))
}

/// Makes the renames in the target's parent folder durable.
fn sync_parent(target: &Path) {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = std::fs::File::open(parent) {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A document of no table and two charts.
    fn two_charts() -> Vec<crate::publish::charts::Chart> {
        ["a", "b"]
            .iter()
            .map(|name| {
                let rows = vec![("a place".to_string(), 12.0, 12.0, false)];
                crate::publish::charts::ranked(name, "A chart", "", rows)
            })
            .collect()
    }

    fn document(charts: &[crate::publish::charts::Chart]) -> crate::publish::render::Document<'_> {
        crate::publish::render::Document {
            title: "t",
            logo: None,
            scope: "s".into(),
            caveat: "",
            policy: Default::default(),
            charts,
            tables: &[],
            sections: Vec::new(),
            profiles: Default::default(),
            key_figures: Default::default(),
            reader_tables: Default::default(),
        }
    }

    /// The PNGs are drawn beside the other files: every file is written
    /// and listed in the order of writing them one after another, and of
    /// two failures the one of the file written first is reported.
    #[test]
    fn a_documents_files_come_in_order_and_the_first_failure_is_the_error() {
        let charts = two_charts();
        let dir = tempfile::tempdir().unwrap();
        let written = write_document(dir.path(), "doc", &document(&charts)).unwrap();
        let names: Vec<String> = written
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "doc.xlsx",
                "charts/a.svg",
                "charts/a.png",
                "charts/b.svg",
                "charts/b.png",
                "doc.md",
                "doc.html"
            ]
        );
        for png in ["charts/a.png", "charts/b.png"] {
            let bytes = std::fs::read(dir.path().join(png)).unwrap();
            assert!(bytes.starts_with(b"\x89PNG"), "{png}");
        }
        // a PNG that cannot be written is the error
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("charts/b.png")).unwrap();
        let error = write_document(dir.path(), "doc", &document(&charts)).unwrap_err();
        assert!(matches!(error, Error::Chart(_)), "{error}");
        // and the workbook's, written before the charts, when both fail
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("charts/b.png")).unwrap();
        std::fs::create_dir_all(dir.path().join("doc.xlsx")).unwrap();
        let error = write_document(dir.path(), "doc", &document(&charts)).unwrap_err();
        assert!(error.to_string().contains("doc.xlsx"), "{error}");
        assert!(!matches!(error, Error::Chart(_)), "{error}");
    }

    fn write_output(target: &Path, command: &str, files: &[&str]) -> Result<()> {
        let out = OutputDir::begin(target, command)?;
        for f in files {
            let path = out.staging().join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, f).unwrap();
        }
        out.commit()
    }

    #[test]
    fn a_new_folder_is_written_with_its_marker() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        write_output(&target, "report", &["a.csv", "tables/b.csv"]).unwrap();
        let marker: Marker =
            serde_json::from_str(&std::fs::read_to_string(target.join(MARKER)).unwrap()).unwrap();
        assert_eq!(marker.files, vec!["a.csv", "tables/b.csv"]);
        // nothing left beside it
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_previous_output_is_replaced_and_stale_files_go() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        write_output(&target, "report", &["a.csv", "old.csv"]).unwrap();
        write_output(&target, "report", &["a.csv"]).unwrap();
        assert!(target.join("a.csv").exists());
        assert!(!target.join("old.csv").exists());
    }

    #[test]
    fn a_folder_with_someone_elses_files_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("my_notes.txt"), "mine").unwrap();
        let err = write_output(&target, "report", &["a.csv"]).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{err}");
        assert!(err.to_string().contains("my_notes.txt"), "{err}");
        assert_eq!(
            std::fs::read_to_string(target.join("my_notes.txt")).unwrap(),
            "mine"
        );
        assert!(!target.join("a.csv").exists());
    }

    #[test]
    fn a_file_added_to_a_previous_output_is_never_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        write_output(&target, "report", &["a.csv"]).unwrap();
        std::fs::write(target.join("thesis.docx"), "mine").unwrap();
        let err = write_output(&target, "report", &["a.csv"]).unwrap_err();
        assert!(err.to_string().contains("thesis.docx"), "{err}");
        assert!(target.join("thesis.docx").exists());
    }

    #[test]
    fn another_commands_output_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        write_output(&target, "gaps", &["a.csv"]).unwrap();
        let err = write_output(&target, "report", &["a.csv"]).unwrap_err();
        assert!(err.to_string().contains("safetynet gaps"), "{err}");
    }

    #[test]
    fn an_empty_folder_and_a_failed_write_leave_no_staging() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        std::fs::create_dir(&target).unwrap();
        {
            let out = OutputDir::begin(&target, "report").unwrap();
            std::fs::write(out.staging().join("x"), "x").unwrap();
            // dropped without commit: a failure
        }
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        write_output(&target, "report", &["a.csv"]).unwrap();
        assert!(target.join("a.csv").exists());
    }
}
