"""The adversarial corpus (tests/vectors/detection/, written by tests/vectors/detection_corpus.py): recall and
precision per entity type, and exact offsets for every positive."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from securedesk.detection import ENTITY_TYPES, Detector

VECTORS = Path(__file__).parents[2] / "vectors" / "detection"
MIN_RECALL = 0.995
MIN_PRECISION = 0.99


def _load(name: str) -> list[dict[str, Any]]:
    with (VECTORS / f"{name}.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def outcome(detector: Detector) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {"tp": Counter(), "fn": Counter(), "fp": Counter()}
    for vector in _load("positives") + _load("negatives"):
        found = {(f.entity_type, f.start, f.end) for f in detector.analyze(vector["text"], vector["lang"])}
        expected = {tuple(item) for item in vector["expected"]}
        for entity, _, _ in expected & found:
            counts["tp"][entity] += 1
        for entity, _, _ in expected - found:
            counts["fn"][entity] += 1
        for entity, _, _ in found - expected:
            counts["fp"][entity] += 1
    return counts


def test_the_corpus_is_large_enough_and_every_vector_has_an_origin() -> None:
    positives, negatives = _load("positives"), _load("negatives")
    assert len(positives) >= 3000
    assert len(negatives) >= 3000
    assert all(vector["origin"] for vector in positives + negatives)
    per_type = Counter(item[0] for vector in positives for item in vector["expected"])
    assert set(per_type) == set(ENTITY_TYPES)
    assert min(per_type.values()) >= 600


@pytest.mark.parametrize("entity", ENTITY_TYPES)
def test_recall_per_type(outcome: dict[str, Counter[str]], entity: str) -> None:
    tp, fn = outcome["tp"][entity], outcome["fn"][entity]
    assert tp / (tp + fn) >= MIN_RECALL, f"{entity}: {fn} of {tp + fn} missed"


@pytest.mark.parametrize("entity", ENTITY_TYPES)
def test_precision_per_type(outcome: dict[str, Counter[str]], entity: str) -> None:
    tp, fp = outcome["tp"][entity], outcome["fp"][entity]
    assert tp / (tp + fp) >= MIN_PRECISION, f"{entity}: {fp} false positives against {tp} true"
