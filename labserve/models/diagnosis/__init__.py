"""The built-in tumour classifier on six Wisconsin diagnostic (WDBC) features (training only:
it is served like any other model, by the ``sklearn`` kind)."""

from labserve.models.diagnosis.features import DIAGNOSIS_FEATURES, FEATURE_NAMES

__all__ = ["DIAGNOSIS_FEATURES", "FEATURE_NAMES"]
