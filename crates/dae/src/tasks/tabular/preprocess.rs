//! The fitted preprocessing of a table (`preprocess.json` in the run directory): which columns
//! are numeric and which categorical, each numeric column's mean and spread, each categorical
//! column's labels. Fitted on the training rows only; `dae impute` and `dae eval` apply the same
//! transform and write values back in original units and labels.
//!
//! Type detection (docs/tabular.md): a column is numeric when at least [`NUMERIC_SHARE`] of its
//! given fields parse as finite numbers, else categorical; `--numeric` / `--categorical` override
//! it. A field of a numeric column that is not a number (a label such as `unknown` among
//! numbers) is treated as missing by the model and kept as written by `dae impute`.

use serde::{Deserialize, Serialize};

use super::csv::{is_missing, RawTable};
use super::transform::{InputMap, InputTransform};
use crate::{Error, Result};

/// The share of a column's given fields that must be numbers for it to be numeric.
pub const NUMERIC_SHARE: f64 = 0.9;
/// The most labels a categorical column may have (one output per label).
pub const MAX_CATEGORIES: usize = 1000;

/// How one input column is encoded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Encoding {
    /// Standardized: (x − mean) / spread, the spread 1 for a constant column.
    Numeric {
        /// Mean of the training values.
        mean: f64,
        /// Standard deviation of the training values, or 1 where it is 0.
        spread: f64,
        /// Smallest training value (the min-max scale of the evaluation).
        min: f64,
        /// Largest training value.
        max: f64,
        /// Most digits after the decimal point among the training values (imputed values are
        /// written with as many).
        decimals: u8,
        /// What the model's input sees instead of the standardized value (`--input-transform`;
        /// absent: the standardized value).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        input: Option<InputMap>,
    },
    /// One-hot over the training labels, in sorted order.
    Categorical {
        /// The labels.
        labels: Vec<String>,
    },
}

/// One input column: its name, its position in the file, its encoding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// The header's name.
    pub name: String,
    /// Its index among the file's columns.
    pub source: usize,
    /// How it is encoded.
    pub encoding: Encoding,
}

impl Column {
    /// Whether the column is numeric.
    pub fn is_numeric(&self) -> bool {
        matches!(self.encoding, Encoding::Numeric { .. })
    }

    /// The column's value of `field` in model units (standardized number or label index), or
    /// `None` where the model sees it as missing (a missing marker, a label in a numeric column,
    /// a label unseen in training).
    pub fn encode(&self, field: &str) -> Option<f32> {
        if is_missing(field) {
            return None;
        }
        match &self.encoding {
            Encoding::Numeric { mean, spread, .. } => {
                parse_number(field).map(|x| ((x - mean) / spread) as f32)
            }
            Encoding::Categorical { labels } => labels
                .binary_search_by(|l| l.as_str().cmp(field.trim()))
                .ok()
                .map(|i| i as f32),
        }
    }

    /// The text of a model value: a number in original units with the column's decimals, or
    /// the label of a category index.
    pub fn decode(&self, value: f32) -> String {
        match &self.encoding {
            Encoding::Numeric {
                mean,
                spread,
                decimals,
                ..
            } => {
                let x = f64::from(value) * spread + mean;
                let text = format!("{x:.*}", *decimals as usize);
                // "-0" reads oddly in a table.
                if text.trim_start_matches(['-', '0', '.']).is_empty() {
                    text.trim_start_matches('-').to_string()
                } else {
                    text
                }
            }
            Encoding::Categorical { labels } => {
                labels[(value.max(0.0) as usize).min(labels.len() - 1)].clone()
            }
        }
    }

    /// Slots the column takes in the model's encoded input and output (1, or its labels).
    pub fn width(&self) -> usize {
        match &self.encoding {
            Encoding::Numeric { .. } => 1,
            Encoding::Categorical { labels } => labels.len(),
        }
    }
}

