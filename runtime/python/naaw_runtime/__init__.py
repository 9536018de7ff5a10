"""naaw_runtime: runs one NaaW component (a directory with component.json, cells.py and component.py)
as a batch step (`python3 -m naaw_runtime run`) or a REST service (`python3 -m naaw_runtime serve`).
Standard library and numpy only; values cross step boundaries as .npy and .json files, never pickles."""

__version__ = "0.1.0"
