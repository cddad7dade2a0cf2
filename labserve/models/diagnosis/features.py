"""The six inputs of the tutorial's classifier, named as the tutorial names them.

WDBC computes each value from a digitised image of a fine-needle aspirate; the dataset does
not state physical units for radius, so none is invented here. Hard limits reject what cannot
be (negative sizes, a grey-level spread beyond the 0-255 scale) or is several times beyond
anything in the data; the training range itself is recorded in the artifact's metadata.
"""

from __future__ import annotations

from labserve.models.features import FeatureSpec

#: labserve's feature name -> the column name in scikit-learn's copy of WDBC.
SKLEARN_COLUMNS: dict[str, str] = {
    "radius_mean": "mean radius",
    "texture_mean": "mean texture",
    "smoothness_mean": "mean smoothness",
    "texture_se": "texture error",
    "smoothness_se": "smoothness error",
    "symmetry_se": "symmetry error",
}

DIAGNOSIS_FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "radius_mean",
        "Mean radius",
        "image units",
        "Mean distance from the centre of each nucleus to its perimeter, averaged over nuclei",
        0.0,
        100.0,
    ),
    FeatureSpec(
        "texture_mean",
        "Mean texture",
        "grey levels",
        "Standard deviation of grey-scale values inside the nuclei, averaged",
        0.0,
        128.0,
    ),
    FeatureSpec(
        "smoothness_mean",
        "Mean smoothness",
        "unitless",
        "Local variation in radius lengths, averaged over nuclei",
        0.0,
        1.0,
    ),
    FeatureSpec(
        "texture_se",
        "Texture (standard error)",
        "grey levels",
        "Standard error of the texture across nuclei",
        0.0,
        50.0,
    ),
    FeatureSpec(
        "smoothness_se",
        "Smoothness (standard error)",
        "unitless",
        "Standard error of the smoothness across nuclei",
        0.0,
        0.5,
    ),
    FeatureSpec(
        "symmetry_se",
        "Symmetry (standard error)",
        "unitless",
        "Standard error of nucleus symmetry across nuclei",
        0.0,
        1.0,
    ),
)

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in DIAGNOSIS_FEATURES)
MALIGNANT = "Malignant"
BENIGN = "Benign"
