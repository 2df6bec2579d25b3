//! `dae impute`: fill every missing cell of a table with a trained run, keeping everything else
//! exactly as written: every given cell bit-for-bit, the header, the row and column order, the
//! line ends. The target column is not an input of the model and is left as it is.

use std::path::Path;

use super::csv::{is_missing, RawTable};
use super::eval::{impute_cells, impute_sampled, merge};
use super::preprocess::Cells;
use super::task::{split_table, LoadedTabular};
use crate::Result;

/// What an imputation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImputeSummary {
    /// Rows of the table.
    pub rows: usize,
    /// Cells filled.
    pub filled: usize,
    /// Missing cells of the target column, left missing.
    pub target_missing: usize,
}

/// How `dae impute` fills a table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImputeOptions {
    /// Rounds of iterative refinement (each round re-feeds the imputed table and takes the
    /// model's new values for the filled cells).
    pub refine: usize,
    /// Passes averaged (multiple imputation, [`impute_sampled`]; 0 or 1: one pass).
    pub samples: usize,
    /// The seed of the passes' further corruption (with `samples` > 1).
    pub seed: u64,
}

/// The table with every missing input cell filled by the run's model (see [`ImputeOptions`]).
pub fn impute_table(
    run: &LoadedTabular,
    table: &RawTable,
    options: ImputeOptions,
) -> Result<(RawTable, ImputeSummary)> {
    let p = &run.preprocess;
    p.check_header(table, "the table to impute")?;
    let rows: Vec<usize> = (0..table.rows.len()).collect();
    let cells = p.cells(table, &rows);
    let columns = &p.columns;
    let none = vec![false; cells.values.len()];
    // Swap noise in the passes draws from the run's training rows; one pass needs none.
    let donors = if options.samples > 1 {
        let own = super::data::load(run.config.run.data.as_deref())?;
        p.check_header(&own, "the run's table")?;
        split_table(&run.config, p, &own).train
    } else {
        Cells::new(0, columns.len())
    };
    let (mut imputed, _) = impute_sampled(run, &donors, &cells, options.samples, options.seed);
    let refine = options.refine;
    for _ in 0..refine {
        let again = merge(&cells, &none, &imputed);
        imputed = impute_cells(&run.model, &run.layout, columns, &again, &run.device).0;
    }
    let mut out = table.clone();
    let mut filled = 0;
    for (r, row) in out.rows.iter_mut().enumerate() {
        for (j, c) in columns.iter().enumerate() {
            if is_missing(&row[c.source]) {
                row[c.source] = c.decode(imputed.values[r * cells.cols + j]);
                filled += 1;
            }
        }
    }
    let target_missing = p.target.as_ref().map_or(0, |t| {
        table
            .rows
            .iter()
            .filter(|row| is_missing(&row[t.source]))
            .count()
    });
    Ok((
        out,
        ImputeSummary {
            rows: table.rows.len(),
            filled,
            target_missing,
        },
    ))
}

/// Reads `input`, imputes it and writes the result to `output` atomically (nothing is written
/// if anything fails).
pub fn impute_file(
    run: &LoadedTabular,
    input: &Path,
    output: &Path,
    options: ImputeOptions,
) -> Result<ImputeSummary> {
    let table = RawTable::read(input)?;
    let (filled, summary) = impute_table(run, &table, options)?;
    crate::fsio::write_atomic(output, filled.to_csv().as_bytes())?;
    Ok(summary)
}
