//! The MLP denoising autoencoder of tables (the MIDA design as options: over-complete hidden
//! layers, dropout on the input). Its input is the encoded row (standardized numbers, one-hot
//! labels, zeros where an entry is missing or hidden) followed by one observed/missing indicator
//! per column; its output has one value per numeric column (the MSE head) and one logit per label
//! of each categorical column (the cross-entropy heads), in column order.

use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use serde::{Deserialize, Serialize};

use super::preprocess::{Cells, Column, Encoding};
use crate::kernels::{linear, Activation};
use crate::limits::{product, sum, MAX_ACTIVATIONS, MAX_MODEL_PARAMS};
use crate::{Error, Result};

/// Sizes of a [`TabularDae`]; stored in a tabular run's `config.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TabularModelConfig {
    /// Width of every hidden layer (over-complete when above the input width).
    pub hidden: usize,
    /// Hidden layers of the encoder (the decoder mirrors them).
    pub layers: usize,
    /// Width of the code z (the representation the probes read).
    pub code: usize,
    /// Dropout on the input, MIDA's (0 disables).
    pub input_dropout: f64,
}

impl Default for TabularModelConfig {
    /// Two over-complete hidden layers of 256 around a code of 128, no input dropout.
    fn default() -> Self {
        TabularModelConfig {
            hidden: 256,
            layers: 2,
            code: 128,
            input_dropout: 0.0,
        }
    }
}

/// The slot layout of the encoded row for a list of columns.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// First slot of each column.
    pub offsets: Vec<usize>,
    /// Width of each column (1 numeric, else its labels).
    pub widths: Vec<usize>,
    /// Total slots of the values (the output width).
    pub slots: usize,
}

impl Layout {
    /// The layout of `columns`.
    pub fn of(columns: &[Column]) -> Layout {
        let widths: Vec<usize> = columns.iter().map(Column::width).collect();
        let mut offsets = Vec::with_capacity(widths.len());
        let mut at = 0;
        for w in &widths {
            offsets.push(at);
            at += w;
        }
        Layout {
            offsets,
            widths,
            slots: at,
        }
    }

    /// The model's input width: the slots and one indicator per column.
    pub fn input_width(&self) -> usize {
        self.slots + self.widths.len()
    }

    /// The model input of `cells` (row-major, [`Layout::input_width`] per row).
    pub fn encode(&self, columns: &[Column], cells: &Cells) -> Vec<f32> {
        let width = self.input_width();
        let mut out = vec![0.0; cells.rows * width];
        for r in 0..cells.rows {
            let row = &mut out[r * width..(r + 1) * width];
            for (j, c) in columns.iter().enumerate() {
                let at = r * cells.cols + j;
                if !cells.observed[at] {
                    continue;
                }
                row[self.slots + j] = 1.0;
                let v = cells.values[at];
                match &c.encoding {
                    Encoding::Numeric {
                        input: Some(map),
                        mean,
                        spread,
                        ..
                    } => row[self.offsets[j]] = map.apply(f64::from(v) * spread + mean),
                    Encoding::Numeric { .. } => row[self.offsets[j]] = v,
                    Encoding::Categorical { .. } => row[self.offsets[j] + v as usize] = 1.0,
                }
            }
        }
        out
    }

    /// Reads model outputs back into cells: the value of each numeric slot, the most probable
    /// label of each categorical column; every cell observed.
    pub fn decode(&self, columns: &[Column], outputs: &[f32], rows: usize) -> Cells {
        let mut cells = Cells::new(rows, columns.len());
        for r in 0..rows {
            let row = &outputs[r * self.slots..(r + 1) * self.slots];
            for (j, c) in columns.iter().enumerate() {
                let slots = &row[self.offsets[j]..self.offsets[j] + self.widths[j]];
                cells.values[r * columns.len() + j] = if c.is_numeric() {
                    slots[0]
                } else {
                    argmax(slots) as f32
                };
                cells.observed[r * columns.len() + j] = true;
            }
        }
        cells
    }
}

