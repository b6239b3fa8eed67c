"""Evaluation reports as JSON: dataclasses to plain values, NaN as null, floats rounded to 4 places."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import Any


def plain(value: Any) -> Any:
    """`value` (a dataclass report, or what it holds) as JSON-ready values."""
    if hasattr(value, "__dataclass_fields__"):
        value = asdict(value)
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    if isinstance(value, dict):
        return {k: plain(x) for k, x in value.items()}
    if isinstance(value, list):
        return [plain(x) for x in value]
    return value


def to_json(report: Any) -> str:
    return json.dumps(plain(report), indent=1)
