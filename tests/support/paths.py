"""Where the repository is, for subprocess working directories and the files tests read."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
