//! Corruptions of table rows, in the `--noise` grammar of every task (`name:key=value`, ranges
//! `lo..hi` drawn per row, mixtures `a+b` and `0.7*a+0.3*b` with one component drawn per row):
//!
//! | spec | what happens to each observed entry |
//! |---|---|
//! | `missing:rate=0.2` | hidden with probability `rate` (missing completely at random) |
//! | `swap:p=0.15` | replaced with probability `p` by the same column's value in a random training row |
//! | `gaussian:sigma=0.1` | numeric entries only: plus σ·ε in standardized units, ε ~ N(0, 1) |
//!
//! Every entry a corruption hides or changes is in M, the set the loss sums over; an entry
//! already missing in the data is never touched and never in M.

use rand::Rng as _;
use rand_distr::{Distribution, StandardNormal};

use super::preprocess::Cells;
use crate::corrupt::strength::Allowed;
use crate::corrupt::{
    reason_of, spec_error, split_components, Params, Rng, Spec, SpecKind, Strength,
};
use crate::Result;

/// What a row corruption may read besides the row.
pub struct RowContext<'a> {
    /// Whether each column is numeric.
    pub numeric: &'a [bool],
    /// The training rows, the pool swap noise draws replacements from.
    pub donors: &'a Cells,
}

/// A corruption process on table rows.
pub trait TableCorruption: std::fmt::Debug + Send + Sync {
    /// Corrupts one row in place: `values` and `observed` hold the clean row on entry and x̃ on
    /// return; `chosen[j]` is set for every entry hidden or changed (only where `observed[j]`
    /// was true on entry).
    fn corrupt_row(
        &self,
        values: &mut [f32],
        observed: &mut [bool],
        chosen: &mut [bool],
        context: &RowContext,
        rng: &mut Rng,
    );
    /// The canonical spec string.
    fn spec(&self) -> String;
}

/// Missing completely at random: `missing:rate=R`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MissingAtRandom {
    /// Probability that an observed entry is hidden.
    pub rate: Strength,
}

/// Swap noise: `swap:p=P`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SwapNoise {
    /// Probability that an observed entry is replaced by another row's.
    pub p: Strength,
}

/// Gaussian noise on numeric entries: `gaussian:sigma=S`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NumericGaussian {
    /// Standard deviation in standardized units.
    pub sigma: Strength,
}

impl TableCorruption for MissingAtRandom {
    fn corrupt_row(
        &self,
        values: &mut [f32],
        observed: &mut [bool],
        chosen: &mut [bool],
        _: &RowContext,
        rng: &mut Rng,
    ) {
        let rate = self.rate.sample(rng);
        for j in 0..values.len() {
            if observed[j] && rng.gen::<f32>() < rate {
                values[j] = 0.0;
                observed[j] = false;
                chosen[j] = true;
            }
        }
    }
    fn spec(&self) -> String {
        format!("missing:rate={}", self.rate)
    }
}

impl TableCorruption for SwapNoise {
    fn corrupt_row(
        &self,
        values: &mut [f32],
        observed: &mut [bool],
        chosen: &mut [bool],
        context: &RowContext,
        rng: &mut Rng,
    ) {
        let p = self.p.sample(rng);
        let donors = context.donors;
        for j in 0..values.len() {
            if observed[j] && rng.gen::<f32>() < p && donors.rows > 0 {
                let at = rng.gen_range(0..donors.rows) * donors.cols + j;
                values[j] = donors.values[at];
                observed[j] = donors.observed[at];
                chosen[j] = true;
            }
        }
    }
    fn spec(&self) -> String {
        format!("swap:p={}", self.p)
    }
}

impl TableCorruption for NumericGaussian {
    fn corrupt_row(
        &self,
        values: &mut [f32],
        observed: &mut [bool],
        chosen: &mut [bool],
        context: &RowContext,
        rng: &mut Rng,
    ) {
        let sigma = self.sigma.sample(rng);
        for j in 0..values.len() {
            if observed[j] && context.numeric[j] {
                let e: f32 = StandardNormal.sample(rng);
                values[j] += sigma * e;
                chosen[j] = true;
            }
        }
    }
    fn spec(&self) -> String {
        format!("gaussian:sigma={}", self.sigma)
    }
}

/// One component drawn per row, with probability proportional to its weight.
#[derive(Debug)]
pub struct TableMixture {
    components: Vec<(Option<f32>, Box<dyn TableCorruption>)>,
}

