"""The ensemble as one ONNX graph: IsolationForest path length and PCA reconstruction error, two outputs.

Why not skl2onnx's IsolationForest converter: it emits ~27 nodes per tree (leaf lookup, then the
path-length arithmetic per tree), and onnxruntime runs them one after the other. Measured on this
2-core machine, 100 trees, one thread:
                                                1 row      10,000 rows
  skl2onnx converter (~2,700 nodes, 11 features)  1.34 ms    188 ms    (scikit-learn: 53 ms)
  one TreeEnsembleRegressor node + PCA, 25 feat.  0.03 ms    33 ms     (scikit-learn forest alone: 40 ms)
(the first row: this module's previous version; the second: `python bench/score.py --threads`).
The single node stores, on every leaf, that leaf's path length (depth + c(leaf size), exactly what
scikit-learn adds up), sums the trees and applies 2^(-sum / (trees * c(max_samples))) once. The result
equals `-IsolationForest.score_samples` (test_onnx_export.py); thresholds are rounded down to float32 so
float32 comparisons take the same branch as scikit-learn's float32 tree traversal.

The autoencoder is linear (PCA on standardised features): the reconstruction error is
||(x - shift) / scale @ (I - V^T V)||^2, a Sub, Div, MatMul, Mul and ReduceSum.

The supervised classifier (HistGradientBoostingClassifier, present once enough labels exist) is a second
TreeEnsembleRegressor node: every boosting iteration's tree with its leaf values, summed, plus the
baseline log-odds. Its output is `decision_function` (log-odds of fraud); a row goes left when
x <= threshold, and a missing value (NaN) follows the tree's `missing_go_to_left`.
"""

from __future__ import annotations

import io

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
from sklearn.ensemble._iforest import _average_path_length

from scoring.inference import ISOLATION_OUTPUT, ONNX_INPUT, RECONSTRUCTION_OUTPUT, SUPERVISED_OUTPUT

# Pinned: onnxruntime 1.32 loads these; an upgrade of onnx cannot change the graph silently.
TARGET_OPSET = {"": 21, "ai.onnx.ml": 3}


def isolation_leaf_values(estimator: IsolationForest) -> list[np.ndarray]:
    """Per tree, per node: the path length scikit-learn adds when a row ends in that leaf."""
    return [
        np.asarray(lengths, np.float64) + np.asarray(average, np.float64) - 1.0
        for lengths, average in zip(
            estimator._decision_path_lengths, estimator._average_path_length_per_tree, strict=True
        )
    ]


def isolation_denominator(estimator: IsolationForest) -> float:
    return float(len(estimator.estimators_) * _average_path_length([estimator._max_samples])[0])


def float32_floor(values: np.ndarray) -> np.ndarray:
    """The largest float32 <= each value: for float32 x, x <= t exactly when x <= float32_floor(t)."""
    rounded = np.asarray(values, np.float64).astype(np.float32)
    too_high = rounded.astype(np.float64) > values
    rounded[too_high] = np.nextafter(rounded[too_high], np.float32(-np.inf))
    return rounded


def supervised_trees(classifier: HistGradientBoostingClassifier) -> list[np.ndarray]:
    """The fitted binary classifier's trees (scikit-learn's predictor node arrays), one per iteration."""
    if classifier.n_trees_per_iteration_ != 1:
        raise ValueError("only a binary classifier can be exported")
    if getattr(classifier, "is_categorical_", None) is not None and np.any(classifier.is_categorical_):
        raise ValueError("categorical splits cannot be exported; every feature is numeric")
    return [predictors[0].nodes for predictors in classifier._predictors]


def supervised_baseline(classifier: HistGradientBoostingClassifier) -> float:
    return float(np.ravel(classifier._baseline_prediction)[0])


