//! `dae eval` on a tabular run: the GAIN protocol ([`super::eval`]) on the run's held-out rows or
//! on another table, per corruption, with the downstream probes, and the hidden entries exported
//! for `scripts/tabular_sklearn.py` (which scores scikit-learn's imputers on the same entries).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::corrupt::{RowContext, TableNoise};
use super::csv::RawTable;
use super::eval::{evaluate, hide, impute_sampled, merge, Draws, Hidden, TabularEvalRecord};
use super::preprocess::{parse_number, Column, Encoding};
use super::probe::probe_scores;
use super::task::{split_table, LoadedTabular};
use crate::{Error, Result};

/// What to evaluate.
#[derive(Clone, Debug, Default)]
pub struct TabularEvalOptions {
    /// Corruptions (empty: `missing:rate=0.2`, the GAIN protocol).
    pub noise: Vec<TableNoise>,
    /// A table to evaluate all rows of (default: the run's held-out rows).
    pub data: Option<PathBuf>,
    /// Seeds per corruption (the protocol: 10).
    pub seeds: usize,
    /// First evaluation seed.
    pub seed: u64,
    /// Rounds of iterative refinement to score.
    pub refine: usize,
    /// Passes averaged per imputation (multiple imputation, [`impute_sampled`]; 0 or 1: one).
    pub samples: usize,
    /// Where to write the hidden entries and the numeric values for the scikit-learn script.
    pub write_masks: Option<PathBuf>,
}

/// The exported protocol: numeric columns only, values in original units (`None`: missing).
#[derive(Serialize)]
struct MaskExport<'a> {
    columns: Vec<&'a str>,
    min: Vec<f64>,
    max: Vec<f64>,
    train: Vec<Vec<Option<f64>>>,
    test: Vec<Vec<Option<f64>>>,
    specs: Vec<SpecMasks>,
}

#[derive(Serialize)]
struct SpecMasks {
    noise: String,
    /// Per seed, per test row, the hidden numeric entries (1) in `columns` order.
    masks: Vec<Vec<Vec<u8>>>,
}

fn numeric_values(table: &RawTable, rows: &[usize], columns: &[&Column]) -> Vec<Vec<Option<f64>>> {
    rows.iter()
        .map(|&r| {
            columns
                .iter()
                .map(|c| parse_number(&table.rows[r][c.source]))
                .collect()
        })
        .collect()
}

/// Evaluates the run under every corruption; `on_record` gets each record as it is measured.
pub fn evaluate_run(
    run: &LoadedTabular,
    options: &TabularEvalOptions,
    on_record: &mut dyn FnMut(&TabularEvalRecord),
) -> Result<Vec<TabularEvalRecord>> {
    if options.seeds == 0 {
        return Err(Error::Config("--seeds must be at least 1".into()));
    }
    let p = &run.preprocess;
    let own = super::data::load(run.config.run.data.as_deref())?;
    p.check_header(&own, "the run's table")?;
    let parts = split_table(&run.config, p, &own);
    let (table, rows) = match &options.data {
        Some(path) => {
            let t = RawTable::read(path)?;
            p.check_header(&t, &path.display().to_string())?;
            let rows = (0..t.rows.len()).collect();
            (t, rows)
        }
        None => (own.clone(), parts.val_rows.clone()),
    };
    let clean = p.cells(&table, &rows);
    let numeric: Vec<bool> = p.columns.iter().map(Column::is_numeric).collect();
    let context = RowContext {
        numeric: &numeric,
        donors: &parts.train,
    };
    let train_labels = p.target_classes(&own, &parts.train_rows);
    let test_labels = p.target_classes(&table, &rows);
    let default = [TableNoise::parse("missing:rate=0.2")?];
    let specs = if options.noise.is_empty() {
        &default[..]
    } else {
        &options.noise[..]
    };
    let mut records = Vec::new();
    let mut exported = Vec::new();
    for noise in specs {
        let draws = Draws {
            seeds: options.seeds,
            first_seed: options.seed,
            refine: options.refine,
            samples: options.samples,
        };
        let (mut record, masks) = evaluate(run, &parts.train, &clean, noise, draws);
        let Hidden {
            noisy,
            hidden,
            holes,
        } = hide(noise, &clean, &context, options.seed);
        let (dae, _) = impute_sampled(run, &parts.train, &noisy, options.samples, options.seed);
        record.probe = probe_scores(
            run,
            (&parts.train, &train_labels),
            (&clean, &test_labels),
            &holes,
            &merge(&noisy, &hidden, &dae),
        )?;
        on_record(&record);
        exported.push(SpecMasks {
            noise: noise.to_string(),
            masks: masks
                .iter()
                .map(|m| {
                    m.hidden
                        .chunks(clean.cols)
                        .map(|row| {
                            (0..row.len())
                                .filter(|&j| numeric[j])
                                .map(|j| u8::from(row[j]))
                                .collect()
                        })
                        .collect()
                })
                .collect(),
        });
        records.push(record);
    }
    if let Some(path) = &options.write_masks {
        let columns: Vec<&Column> = p.columns.iter().filter(|c| c.is_numeric()).collect();
        let bound = |c: &&Column, low: bool| match c.encoding {
            Encoding::Numeric { min, max, .. } => {
                if low {
                    min
                } else {
                    max
                }
            }
            Encoding::Categorical { .. } => 0.0,
        };
        let export = MaskExport {
            columns: columns.iter().map(|c| c.name.as_str()).collect(),
            min: columns.iter().map(|c| bound(c, true)).collect(),
            max: columns.iter().map(|c| bound(c, false)).collect(),
            train: numeric_values(&own, &parts.train_rows, &columns),
            test: numeric_values(&table, &rows, &columns),
            specs: exported,
        };
        write_export(path, &export)?;
    }
    Ok(records)
}

fn write_export(path: &Path, export: &MaskExport) -> Result<()> {
    let json = crate::json::to_string(export)
        .map_err(|e| Error::Config(format!("cannot serialize {}: {e}", path.display())))?;
    crate::fsio::write_atomic(path, json.as_bytes())
}
