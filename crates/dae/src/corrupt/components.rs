//! The mixture layer of the `--noise` grammar for corruptions of any kind of sample: `a+b`
//! applies every component together, `0.7*a+0.3*b` draws one component per sample by weight.
//! A task parses each component itself (its names and keys) and hands the parser here a
//! function from one component's text to its value.

use rand::Rng as _;

use super::{split_components, Rng};

/// The components of one spec, with their weights (all `None`: applied together).
#[derive(Clone, Debug, PartialEq)]
pub struct Components<C> {
    /// `(weight, component)` in the order written.
    pub parts: Vec<(Option<f32>, C)>,
}

/// Parses `spec` into its components, each through `component` (given the text after any
/// `w*`); the error is the reason alone, for the caller to wrap with the whole spec.
pub fn parse_components<C>(
    spec: &str,
    mut component: impl FnMut(&str) -> std::result::Result<C, String>,
) -> std::result::Result<Components<C>, String> {
    let mut parts = Vec::new();
    for part in split_components(spec) {
        let weighted = part
            .split_once('*')
            // A `*` after the first `:` belongs to a value (a file name), not to a weight.
            .filter(|(w, _)| !w.contains(':'));
        let (weight, rest) = match weighted {
            Some((w, rest)) => {
                let w: f32 = w
                    .trim()
                    .parse()
                    .map_err(|_| format!("mixture weight `{}` is not a number", w.trim()))?;
                if !(w.is_finite() && w > 0.0) {
                    return Err(format!("mixture weight {w} must be positive"));
                }
                (Some(w), rest)
            }
            None => (None, part),
        };
        parts.push((weight, component(rest)?));
    }
    let weighted = parts.iter().filter(|c| c.0.is_some()).count();
    if weighted != 0 && weighted != parts.len() {
        return Err("give a weight (`w*`) to every mixture component or to none".to_string());
    }
    Ok(Components { parts })
}

impl<C> Components<C> {
    /// The components one sample gets: all of them, or one drawn by weight from `rng` (one
    /// uniform draw, whatever the number of components).
    pub fn choose(&self, rng: &mut Rng) -> Vec<&C> {
        if !matches!(self.parts.first(), Some((Some(_), _))) {
            return self.parts.iter().map(|c| &c.1).collect();
        }
        let total: f32 = self.parts.iter().filter_map(|c| c.0).sum();
        let mut pick = rng.gen::<f32>() * total;
        for (w, c) in &self.parts {
            let w = w.unwrap_or(0.0);
            if pick < w {
                return vec![c];
            }
            pick -= w;
        }
        // Rounding can leave `pick` just past the last weight.
        self.parts.last().map(|c| vec![&c.1]).unwrap_or_default()
    }
}

impl<C: std::fmt::Display> std::fmt::Display for Components<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (w, c)) in self.parts.iter().enumerate() {
            if i > 0 {
                f.write_str("+")?;
            }
            if let Some(w) = w {
                write!(f, "{w}*")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn letters(spec: &str) -> std::result::Result<Components<String>, String> {
        parse_components(spec, |t| {
            let t = t.trim();
            if t.chars().all(|c| c.is_ascii_alphabetic() || c == ':') && !t.is_empty() {
                Ok(t.to_string())
            } else {
                Err(format!("bad `{t}`"))
            }
        })
    }

    #[test]
    fn together_weighted_and_refused() {
        let all = letters("a+b").unwrap();
        assert_eq!(all.parts, vec![(None, "a".into()), (None, "b".into())]);
        let mut rng = Rng::seed_from_u64(1);
        assert_eq!(all.choose(&mut rng).len(), 2);
        assert_eq!(all.to_string(), "a+b");
        let mix = letters("0.25*a+0.75*b").unwrap();
        assert_eq!(mix.to_string(), "0.25*a+0.75*b");
        let draws: Vec<String> = (0..4000).map(|_| mix.choose(&mut rng)[0].clone()).collect();
        let share_b = draws.iter().filter(|d| *d == "b").count() as f64 / 4000.0;
        assert!((share_b - 0.75).abs() < 0.03, "{share_b}");
        assert!(letters("0.5*a+b")
            .unwrap_err()
            .contains("every mixture component"));
        assert!(letters("x*a").unwrap_err().contains("not a number"));
        assert!(letters("-1*a").unwrap_err().contains("positive"));
        assert!(letters("a+1").unwrap_err().contains("bad `1`"));
        // A `*` inside a value is not a weight.
        assert_eq!(letters("n:x*").unwrap_err(), "bad `n:x*`");
    }
}