def _sum_of_trees(output: str, trees, *, base_value: float = 0.0) -> onnx.NodeProto:
    """One TreeEnsembleRegressor node: `base_value` plus the sum over `trees` of the leaf each row reaches.

    Each tree is (is_leaf, feature, threshold, left, right, missing_go_left, value) per node; a row goes
    left when x <= threshold, rounded down to float32 so float32 comparisons take scikit-learn's branch.
    """
    attrs: dict[str, list] = {k: [] for k in ("ids", "tree", "feat", "val", "mode", "true", "false", "missing")}
    targets: dict[str, list] = {k: [] for k in ("tree", "node", "weight")}
    for tree_id, (is_leaf, feature, threshold, left, right, missing_left, value) in enumerate(trees):
        count = len(is_leaf)
        attrs["ids"] += range(count)
        attrs["tree"] += [tree_id] * count
        attrs["feat"] += np.where(is_leaf, 0, feature).tolist()
        attrs["val"] += np.where(is_leaf, 0.0, float32_floor(threshold)).tolist()
        attrs["mode"] += ["LEAF" if leaf else "BRANCH_LEQ" for leaf in is_leaf]
        attrs["true"] += np.where(is_leaf, 0, left).tolist()
        attrs["false"] += np.where(is_leaf, 0, right).tolist()
        attrs["missing"] += np.where(is_leaf, 0, missing_left).tolist()
        leaves = np.flatnonzero(is_leaf)
        targets["tree"] += [tree_id] * len(leaves)
        targets["node"] += leaves.tolist()
        targets["weight"] += np.asarray(value, np.float64)[leaves].tolist()
    return helper.make_node(
        "TreeEnsembleRegressor",
        [ONNX_INPUT],
        [output],
        domain="ai.onnx.ml",
        n_targets=1,
        aggregate_function="SUM",
        post_transform="NONE",
        base_values=[base_value],
        nodes_nodeids=attrs["ids"],
        nodes_treeids=attrs["tree"],
        nodes_featureids=attrs["feat"],
        nodes_values=attrs["val"],
        nodes_modes=attrs["mode"],
        nodes_truenodeids=attrs["true"],
        nodes_falsenodeids=attrs["false"],
        nodes_missing_value_tracks_true=attrs["missing"],
        nodes_hitrates=[1.0] * len(attrs["ids"]),
        target_ids=[0] * len(targets["node"]),
        target_nodeids=targets["node"],
        target_treeids=targets["tree"],
        target_weights=targets["weight"],
    )


def _supervised_node(classifier: HistGradientBoostingClassifier) -> onnx.NodeProto:
    trees = (
        (n["is_leaf"].astype(bool), n["feature_idx"], n["num_threshold"], n["left"], n["right"],
         n["missing_go_to_left"], n["value"])
        for n in supervised_trees(classifier)
    )  # fmt: skip
    return _sum_of_trees(SUPERVISED_OUTPUT, trees, base_value=supervised_baseline(classifier))


def ensemble_graph(
    estimator: IsolationForest,
    *,
    n_features: int,
    shift: np.ndarray,
    scale: np.ndarray,
    pca: PCA,
    supervised: HistGradientBoostingClassifier | None = None,
) -> bytes:
    if estimator.max_features != 1.0:
        raise ValueError("every tree must see every feature (max_features=1.0)")
    trees = (
        (tree.children_left < 0, tree.feature, tree.threshold, tree.children_left, tree.children_right,
         np.zeros(tree.node_count, np.int64), leaf_values)
        for tree, leaf_values in zip(
            (e.tree_ for e in estimator.estimators_), isolation_leaf_values(estimator), strict=True
        )
    )  # fmt: skip
    forest = _sum_of_trees("path_length_sum", trees)
    residual = np.eye(n_features) - pca.components_.T @ pca.components_
    constants = [
        numpy_helper.from_array(np.array([-1.0 / isolation_denominator(estimator)], np.float32), "minus_inv_denom"),
        numpy_helper.from_array(np.array([2.0], np.float32), "two"),
        numpy_helper.from_array(np.asarray(shift, np.float32), "shift"),
        numpy_helper.from_array(np.asarray(scale, np.float32), "scale"),
        numpy_helper.from_array(residual.astype(np.float32), "residual_projection"),
        numpy_helper.from_array(np.array([1], np.int64), "feature_axis"),
    ]
    nodes = [
        forest,
        helper.make_node("Mul", ["path_length_sum", "minus_inv_denom"], ["exponent"]),
        helper.make_node("Pow", ["two", "exponent"], [ISOLATION_OUTPUT]),
        helper.make_node("Sub", [ONNX_INPUT, "shift"], ["centred"]),
        helper.make_node("Div", ["centred", "scale"], ["standardised"]),
        helper.make_node("MatMul", ["standardised", "residual_projection"], ["residual"]),
        helper.make_node("Mul", ["residual", "residual"], ["squared"]),
        helper.make_node("ReduceSum", ["squared", "feature_axis"], [RECONSTRUCTION_OUTPUT], keepdims=1),
    ]
    outputs = [ISOLATION_OUTPUT, RECONSTRUCTION_OUTPUT]
    if supervised is not None:
        nodes.append(_supervised_node(supervised))
        outputs.append(SUPERVISED_OUTPUT)
    graph = helper.make_graph(
        nodes,
        "finobs_ensemble",
        [helper.make_tensor_value_info(ONNX_INPUT, TensorProto.FLOAT, [None, n_features])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, 1]) for name in outputs],
        initializer=constants,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid(domain, version) for domain, version in TARGET_OPSET.items()],
        producer_name="finobs.scoring",
    )
    model.ir_version = 10
    onnx.checker.check_model(model)
    return model.SerializeToString()