/// The index of the largest value (the first of ties).
pub fn argmax(xs: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x > xs[best] {
            best = i;
        }
    }
    best
}

/// The table DAE: encoder to a code, decoder to the heads.
#[derive(Module, Debug)]
pub struct TabularDae {
    input_dropout: Dropout,
    pub(super) encoder: Vec<Linear>,
    pub(super) decoder: Vec<Linear>,
}

impl TabularModelConfig {
    /// The layer widths of the encoder: input, hidden..., code.
    fn widths(&self, input: usize) -> Vec<usize> {
        let mut w = vec![input];
        w.extend(std::iter::repeat_n(self.hidden, self.layers));
        w.push(self.code);
        w
    }

    /// Refuses sizes of 0 and models or batches above the limits (docs/limits.md).
    pub fn check(&self, layout: &Layout, batch: usize) -> Result<()> {
        if self.hidden == 0 || self.code == 0 {
            return Err(Error::Config(
                "--hidden-width and --code-dim must be at least 1".into(),
            ));
        }
        if !(0.0..1.0).contains(&self.input_dropout) {
            return Err(Error::Config(format!(
                "--input-dropout must be in [0, 1), got {}",
                self.input_dropout
            )));
        }
        let enc = self.widths(layout.input_width());
        let mut dec = enc.clone();
        dec.reverse();
        *dec.last_mut().unwrap_or(&mut 0) = layout.slots;
        let layer_params = |w: &[usize]| {
            sum(w
                .windows(2)
                .map(|p| product(&[p[0] + 1, p[1]]))
                .collect::<Vec<_>>())
        };
        let params = sum([layer_params(&enc), layer_params(&dec)]);
        MAX_MODEL_PARAMS.check(params, || "the tabular DAE".into())?;
        let per_row = sum(enc.iter().chain(&dec).map(|&w| Some(w as u128)));
        let activations = per_row.and_then(|p| p.checked_mul(batch as u128));
        MAX_ACTIVATIONS.check(activations, || {
            format!("one training step of batch {batch}")
        })
    }

    /// Builds the model for `layout` on `device`.
    pub fn init(&self, layout: &Layout, device: &Device) -> TabularDae {
        let enc = self.widths(layout.input_width());
        let mut dec = enc.clone();
        dec.reverse();
        if let Some(last) = dec.last_mut() {
            *last = layout.slots;
        }
        let stack = |w: &[usize]| {
            w.windows(2)
                .map(|p| LinearConfig::new(p[0], p[1]).init(device))
                .collect()
        };
        TabularDae {
            input_dropout: DropoutConfig::new(self.input_dropout).init(),
            encoder: stack(&enc),
            decoder: stack(&dec),
        }
    }
}

impl TabularDae {
    /// The code z of a batch of encoded rows `[batch, input_width]`.
    pub fn encode(&self, x: Tensor<2>) -> Tensor<2> {
        // Each layer through dae's fused linear + bias + ReLU kernel on the CPU.
        let mut x = self.input_dropout.forward(x);
        for layer in &self.encoder {
            x = linear(layer, x, Activation::Relu);
        }
        x
    }

    /// The heads' outputs `[batch, slots]` for a batch of encoded rows.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut x = self.encode(x);
        let n = self.decoder.len();
        for (i, layer) in self.decoder.iter().enumerate() {
            let act = if i + 1 < n {
                Activation::Relu
            } else {
                Activation::Identity
            };
            x = linear(layer, x, act);
        }
        x
    }
}

/// How the squared errors of numeric columns are weighted in the loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NumericLoss {
    /// Every column alike, in standardized units.
    #[default]
    Standardized,
    /// Each column by (sd / (max − min))², normalized to a mean weight of 1: the squared error
    /// of min-max-scaled values, the measure of the GAIN protocol. A heavy-tailed column (a
    /// range of many standard deviations) then counts for less.
    Minmax,
}

