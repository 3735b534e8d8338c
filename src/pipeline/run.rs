//! `safetynet run`: the whole pipeline from a config file. Reclassify the
//! store when the rules changed, ingest every input (each may have its own
//! layout), import the directory of organisations, and publish the report.

use crate::classify::reclassify::{ClassifySummary, reclassify};
use crate::classify::rules::Rules;
use crate::directory::ImportSummary;
use crate::error::Result;
use crate::input::ingest::{IngestOptions, ingest, resolve_layout};
use crate::pipeline::config::Config;
use crate::report::Published;
use crate::sql::engine::EngineSettings;
use crate::store::{Counts, Store};

/// What one run did, step by step.
pub struct RunSummary {
    /// Set when the store was reclassified because the rules changed.
    pub reclassified: Option<ClassifySummary>,
    /// Totals over every input.
    pub ingested: Counts,
    pub directory: Option<ImportSummary>,
    pub report: Published,
}

pub fn run(config: &Config, engine: EngineSettings, show_progress: bool) -> Result<RunSummary> {
    // checked before anything is changed, so a typo in the config's report
    // table does not leave a half-run pipeline behind
    let report_options = config.report_options(engine)?;
    let rules = Rules::load(config.rules.as_deref())?;
    let reclassified = {
        let store = Store::open_or_new(&config.store)?;
        if store.exists() && store.manifest().rules_sha256 != rules.sha256 {
            Some(reclassify(&store, &rules, show_progress, 0)?)
        } else {
            None
        }
    };
    let mut ingested = Counts::default();
    for input in &config.inputs {
        let (container, mapping) = resolve_layout(input.format, input.mapping.as_deref())?;
        let summary = ingest(
            &config.store,
            std::slice::from_ref(&input.path),
            &IngestOptions {
                format: container,
                mapping,
                country: input.country.clone(),
                read: Default::default(),
                rules: &rules,
                show_progress,
            },
        )?;
        ingested.add(&summary.totals);
    }
    let directory = match &config.directory {
        Some(file) => Some(crate::directory::import(
            &config.store,
            file,
            &Default::default(),
        )?),
        None => None,
    };
    let store = Store::open(&config.store)?;
    let report = crate::report::publish(&store, &config.out, &report_options)?;
    Ok(RunSummary {
        reclassified,
        ingested,
        directory,
        report,
    })
}
