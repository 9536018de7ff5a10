"""`python3 -m naaw_analyzer` < {"cells": [{"index": i, "source": s, "parameters": bool}]} > events."""

import json
import sys

from .cells import analyze


def main() -> None:
    request = json.load(sys.stdin)
    json.dump(analyze(request), sys.stdout)


if __name__ == "__main__":
    main()