impl std::fmt::Display for NumericLoss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NumericLoss::Standardized => "standardized",
            NumericLoss::Minmax => "minmax",
        })
    }
}

/// The weight of each column's squared error under `loss` (1 for categorical columns).
pub fn column_weights(columns: &[Column], loss: NumericLoss) -> Vec<f32> {
    let raw: Vec<f64> = columns
        .iter()
        .map(|c| match (&c.encoding, loss) {
            (
                Encoding::Numeric {
                    spread, min, max, ..
                },
                NumericLoss::Minmax,
            ) if max > min => (spread / (max - min)).powi(2),
            _ => 1.0,
        })
        .collect();
    let numeric: Vec<f64> = (0..columns.len())
        .filter(|&j| columns[j].is_numeric())
        .map(|j| raw[j])
        .collect();
    let mean = numeric.iter().sum::<f64>() / numeric.len().max(1) as f64;
    (0..columns.len())
        .map(|j| {
            if columns[j].is_numeric() && mean > 0.0 {
                (raw[j] / mean) as f32
            } else {
                1.0
            }
        })
        .collect()
}

/// What the loss compares: the clean values of the chosen entries.
pub struct LossTargets {
    /// `[batch, slots]`: the clean numeric value at chosen numeric slots, 1 at the clean label's
    /// slot of chosen categorical entries, 0 elsewhere.
    pub values: Vec<f32>,
    /// `[batch, slots]`: the column's weight at the slots of chosen numeric entries, else 0.
    pub numeric_mask: Vec<f32>,
    /// Number of chosen entries (numeric and categorical).
    pub count: usize,
}

impl LossTargets {
    /// The targets of the entries `chosen` of `clean`, numeric errors weighted by `weights`
    /// (one per column, see [`column_weights`]).
    pub fn new(
        layout: &Layout,
        columns: &[Column],
        weights: &[f32],
        clean: &Cells,
        chosen: &[bool],
    ) -> Self {
        let mut values = vec![0.0; clean.rows * layout.slots];
        let mut numeric_mask = vec![0.0; clean.rows * layout.slots];
        let mut count = 0;
        for r in 0..clean.rows {
            for (j, c) in columns.iter().enumerate() {
                let at = r * clean.cols + j;
                if !chosen[at] {
                    continue;
                }
                count += 1;
                let slot = r * layout.slots + layout.offsets[j];
                if c.is_numeric() {
                    values[slot] = clean.values[at];
                    numeric_mask[slot] = weights[j];
                } else {
                    values[slot + clean.values[at] as usize] = 1.0;
                }
            }
        }
        LossTargets {
            values,
            numeric_mask,
            count,
        }
    }
}

/// The masked loss: (Σ squared errors of chosen numeric entries + Σ cross-entropies of chosen
/// categorical entries) / number of chosen entries; 0 when nothing was chosen.
pub fn masked_loss(
    output: Tensor<2>,
    targets: &LossTargets,
    layout: &Layout,
    columns: &[Column],
) -> Tensor<1> {
    let [rows, slots] = output.dims();
    let device = output.device();
    let tensor =
        |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [rows, slots]), &device);
    let target = tensor(&targets.values);
    let mask = tensor(&targets.numeric_mask);
    let err = output.clone() - target.clone();
    let mut total = (err.clone() * err * mask).sum();
    for (j, c) in columns.iter().enumerate() {
        if c.is_numeric() {
            continue;
        }
        let range = layout.offsets[j]..layout.offsets[j] + layout.widths[j];
        let logits = output.clone().slice([0..rows, range.clone()]);
        let onehot = target.clone().slice([0..rows, range]);
        total = total - (log_softmax(logits, 1) * onehot).sum();
    }
    total / targets.count.max(1) as f32
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
