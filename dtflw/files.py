"""Local-file helpers shared by the local storage and the emulated dbutils file system."""

from __future__ import annotations

import shutil
from pathlib import Path


def rmtree_tolerant(path: Path) -> None:
    """`shutil.rmtree` that tolerates entries (or the folder) removed meanwhile by someone else."""
    for _ in range(20):
        try:
            shutil.rmtree(path)
            return
        except FileNotFoundError:
            if not path.exists():
                return
        except OSError:  # an entry was added, or the folder replaced, meanwhile: go again
            if not path.exists():
                return
    shutil.rmtree(path)