/// A finite number, or `None`.
pub fn parse_number(field: &str) -> Option<f64> {
    field.trim().parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Columns forced to one type (`--numeric`, `--categorical`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TypeOverrides {
    /// Columns read as numbers whatever they hold.
    #[serde(default)]
    pub numeric: Vec<String>,
    /// Columns read as labels whatever they hold.
    #[serde(default)]
    pub categorical: Vec<String>,
}

/// The target column, kept out of the inputs: its class labels, for the probes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// The header's name.
    pub name: String,
    /// Its index among the file's columns.
    pub source: usize,
    /// The training rows' labels, sorted.
    pub classes: Vec<String>,
}

/// The fitted preprocessing: every input column and the target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preprocess {
    /// The file's header, in order (a table given to `dae impute` must have the same).
    pub header: Vec<String>,
    /// The input columns, in file order.
    pub columns: Vec<Column>,
    /// The target column, if any.
    pub target: Option<Target>,
}

impl Preprocess {
    /// Fits the preprocessing on the rows `train` of `table`; `target` is left out of the
    /// inputs. Errors name the column: an all-missing column, an unknown override or target,
    /// too many labels.
    pub fn fit(
        table: &RawTable,
        train: &[usize],
        target: Option<&str>,
        overrides: &TypeOverrides,
    ) -> Result<Preprocess> {
        let target_index = target.map(|t| table.column(t)).transpose()?;
        for name in overrides.numeric.iter().chain(&overrides.categorical) {
            table.column(name)?;
            if overrides.numeric.contains(name) && overrides.categorical.contains(name) {
                return Err(Error::Config(format!(
                    "column `{name}` is given to both --numeric and --categorical"
                )));
            }
        }
        let mut columns = Vec::new();
        for (j, name) in table.header.iter().enumerate() {
            let given: Vec<&str> = train
                .iter()
                .map(|&r| table.rows[r][j].as_str())
                .filter(|f| !is_missing(f))
                .collect();
            if !table.rows.iter().any(|row| !is_missing(&row[j])) {
                return Err(Error::Config(format!(
                    "column `{name}` is missing in every row; drop it from the table"
                )));
            }
            if given.is_empty() {
                return Err(Error::Config(format!(
                    "column `{name}` is missing in every training row; nothing to learn it from"
                )));
            }
            if Some(j) == target_index {
                continue;
            }
            let numeric = if overrides.numeric.contains(name) {
                true
            } else if overrides.categorical.contains(name) {
                false
            } else {
                looks_numeric(&given)
            };
            let encoding = if numeric {
                numeric_encoding(&given)
            } else {
                Encoding::Categorical {
                    labels: labels_of(&given, name)?,
                }
            };
            columns.push(Column {
                name: name.clone(),
                source: j,
                encoding,
            });
        }
        if columns.is_empty() {
            return Err(Error::Config(
                "the table has no input column besides the target".into(),
            ));
        }
        let target = match target_index {
            Some(j) => {
                let given: Vec<&str> = train
                    .iter()
                    .map(|&r| table.rows[r][j].as_str())
                    .filter(|f| !is_missing(f))
                    .collect();
                Some(Target {
                    name: table.header[j].clone(),
                    source: j,
                    classes: labels_of(&given, &table.header[j])?,
                })
            }
            None => None,
        };
        Ok(Preprocess {
            header: table.header.clone(),
            columns,
            target,
        })
    }

    /// Fits `transform` on the training rows `train` of every numeric column whose skewness is
    /// above `min_skew` (see [`InputMap::fit`]); the other columns' inputs stay standardized.
    pub fn fit_input_maps(
        &mut self,
        table: &RawTable,
        train: &[usize],
        transform: InputTransform,
        min_skew: f64,
    ) {
        for c in &mut self.columns {
            if let Encoding::Numeric { input, .. } = &mut c.encoding {
                let xs: Vec<f64> = train
                    .iter()
                    .filter_map(|&r| parse_number(&table.rows[r][c.source]))
                    .collect();
                *input = InputMap::fit(transform, &xs, min_skew);
            }
        }
    }

