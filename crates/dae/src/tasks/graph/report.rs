//! `report.html` of a graph run: configuration, training curves (loss; validation AUC and AP),
//! the 2-D map of the node codes coloured by class, and the evaluation `dae eval --save` kept
//! (the model beside the baselines).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::config::GraphConfig;
use super::data;
use super::eval::{encode_rows, load_graph_run, GraphEvalRecord};
use super::task::{check_features, GraphEpochMetrics};
use crate::fsio::write_atomic;
use crate::report::charts::{epoch_charts, EpochChart};
use crate::report::latent_map::write_latent_map;
use crate::report::page::{escape, num, page, png_figure};
use crate::run::metrics::read_records;
use crate::run::RunDir;
use crate::Result;

/// Writes `RUN_DIR/latent_map.png` (the codes of the labelled nodes, by class) and
/// `RUN_DIR/report.html` for the graph run at `run_dir`; returns the report's path.
pub fn write_report(run_dir: &Path) -> Result<PathBuf> {
    let run = RunDir::new(run_dir);
    let (config, config_text): (GraphConfig, String) = run.read_config_with_text("graph run")?;
    let metrics: Vec<GraphEpochMetrics> = read_records(&run, usize::MAX)?;
    let m = &config.model;
    let s = &config.run;

    let mut body = String::new();
    let _ = write!(
        body,
        "<h2 id=\"config\">Configuration</h2><table>\
         <tr><th>objective</th><td>{}</td></tr>\
         <tr><th>model</th><td>GCN {} → {} → {}{}{}</td></tr>\
         <tr><th>training noise</th><td>{}</td></tr>\
         <tr><th>steps</th><td>{} epochs × {} full-graph steps</td></tr>\
         <tr><th>learning rate</th><td>{} ({}), weight decay {}</td></tr>\
         <tr><th>seed</th><td>{}</td></tr><tr><th>data</th><td>{}</td></tr></table>\
         <details><summary>config.json</summary><pre>{}</pre></details>",
        config.objective,
        m.input_dim,
        m.hidden_dim,
        m.code_dim,
        if m.variational { " (variational)" } else { "" },
        if m.feature_decoder {
            ", GCN feature decoder"
        } else {
            ""
        },
        escape(config.noise.as_str()),
        s.epochs,
        config.steps_per_epoch,
        s.lr,
        s.lr_schedule,
        s.adamw.weight_decay,
        s.seed,
        escape(&data::describe(s.data.as_deref())),
        escape(&config_text)
    );

    body.push_str("<h2 id=\"training\">Training</h2>");
    if metrics.is_empty() {
        body.push_str("<p class=\"muted\">No epoch has finished yet.</p>");
    } else {
        body.push_str(&training_section(&metrics)?);
    }

    let mut warnings = Vec::new();
    body.push_str("<h2 id=\"codes\">Node codes</h2>");
    if run.trained_model().is_ok() {
        write_code_map(&run, &config)?;
        match png_figure(
            &run.latent_map(),
            "Node codes projected on two principal axes",
        )? {
            Some(figure) => body.push_str(&figure),
            None => body.push_str("<p class=\"muted\">The graph has no labelled nodes.</p>"),
        }
    } else {
        body.push_str("<p class=\"muted\">No model has been saved yet.</p>");
    }

    body.push_str("<h2 id=\"eval\">Evaluation</h2>");
    match read_eval(&run)? {
        Some(record) => {
            if record.probe_accuracy.is_finite()
                && record.probe_accuracy <= record.raw_probe_accuracy
            {
                warnings.push(format!(
                    "the linear probe on the codes ({:.4}) is not above the one on the raw \
                     features ({:.4}): the codes carry no more of the classes than the input",
                    record.probe_accuracy, record.raw_probe_accuracy
                ));
            }
            body.push_str(&eval_section(&record));
        }
        None => body.push_str(
            "<p class=\"muted\">Run <code>dae eval RUN --save</code> to add link prediction, \
             the probes and the baselines.</p>",
        ),
    }

    let subtitle = format!(
        "Graph autoencoder ({} objective) trained on <code>{}</code> for {} epochs.",
        config.objective,
        escape(config.noise.as_str()),
        metrics.len()
    );
    let html = page(&run.name(), &subtitle, &warnings, &body);
    let out = run.report();
    write_atomic(&out, html.as_bytes())?;
    Ok(out)
}

