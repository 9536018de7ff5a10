"""How deep the analysis may recurse: Python's own limit for nested scopes, more for the walk."""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator

# Python accepts expressions about 3000 levels deep (its parser's own limit). Our walk recurses once
# per level, so it needs more than the default 1000 frames. Since 3.11 a Python-to-Python call uses
# no C stack, so a higher limit is safe there; on 3.10 the default stays and a deeper cell is
# reported as too deeply nested instead of risking the C stack.
DEFAULT_RECURSION_LIMIT = sys.getrecursionlimit()
WALK_RECURSION_LIMIT = 12_000 if sys.version_info >= (3, 11) else DEFAULT_RECURSION_LIMIT


@contextlib.contextmanager
def recursion_limit(limit: int) -> Iterator[None]:
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)