def explainer_trees(estimator: IsolationForest, supervised: HistGradientBoostingClassifier | None = None) -> bytes:
    """The forest in the array form shap.TreeExplainer reads (npz, no pickle), so serving needs no scikit-learn.

    Leaf values are path lengths; internal nodes hold their leaves' sample-weighted mean, as shap's own
    IsolationForest support computes them. The supervised classifier's trees, when present, are stored as
    `sup_*` arrays with its baseline log-odds, in the form shap's own HistGradientBoosting support builds.
    """
    arrays: dict[str, np.ndarray] = {}
    for i, (estimator_tree, leaf_values) in enumerate(
        zip((e.tree_ for e in estimator.estimators_), isolation_leaf_values(estimator), strict=True)
    ):
        values = leaf_values.copy()
        weight = estimator_tree.n_node_samples.astype(np.float64)
        left, right = estimator_tree.children_left, estimator_tree.children_right
        for node in range(estimator_tree.node_count - 1, -1, -1):  # children have higher ids than parents
            if left[node] >= 0:
                values[node] = (values[left[node]] * weight[left[node]] + values[right[node]] * weight[right[node]]) / (
                    weight[node]
                )
        arrays[f"left_{i}"] = left.astype(np.int32)
        arrays[f"right_{i}"] = right.astype(np.int32)
        arrays[f"feature_{i}"] = estimator_tree.feature.astype(np.int32)
        arrays[f"threshold_{i}"] = estimator_tree.threshold.astype(np.float64)
        arrays[f"value_{i}"] = values
        arrays[f"weight_{i}"] = weight
    if supervised is not None:
        trees = supervised_trees(supervised)
        for i, nodes in enumerate(trees):
            leaf = nodes["is_leaf"].astype(bool)
            left = np.where(leaf, -1, nodes["left"].astype(np.int64)).astype(np.int32)
            right = np.where(leaf, -1, nodes["right"].astype(np.int64)).astype(np.int32)
            arrays[f"sup_left_{i}"] = left
            arrays[f"sup_right_{i}"] = right
            arrays[f"sup_default_{i}"] = np.where(nodes["missing_go_to_left"].astype(bool), left, right)
            arrays[f"sup_feature_{i}"] = np.where(leaf, -2, nodes["feature_idx"]).astype(np.int32)
            arrays[f"sup_threshold_{i}"] = nodes["num_threshold"].astype(np.float64)
            arrays[f"sup_value_{i}"] = nodes["value"].astype(np.float64)
            arrays[f"sup_weight_{i}"] = nodes["count"].astype(np.float64)
        arrays["sup_n_trees"] = np.array(len(trees))
        arrays["sup_base_offset"] = np.array(supervised_baseline(supervised))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, n_trees=np.array(len(estimator.estimators_)), **arrays)
    return buffer.getvalue()
