""" "Me too": learning the pair scorer (offline, ``suara pairs --fit``; scikit-learn is
imported here only, never by the service): a logistic regression over
``duplicates.pair_features``, its out-of-fold probabilities by place, and the threshold."""

from __future__ import annotations

from collections.abc import Sequence

from services.categorization import duplicates
from services.categorization.duplicates import Scorer

# learning


def fit(rows: Sequence[Sequence[float]], labels: Sequence[bool], c: float = 1.0) -> Scorer:
    """A logistic regression on pair features (L2, ``C=c``)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=1000).fit(list(rows), list(labels))
    return Scorer(tuple(float(w) for w in model.coef_[0]), float(model.intercept_[0]))


def cross_validated(
    rows: Sequence[Sequence[float]],
    labels: Sequence[bool],
    groups: Sequence[str],
    folds: int = 5,
    c: float = 1.0,
) -> list[float]:
    """Out-of-fold probabilities: each group (one place's texts) is scored by a scorer that
    never saw it, so a text told in two pairs cannot leak across folds."""
    names = sorted(set(groups))
    fold_of = {name: i % folds for i, name in enumerate(names)}
    out = [0.0] * len(rows)
    for fold in range(folds):
        train = [i for i, g in enumerate(groups) if fold_of[g] != fold]
        test = [i for i, g in enumerate(groups) if fold_of[g] == fold]
        if not test:
            continue
        model = fit([rows[i] for i in train], [labels[i] for i in train], c)
        for i in test:
            out[i] = model.probability_of(rows[i])
    return out


def best_threshold(
    scored: Sequence[tuple[float, bool]], min_precision: float = 0.9
) -> tuple[float, duplicates.PairScores]:
    """The threshold (on a 0.01 grid) with the best F1 among those with precision at least
    ``min_precision`` (precision first: a false link costs a department's undo); the best F1
    overall when none reaches it."""
    grid = [round(0.05 + 0.01 * i, 2) for i in range(91)]
    results = [(t, duplicates.pair_scores(scored, t)) for t in grid]
    good = [r for r in results if r[1].precision >= min_precision] or results
    return max(good, key=lambda r: (r[1].f1, r[0]))