impl TableCorruption for TableMixture {
    fn corrupt_row(
        &self,
        values: &mut [f32],
        observed: &mut [bool],
        chosen: &mut [bool],
        context: &RowContext,
        rng: &mut Rng,
    ) {
        let weight = |w: &Option<f32>| f64::from(w.unwrap_or(1.0));
        let total: f64 = self.components.iter().map(|(w, _)| weight(w)).sum();
        let mut u = rng.gen::<f64>() * total;
        let mut pick = self.components.len() - 1;
        for (i, (w, _)) in self.components.iter().enumerate() {
            if u < weight(w) {
                pick = i;
                break;
            }
            u -= weight(w);
        }
        self.components[pick]
            .1
            .corrupt_row(values, observed, chosen, context, rng);
    }
    fn spec(&self) -> String {
        let parts: Vec<String> = self
            .components
            .iter()
            .map(|(w, c)| match w {
                Some(w) => format!("{w}*{}", c.spec()),
                None => c.spec(),
            })
            .collect();
        parts.join("+")
    }
}

/// Corrupts every row of `clean`; returns x̃ and the chosen entries M (row-major like `clean`).
pub fn corrupt_cells(
    corruption: &dyn TableCorruption,
    clean: &Cells,
    context: &RowContext,
    rng: &mut Rng,
) -> (Cells, Vec<bool>) {
    let mut noisy = clean.clone();
    let mut chosen = vec![false; clean.values.len()];
    let cols = clean.cols.max(1);
    for ((v, o), m) in noisy
        .values
        .chunks_mut(cols)
        .zip(noisy.observed.chunks_mut(cols))
        .zip(chosen.chunks_mut(cols))
    {
        corruption.corrupt_row(v, o, m, context, rng);
    }
    (noisy, chosen)
}

type Builder = fn(&Params) -> std::result::Result<Box<dyn TableCorruption>, String>;

fn probability(p: &Params, key: &str, default: f32) -> std::result::Result<Strength, String> {
    let s = p.strength(key, Some(default))?;
    s.check(key, Allowed::Closed(0.0, 1.0))?;
    Ok(s)
}

/// The registry: names, keys, builder.
const REGISTRY: &[(&str, &[&str], Builder)] = &[
    ("missing", &["rate"], |p| {
        Ok(Box::new(MissingAtRandom {
            rate: probability(p, "rate", 0.2)?,
        }))
    }),
    ("swap", &["p"], |p| {
        Ok(Box::new(SwapNoise {
            p: probability(p, "p", 0.15)?,
        }))
    }),
    ("gaussian", &["sigma"], |p| {
        let sigma = p.strength("sigma", Some(0.1))?;
        sigma.check("sigma", Allowed::AtLeast(0.0))?;
        Ok(Box::new(NumericGaussian { sigma }))
    }),
];

/// The names [`parse_table_noise`] accepts.
pub fn known_table_names() -> Vec<&'static str> {
    REGISTRY.iter().map(|e| e.0).collect()
}

/// Parses the `--noise` of a tabular run, e.g. `missing:rate=0.2` or
/// `0.5*missing:rate=0.3+0.5*swap:p=0.1`.
pub fn parse_table_noise(spec: &str) -> Result<Box<dyn TableCorruption>> {
    parse_inner(spec).map_err(|reason| spec_error(spec.trim(), reason))
}

fn parse_inner(spec: &str) -> std::result::Result<Box<dyn TableCorruption>, String> {
    let known = known_table_names().join(", ");
    let mut components = Vec::new();
    for part in split_components(spec) {
        if part.trim().is_empty() {
            return Err(format!(
                "empty component; expected e.g. `missing:rate=0.2` (known for tables: {known})"
            ));
        }
        let (head, body) = match part.split_once(':') {
            Some((h, b)) => (h, Some(b)),
            None => (part, None),
        };
        let (weight, name) = match head.split_once('*') {
            Some((w, name)) => match w.trim().parse::<f32>() {
                Ok(w) if w > 0.0 && w.is_finite() => (Some(w), name),
                _ => return Err(format!("weight must be a number > 0, got `{}`", w.trim())),
            },
            None => (None, head),
        };
        let name = name.trim().to_ascii_lowercase();
        let Some((canonical, keys, build)) = REGISTRY.iter().find(|e| e.0 == name) else {
            return Err(format!("unknown noise `{name}`; known for tables: {known}"));
        };
        components.push((weight, build(&Params::parse(canonical, body, keys)?)?));
    }
    if components.len() == 1 && components[0].0.is_none() {
        return Ok(components.remove(0).1);
    }
    let weighted = components.iter().filter(|c| c.0.is_some()).count();
    if weighted != 0 && weighted != components.len() {
        return Err("give a weight (`w*`) to every mixture component or to none".to_string());
    }
    Ok(Box::new(TableMixture { components }))
}

/// A parsed table corruption (`--noise` of tabular runs), stored as its spec string.
pub type TableNoise = Spec<dyn TableCorruption>;

impl SpecKind for dyn TableCorruption {
    fn parse_spec(text: &str) -> Result<std::sync::Arc<Self>> {
        parse_table_noise(text)
            .map(std::sync::Arc::from)
            .map_err(|e| spec_error(text.trim(), reason_of(e)))
    }
}

#[cfg(test)]
#[path = "corrupt_tests.rs"]
mod tests;
