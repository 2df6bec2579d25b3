#!/usr/bin/env python3
"""scikit-learn's IterativeImputer and KNNImputer under dae's GAIN protocol, on the very entries
dae hid.

`dae eval RUN --seeds 10 --write-masks masks.json` writes the run's training rows and evaluated
rows (numeric columns, original units, null = missing), each column's training min and max, and,
per noise spec and seed, the hidden entries. This script fits each imputer on the training rows,
imputes the evaluated rows with the hidden entries removed, and prints the RMSE over the hidden
entries after min-max scaling each column by the training min and max (dae's exact formula),
mean and sample standard deviation over the seeds. Categorical columns are not exported: the
comparison covers numeric columns.

Usage: python scripts/tabular_sklearn.py masks.json [--json]
"""

import json
import sys

import numpy as np
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer


def as_array(rows):
    return np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float)


def rmse(truth, guess, hidden, lo, hi):
    span = np.where(hi > lo, hi - lo, 1.0)
    err = (guess - truth) / span
    return float(np.sqrt(np.sum(err[hidden] ** 2) / max(hidden.sum(), 1)))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        export = json.load(f)
    train, test = as_array(export["train"]), as_array(export["test"])
    lo, hi = np.array(export["min"]), np.array(export["max"])
    imputers = {
        # scikit-learn's defaults (BayesianRidge, 10 rounds), seeded.
        "iterative": lambda: IterativeImputer(random_state=0, max_iter=10),
        "knn": lambda: KNNImputer(n_neighbors=5),
    }
    # The imputers work in standardized units, as dae's k-NN does; RMSE is scale-free after
    # min-max scaling, so the scaling only affects the neighbours and the regressions.
    mean, sd = np.nanmean(train, axis=0), np.nanstd(train, axis=0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    fitted = {name: make().fit((train - mean) / sd) for name, make in imputers.items()}
    for spec in export["specs"]:
        scores = {name: [] for name in imputers}
        for mask in spec["masks"]:
            hidden = np.array(mask, dtype=bool)
            holes = test.copy()
            holes[hidden] = np.nan
            for name, model in fitted.items():
                guess = model.transform((holes - mean) / sd) * sd + mean
                scores[name].append(rmse(test, guess, hidden, lo, hi))
        row = {"noise": spec["noise"], "seeds": len(spec["masks"])}
        for name, s in scores.items():
            row[f"{name}_rmse"] = float(np.mean(s))
            row[f"{name}_rmse_sd"] = float(np.std(s, ddof=1)) if len(s) > 1 else 0.0
        if "--json" in sys.argv:
            print(json.dumps(row))
        else:
            print(
                f"{row['noise']}: IterativeImputer {row['iterative_rmse']:.4f} ± "
                f"{row['iterative_rmse_sd']:.4f}, KNNImputer {row['knn_rmse']:.4f} ± "
                f"{row['knn_rmse_sd']:.4f} ({row['seeds']} seeds)"
            )


if __name__ == "__main__":
    main()
