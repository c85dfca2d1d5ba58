"""Prediction without scikit-learn: a fitted pipeline's numbers as plain arrays.

The category model is a LinearSVC whose decision values are temperature-scaled into
probabilities (`CalibratedClassifierCV(method="temperature", ensemble=False)`): one linear map
and a softmax. The urgency head is a logistic regression with Platt scaling
(`method="sigmoid"`): one dot product and a sigmoid. `Predictor.of_pipeline` reads those
numbers off the fitted estimators (by attribute: this module imports no scikit-learn), and
computes what their `predict_proba` computes, in the same order and dtypes, so that the
probabilities agree (a unit test compares them on the held-out split). A stored model holds
the predictor as plain data, so `suara classify` and the service load numpy arrays instead of
unpickling scikit-learn (half a second of start-up); any other estimator or calibration gives
no predictor, and the model predicts with the pipeline itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from services.categorization.fast_features import FastFeatures


@dataclass
class Linear:
    """Decision values ``X @ coef.T + intercept`` (one column for a binary model)."""

    coef: np.ndarray  # (classes or 1, features), float32 as stored
    intercept: np.ndarray  # (classes or 1,)

    def decision(self, features: sp.csr_matrix) -> np.ndarray:
        # as LinearClassifierMixin.decision_function: safe_sparse_dot, then the intercept
        return np.asarray(features @ self.coef.T) + self.intercept

    @classmethod
    def of_estimator(cls, estimator: Any) -> Linear:
        return cls(np.asarray(estimator.coef_), np.asarray(estimator.intercept_))


@dataclass
class Predictor:
    """The features, the category head (temperature softmax) and the urgency head (sigmoid)."""

    features: FastFeatures
    classes: list[str]
    category: Linear
    beta: float  # the inverse temperature
    urgency: Linear | None = None
    urgency_sigmoid: tuple[float, float] | None = None  # Platt's (a, b): 1 / (1 + e^(a f + b))

    def probabilities(self, features: sp.csr_matrix) -> np.ndarray:
        logits = np.float64(self.beta) * self.category.decision(features)
        logits -= logits.max(axis=1, keepdims=True)  # as sklearn.utils.extmath.softmax
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        return logits

    def urgency_probability(self, features: sp.csr_matrix) -> np.ndarray | None:
        if self.urgency is None or self.urgency_sigmoid is None:
            return None
        a, b = (np.float64(x) for x in self.urgency_sigmoid)  # float64, as sklearn's a_, b_
        decision = self.urgency.decision(features).ravel()
        return 1.0 / (1.0 + np.exp(a * decision + b))

    @classmethod
    def of_pipeline(cls, pipeline: Any, urgency_head: Any = None) -> Predictor | None:
        """The predictor of a fitted pipeline (and urgency head), or None when it has an
        estimator or calibration this module does not reproduce."""
        features = FastFeatures.of_union(pipeline.named_steps["features"])
        category = _temperature_svm(pipeline.named_steps["model"])
        if features is None or category is None:
            return None
        urgency = _platt_binary(urgency_head) if urgency_head is not None else None
        if urgency_head is not None and urgency is None:
            return None
        return cls(
            features=features,
            classes=[str(c) for c in pipeline.classes_],
            category=category[0],
            beta=category[1],
            urgency=urgency[0] if urgency else None,
            urgency_sigmoid=urgency[1] if urgency else None,
        )

    def state(self) -> dict[str, Any]:
        """Plain data (dicts, lists, numpy arrays): what `of_state` builds the predictor from."""
        return {
            "features": self.features.state(),
            "classes": self.classes,
            "category": {"coef": self.category.coef, "intercept": self.category.intercept},
            "beta": self.beta,
            "urgency": (
                None
                if self.urgency is None
                else {
                    "coef": self.urgency.coef,
                    "intercept": self.urgency.intercept,
                    "sigmoid": list(self.urgency_sigmoid or ()),
                }
            ),
        }

    @classmethod
    def of_state(cls, state: dict[str, Any]) -> Predictor:
        urgency = state.get("urgency")
        return cls(
            features=FastFeatures.of_state(state["features"]),
            classes=list(state["classes"]),
            category=Linear(**state["category"]),
            beta=float(state["beta"]),
            urgency=(
                Linear(urgency["coef"], urgency["intercept"]) if urgency is not None else None
            ),
            urgency_sigmoid=tuple(urgency["sigmoid"]) if urgency is not None else None,
        )


def _single_calibrated(model: Any, method: str) -> Any | None:
    """The one calibrated classifier of a CalibratedClassifierCV(ensemble=False, method)."""
    if type(model).__name__ != "CalibratedClassifierCV" or model.method != method:
        return None
    calibrated = getattr(model, "calibrated_classifiers_", [])
    return calibrated[0] if len(calibrated) == 1 else None


def _temperature_svm(model: Any) -> tuple[Linear, float] | None:
    calibrated = _single_calibrated(model, "temperature")
    if calibrated is None or type(calibrated.estimator).__name__ != "LinearSVC":
        return None
    if len(model.classes_) < 3 or len(calibrated.calibrators) != 1:
        return None  # a binary model's logits are (-x, x): not reproduced
    return Linear.of_estimator(calibrated.estimator), float(calibrated.calibrators[0].beta_)


def _platt_binary(model: Any) -> tuple[Linear, tuple[float, float]] | None:
    calibrated = _single_calibrated(model, "sigmoid")
    if calibrated is None or type(calibrated.estimator).__name__ != "LogisticRegression":
        return None
    if [bool(c) for c in model.classes_] != [False, True] or len(calibrated.calibrators) != 1:
        return None
    sigmoid = calibrated.calibrators[0]
    return Linear.of_estimator(calibrated.estimator), (float(sigmoid.a_), float(sigmoid.b_))
