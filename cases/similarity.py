"""Similar past cases: nearest neighbours on the model's feature vectors of the cases' transactions.

Bounded by design so a case page stays fast at any volume: the candidates are the transactions of
the most recently closed cases the user may see (at most CASES_SIMILAR_CANDIDATES vectors), compared
with numpy after standardising each feature over the candidates; a case's distance is its closest
transaction pair. Closed cases carry an outcome, which is what makes a neighbour useful.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
import numpy as np
from django.conf import settings
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast

from cases.models import Case, CaseTransaction

CANDIDATE_CASES = 1000
TOP_K = 5


@dataclass
class SimilarCase:
    case: Case
    distance: float
    similarity: float  # 1 / (1 + distance), 1 = identical


def similar_cases(
    case: Case, user, *, vectors: list[list[float]], k: int = TOP_K, visible: QuerySet | None = None
) -> list[SimilarCase]:
    """The k closed cases `user` may see (or of `visible`, an API key's cases) whose transactions are nearest
    to `vectors` (this case's feature vectors)."""
    query = _matrix(vectors)
    if query is None:
        return []
    visible = (Case.objects.visible_to(user) if visible is None else visible).exclude(pk=case.pk)
    closed_ids = visible.filter(status=Case.Status.CLOSED).order_by("-closed_at").values("pk")[:CANDIDATE_CASES]
    rows = list(
        CaseTransaction.objects.filter(case_id__in=closed_ids, transaction__decision__features__isnull=False)
        .annotate(features_json=Cast("transaction__decision__features", TextField()))
        .order_by("-case_id")
        .values_list("case_id", "features_json")[: settings.CASES_SIMILAR_CANDIDATES]
    )
    # One msgspec decode for all vectors: per-row JSON parsing cost more than the search itself.
    vectors = _decode_json_list([text for _, text in rows])
    width = query.shape[1]
    pairs = [(case_id, v) for (case_id, _), v in zip(rows, vectors, strict=True) if v and len(v) == width]
    if not pairs:
        return []
    candidates = np.asarray([v for _, v in pairs], dtype=np.float64)
    case_ids = np.asarray([case_id for case_id, _ in pairs])
    scale = candidates.std(axis=0)
    scale[scale < 1e-9] = 1.0
    centre = candidates.mean(axis=0)
    a = (query - centre) / scale
    b = (candidates - centre) / scale
    # squared distances of every (query, candidate) pair, without a 3-D intermediate
    d2 = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * a @ b.T
    nearest = np.sqrt(np.clip(d2, 0.0, None)).min(axis=0)
    best: dict[int, float] = {}
    for case_id, distance in zip(case_ids.tolist(), nearest.tolist(), strict=True):
        if distance < best.get(case_id, np.inf):
            best[case_id] = distance
    top = sorted(best.items(), key=lambda item: item[1])[:k]
    cases = Case.objects.select_related("team").in_bulk([case_id for case_id, _ in top])
    return [
        SimilarCase(case=cases[case_id], distance=round(distance, 3), similarity=round(1.0 / (1.0 + distance), 3))
        for case_id, distance in top
        if case_id in cases
    ]


def _decode_json_list(texts: list[str]) -> list:
    return msgspec.json.decode(("[" + ",".join(texts) + "]").encode()) if texts else []


def _matrix(vectors: list[list[float]]) -> np.ndarray | None:
    usable = [v for v in vectors if v]
    if not usable:
        return None
    width = len(usable[0])
    usable = [v for v in usable if len(v) == width]
    return np.asarray(usable, dtype=np.float64)
