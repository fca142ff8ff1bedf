"""JSON from someone else (a peer node, a JSON-RPC server, an enveloped credential), parsed only once its nesting
is known to be shallow.

The json module parses nesting by recursion. Importing the chain libraries raises Python's recursion limit to
100,000 (py_ecc does, at import), so a document of 200,000 '[' no longer raises RecursionError: it overflows the C
stack and the whole process dies (SIGSEGV) before any handler runs. Depth is measured first, in one vectorised pass
over the text with its strings removed, and a document nested deeper than `max_depth` is refused as ValueError.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

MAX_DEPTH = 64  # every document the project reads nests under 10 deep
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_CHUNK = 1 << 20  # bytes per pass: the running sums of a 50 MB RPC answer never sit in memory at once
_STEP = np.zeros(256, dtype=np.int32)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1


def depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text`, counted outside strings (exact for valid JSON, and
    never less than what the parser would reach on invalid JSON, which it stops reading at the first error)."""
    bare = np.frombuffer(_STRING.sub("", text).encode(), dtype=np.uint8)
    level = deepest = 0
    for start in range(0, len(bare), _CHUNK):
        sums = np.cumsum(_STEP[bare[start : start + _CHUNK]]) + level
        deepest = max(deepest, int(sums.max()))
        level = int(sums[-1])
    return deepest


def loads(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """`data` parsed as UTF-8 JSON; ValueError if it is not, or nests deeper than `max_depth`."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data  # UnicodeDecodeError is a ValueError
    if depth(text) > max_depth:
        raise ValueError(f"JSON nested more than {max_depth} deep")
    return json.loads(text)