    /// Errors unless `table` has this preprocessing's header, in order.
    pub fn check_header(&self, table: &RawTable, what: &str) -> Result<()> {
        if table.header == self.header {
            return Ok(());
        }
        Err(Error::Config(format!(
            "{what} has the columns {} but the run was trained on {}",
            table.header.join(", "),
            self.header.join(", ")
        )))
    }

    /// The rows of `table` in model units (see [`Cells`]).
    pub fn cells(&self, table: &RawTable, rows: &[usize]) -> Cells {
        let mut cells = Cells::new(rows.len(), self.columns.len());
        for (i, &r) in rows.iter().enumerate() {
            for (j, c) in self.columns.iter().enumerate() {
                if let Some(v) = c.encode(&table.rows[r][c.source]) {
                    cells.values[i * cells.cols + j] = v;
                    cells.observed[i * cells.cols + j] = true;
                }
            }
        }
        cells
    }

    /// The class index of each row's target (`None`: missing or unseen in training).
    pub fn target_classes(&self, table: &RawTable, rows: &[usize]) -> Vec<Option<usize>> {
        let Some(t) = &self.target else {
            return vec![None; rows.len()];
        };
        rows.iter()
            .map(|&r| {
                let field = table.rows[r][t.source].trim();
                t.classes.binary_search_by(|c| c.as_str().cmp(field)).ok()
            })
            .collect()
    }
}

/// Rows × columns of model values with what is observed: a numeric cell holds its standardized
/// value, a categorical one its label index; an unobserved cell holds 0.
#[derive(Clone, Debug, PartialEq)]
pub struct Cells {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// The values, row-major.
    pub values: Vec<f32>,
    /// Whether each value is observed.
    pub observed: Vec<bool>,
}

impl Cells {
    /// `rows` × `cols` cells, all unobserved.
    pub fn new(rows: usize, cols: usize) -> Cells {
        Cells {
            rows,
            cols,
            values: vec![0.0; rows * cols],
            observed: vec![false; rows * cols],
        }
    }
}

fn looks_numeric(given: &[&str]) -> bool {
    let numbers = given.iter().filter(|f| parse_number(f).is_some()).count();
    numbers > 0 && numbers as f64 >= NUMERIC_SHARE * given.len() as f64
}

fn numeric_encoding(given: &[&str]) -> Encoding {
    let xs: Vec<f64> = given.iter().filter_map(|f| parse_number(f)).collect();
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    let decimals = given
        .iter()
        .filter(|f| parse_number(f).is_some())
        .map(|f| decimals_of(f.trim()))
        .max()
        .unwrap_or(0);
    Encoding::Numeric {
        mean,
        // A constant column (or a single value) has no spread: leave its values centred.
        spread: if sd > 1e-12 { sd } else { 1.0 },
        min: xs.iter().copied().fold(f64::INFINITY, f64::min).min(mean),
        max: xs
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
            .max(mean),
        decimals,
        input: None,
    }
}

/// Digits after the decimal point of a number as written (`1.50` → 2, `2e-3` → 3).
fn decimals_of(text: &str) -> u8 {
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let after = mantissa.split_once('.').map_or(0, |(_, f)| f.len()) as i32;
    (after - exponent).clamp(0, 15) as u8
}

fn labels_of(given: &[&str], name: &str) -> Result<Vec<String>> {
    let mut labels: Vec<String> = given.iter().map(|f| f.trim().to_string()).collect();
    labels.sort();
    labels.dedup();
    if labels.len() > MAX_CATEGORIES {
        return Err(Error::Config(format!(
            "column `{name}` has {} distinct labels, more than {MAX_CATEGORIES}; if it holds \
             numbers, give --numeric {name}, else drop it (an identifier)",
            labels.len()
        )));
    }
    Ok(labels)
}

#[cfg(test)]
#[path = "preprocess_tests.rs"]
mod tests;
