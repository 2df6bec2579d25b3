#!/usr/bin/env python3
# Usage: python3 scripts/probe_reference.py data/fashion-mnist   (needs numpy, scikit-learn)
# Reference values with scikit-learn for the raw-pixel and PCA rows of `dae probe` on the
# embedded split (first 8000 / last 2000 of the Fashion-MNIST t10k set).
import gzip, sys, numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.neighbors import NearestNeighbors
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import normalized_mutual_info_score as nmi, adjusted_rand_score as ari
d = sys.argv[1]
X = np.frombuffer(gzip.open(f"{d}/t10k-images-idx3-ubyte.gz").read()[16:], np.uint8).reshape(-1, 784) / 255.0
y = np.frombuffer(gzip.open(f"{d}/t10k-labels-idx1-ubyte.gz").read()[8:], np.uint8)
Xtr, Xte, ytr, yte = X[:8000], X[8000:], y[:8000], y[8000:]
def probe(name, tr, te):
    s = StandardScaler().fit(tr)
    lr = LogisticRegression(C=1.0, max_iter=100).fit(s.transform(tr), ytr)
    lin = (lr.predict(s.transform(te)) == yte).mean()
    ntr = tr / np.maximum(np.linalg.norm(tr, axis=1, keepdims=True), 1e-12)
    nte = te / np.maximum(np.linalg.norm(te, axis=1, keepdims=True), 1e-12)
    nb = NearestNeighbors(n_neighbors=10, metric="cosine").fit(ntr).kneighbors(nte, return_distance=False)
    lab = ytr[nb]
    knn = np.mean([np.bincount(r[:5], minlength=10).argmax() == t for r, t in zip(lab, yte)])
    p10 = (lab == yte[:, None]).mean()
    km = KMeans(10, n_init=10, random_state=0).fit_predict(nte)
    print(f"{name:<16} linear {lin:.4f}  5-NN {knn:.4f}  P@10 {p10:.4f}  NMI {nmi(yte, km):.4f}  ARI {ari(yte, km):.4f}")
probe("raw pixels", Xtr, Xte)
p = PCA(64).fit(Xtr)
probe("PCA-64", p.transform(Xtr), p.transform(Xte))
