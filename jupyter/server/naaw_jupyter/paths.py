"""Paths the panel sends, checked to stay inside the server's root directory."""

from __future__ import annotations

import os


class BadPath(Exception):
    pass


def inside_root(root: str, given: str | None, what: str, suffixes: tuple[str, ...]) -> str:
    """`given` (relative to the root, `/`-separated, as Jupyter's contents API names files) as a
    root-relative path that exists, or BadPath saying what is wrong."""
    if not given:
        raise BadPath(f"no {what} given: pass ?{what}=<path relative to the server's root>")
    if os.path.isabs(given) or "\\\\" in given:
        raise BadPath(f"{what} {given!r}: give a path relative to the server's root, with '/'")
    real_root = os.path.realpath(root)
    full = os.path.realpath(os.path.join(real_root, *given.split("/")))
    if os.path.commonpath([real_root, full]) != real_root:
        raise BadPath(f"{what} {given!r} is outside the server's root directory")
    if not given.endswith(suffixes):
        raise BadPath(f"{what} {given!r}: expected a {' or '.join(suffixes)} file")
    if not os.path.isfile(full):
        raise BadPath(f"no such {what}: {given}")
    return os.path.relpath(full, real_root).replace(os.sep, "/")
