//! `bench classify`: classification throughput on generated records. Only
//! the classification of Arrow batches is timed; generating the records and
//! building the batches is not.

use std::time::Instant;

use serde::Serialize;

use crate::classify::classifier::Classifier;
use crate::classify::rules::Rules;
use crate::error::Result;
use crate::generate::{self, GenerateOptions};

#[derive(Debug, Clone, Serialize)]
pub struct ClassifyBench {
    pub records: u64,
    pub seconds: f64,
    pub records_per_second: f64,
}

pub fn classify(records: u64, seed: u64, rules: &Rules) -> Result<ClassifyBench> {
    let options = GenerateOptions {
        records,
        seed,
        countries: vec!["US".into(), "MX".into(), "CA".into()],
        first_year: 2015,
        last_year: 2024,
        out: std::path::PathBuf::new(),
        layout: None,
        coarse: false,
        show_progress: false,
    };
    let mut classifier = Classifier::new(rules);
    let mut stream = generate::records(&options);
    let mut elapsed = 0.0;
    let mut done = 0u64;
    loop {
        let chunk: Vec<_> = stream.by_ref().take(65_536).collect();
        if chunk.is_empty() {
            break;
        }
        let batch = crate::base::batch::base_batch(&chunk)?;
        let start = Instant::now();
        let classified = classifier.classify_batch(&batch)?;
        elapsed += start.elapsed().as_secs_f64();
        done += classified.num_rows() as u64;
    }
    Ok(ClassifyBench {
        records: done,
        seconds: elapsed,
        records_per_second: done as f64 / elapsed.max(1e-9),
    })
}
