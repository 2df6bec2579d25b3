//! `dae eval` on a graph run.

use dae::tasks::graph::{evaluate_graph_run, GraphEvalRecord};
use dae::tasks::image::Precision;

use super::EvalArgs;

/// `dae eval` on a graph run: link prediction on the held-out edges, the probes and the
/// baselines, as a table or one JSON object.
pub(super) fn eval_graph(a: &EvalArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.noise.is_empty() && a.suite.is_none() && a.limit.is_none(),
        "--noise, --suite and --limit are for image and text runs: a graph run is measured on \
         its held-out edges and its probe split"
    );
    anyhow::ensure!(
        a.precision == Precision::F32,
        "--precision {} is for image runs; graph runs evaluate in f32",
        a.precision
    );
    let loaded = dae::tasks::load_graph_run(&a.run, a.device)?;
    let record = evaluate_graph_run(&loaded, a.data.as_deref())?;
    if a.json {
        println!("{}", dae::json::to_string(&record)?);
    } else {
        print_table(&record);
    }
    if a.save {
        let path = dae::run::RunDir::new(&a.run).eval_records();
        dae::tasks::graph::eval::write_record(&path, &record)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn print_table(r: &GraphEvalRecord) {
    println!(
        "data: {} ({} test edges and as many non-edges)",
        r.data, r.test_edges
    );
    println!("{:<34} {:>8} {:>8}", "link prediction", "AUC", "AP");
    println!("{:<34} {:>8.4} {:>8.4}", "this model", r.auc, r.ap);
    if !r.edges_held_out {
        eprintln!(
            "note: this run trained on the whole graph (--objective features), test edges \
             included: its link prediction is not a held-out measure"
        );
    }
    for b in &r.baselines {
        println!("{:<34} {:>8.4} {:>8.4}", b.method, b.auc, b.ap);
    }
    println!(
        "node classification (linear probe, {} / {} / {} train / val / test nodes)",
        r.probe_nodes[0], r.probe_nodes[1], r.probe_nodes[2]
    );
    println!("{:<34} {:>8} {:>8}", "features", "accuracy", "NMI");
    println!("{:<34} {:>8.4} {:>8.4}", "codes", r.probe_accuracy, r.nmi);
    println!(
        "{:<34} {:>8.4} {:>8.4}",
        "raw features", r.raw_probe_accuracy, r.raw_nmi
    );
    println!(
        "{:<34} {:>8.4} {:>8}",
        "spectral embedding", r.spectral_probe_accuracy, "-"
    );
}
