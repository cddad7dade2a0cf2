"""The tumour classifier on six Wisconsin diagnostic (WDBC) features."""

from labserve.models.diagnosis.features import DIAGNOSIS_FEATURES, FEATURE_NAMES
from labserve.models.diagnosis.model import DiagnosisModel

__all__ = ["DIAGNOSIS_FEATURES", "FEATURE_NAMES", "DiagnosisModel"]
