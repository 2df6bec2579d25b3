//! `dae eval` on a tabular run.

use dae::tasks::image::Precision;
use dae::tasks::tabular::eval::TabularEvalRecord;
use dae::tasks::tabular::heldout::{evaluate_run, TabularEvalOptions};
use dae::tasks::tabular::TableNoise;

use super::EvalArgs;

/// `dae eval` on a tabular run: the GAIN protocol per noise spec (DAE, column mean, k-NN; mean ±
/// sd over `--seeds`), the downstream probes, and optionally the masks for scikit-learn.
pub(super) fn eval_tabular(a: &EvalArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.precision == Precision::F32,
        "--precision {} is for image runs; tabular runs evaluate in f32",
        a.precision
    );
    anyhow::ensure!(
        a.suite.is_none() && a.limit.is_none() && !a.save,
        "--suite, --limit and --save are for image and text runs, not tabular runs"
    );
    let loaded = dae::tasks::load_tabular_run(&a.run, a.device)?;
    let options = TabularEvalOptions {
        noise: a
            .noise
            .iter()
            .map(|s| TableNoise::parse(s))
            .collect::<Result<_, _>>()?,
        data: a.data.clone(),
        seeds: a.seeds,
        seed: a.seed,
        refine: a.refine,
        samples: a.imputations,
        write_masks: a.write_masks.clone(),
    };
    if !a.json {
        println!(
            "{:<28} {:>17} {:>17} {:>17} {:>8} {:>8}",
            "noise", "DAE RMSE", "mean RMSE", "k-NN RMSE", "cat acc", "hidden"
        );
    }
    let on_record = &mut |r: &TabularEvalRecord| {
        if a.json {
            println!("{}", dae::json::to_string(r).unwrap_or_default());
            return;
        }
        let pm = |m: f64, sd: f64| format!("{m:.4} ± {sd:.4}");
        let accuracy = r
            .categorical_accuracy
            .map_or("-".to_string(), |x| format!("{x:.4}"));
        println!(
            "{:<28} {:>17} {:>17} {:>17} {:>8} {:>8.0}",
            r.noise,
            pm(r.rmse, r.rmse_sd),
            pm(r.mean_rmse, r.mean_rmse_sd),
            pm(r.knn_rmse, r.knn_rmse_sd),
            accuracy,
            r.count
        );
        for (i, x) in r.refined_rmse.iter().enumerate() {
            println!("  after refinement round {}: DAE RMSE {x:.4}", i + 1);
        }
        if let Some(p) = &r.probe {
            println!(
                "  probe accuracy on the target: raw {:.4}, DAE codes {:.4}; hidden entries \
                 imputed by the DAE {:.4}, by column means {:.4}",
                p.probe_raw_accuracy,
                p.probe_code_accuracy,
                p.probe_dae_imputed_accuracy,
                p.probe_mean_imputed_accuracy
            );
        }
    };
    evaluate_run(&loaded, &options, on_record)?;
    if !a.json {
        println!(
            "({} seed(s), {} pass(es) per DAE imputation; RMSE on min-max-scaled hidden numeric \
             entries, mean ± sd)",
            a.seeds,
            a.imputations.max(1)
        );
    }
    Ok(())
}
