"""`python3 -m naaw_analyzer` < {"cells": [{"index": i, "source": s, "parameters": bool}]} > events."""

import json
import sys

from .cells import analyze


def main() -> None:
    request = json.load(sys.stdin)
    # One write: json.dump writes each token on its own, a system call each when stdout is
    # unbuffered (PYTHONUNBUFFERED, common in containers and CI): thousands for one notebook.
    sys.stdout.write(json.dumps(analyze(request)))


if __name__ == "__main__":
    main()