/// The codes of the labelled nodes, on the whole graph, projected to 2-D.
fn write_code_map(run: &RunDir, config: &GraphConfig) -> Result<()> {
    let loaded = load_graph_run(&run.root, None)?;
    let graph = data::load(config.run.data.as_deref())?;
    check_features(&graph, config.model.input_dim, "the run")?;
    let codes = encode_rows(&loaded, &graph, &graph.adjacency.edges())?;
    let dim = config.model.code_dim;
    let (mut rows, mut labels) = (Vec::new(), Vec::new());
    for i in 0..graph.len() {
        if let Some(label) = graph.labels[i] {
            rows.extend_from_slice(&codes[i * dim..(i + 1) * dim]);
            labels.push(label);
        }
    }
    if labels.len() < 2 {
        return Ok(());
    }
    let names: Vec<&str> = graph.class_names.iter().map(String::as_str).collect();
    write_latent_map(
        &run.latent_map(),
        &rows,
        dim,
        &labels,
        &names,
        "Node codes by class (PCA)",
        config.run.seed,
    )
}

/// The last evaluation `dae eval --save` appended to `eval.jsonl`.
fn read_eval(run: &RunDir) -> Result<Option<GraphEvalRecord>> {
    let path = run.eval_records();
    if !path.exists() {
        return Ok(None);
    }
    Ok(crate::fsio::read_json_lines(&path)?.pop())
}

fn eval_section(r: &GraphEvalRecord) -> String {
    let mut s = format!(
        "<p>On {}: {} test edges and as many non-edges; probe on {} / {} / {} train / val / \
         test nodes.</p><table><tr><th>link predictor</th><th>AUC</th><th>AP</th></tr>\
         <tr><td><b>this model</b>{}</td><td><b>{}</b></td><td><b>{}</b></td></tr>",
        escape(&r.data),
        r.test_edges,
        r.probe_nodes[0],
        r.probe_nodes[1],
        r.probe_nodes[2],
        if r.edges_held_out {
            ""
        } else {
            " (trained on the whole graph: not held out)"
        },
        num(r.auc, 4),
        num(r.ap, 4)
    );
    for b in &r.baselines {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&b.method),
            num(b.auc, 4),
            num(b.ap, 4)
        );
    }
    let _ = write!(
        s,
        "</table><table><tr><th>features</th><th>linear probe accuracy</th><th>k-means NMI</th>\
         </tr><tr><td><b>codes</b></td><td><b>{}</b></td><td><b>{}</b></td></tr>\
         <tr><td>raw features</td><td>{}</td><td>{}</td></tr>\
         <tr><td>spectral embedding</td><td>{}</td><td></td></tr></table>",
        num(r.probe_accuracy, 4),
        num(r.nmi, 4),
        num(r.raw_probe_accuracy, 4),
        num(r.raw_nmi, 4),
        num(r.spectral_probe_accuracy, 4)
    );
    s
}

/// The loss and validation charts and the per-epoch table.
fn training_section(metrics: &[GraphEpochMetrics]) -> Result<String> {
    let mut s = epoch_charts(
        metrics,
        &[
            EpochChart {
                title: "Loss",
                y_label: "loss",
                alt: "Training loss and validation edge loss per epoch",
                lines: vec![
                    ("train", |m: &GraphEpochMetrics| m.train_loss),
                    ("validation edges (BCE)", |m: &GraphEpochMetrics| {
                        m.val_edge_loss
                    }),
                ],
            },
            EpochChart {
                title: "Link prediction on the validation edges",
                y_label: "score",
                alt: "Validation AUC and average precision per epoch",
                lines: vec![
                    ("AUC", |m: &GraphEpochMetrics| m.val_auc),
                    ("AP", |m: &GraphEpochMetrics| m.val_ap),
                ],
            },
        ],
    )?;
    s.push_str(
        "<table><tr><th>epoch</th><th>train loss</th><th>val AUC</th><th>val AP</th>\
         <th>val edge loss</th><th>seconds</th></tr>",
    );
    for m in metrics {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            m.epoch,
            num(m.train_loss, 4),
            num(m.val_auc, 4),
            num(m.val_ap, 4),
            num(m.val_edge_loss, 4),
            num(m.train_seconds, 2)
        );
    }
    s.push_str("</table>");
    Ok(s)
}
