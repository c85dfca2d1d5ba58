"""The scikit-learn side of the features: `KeywordCounts`, the keyword counts
(`features.KeywordIndex`) as a transformer of the training pipeline. Imported by training and
by unpickling a pipeline, never on the prediction path (`predictor.py`)."""

from __future__ import annotations

from sklearn.base import BaseEstimator, TransformerMixin

from services.categorization.features import KeywordIndex


class KeywordCounts(KeywordIndex, TransformerMixin, BaseEstimator):
    """`KeywordIndex` in a FeatureUnion (fit / transform, get_params, cloning)."""


# pickles of fitted pipelines name it where it always was
KeywordCounts.__module__ = "services.categorization.features"
