"""Where the project's files are, resolved from this package so any working directory works."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent.parent
INCLUDE_DIR = Path(os.environ.get("CRMHUB_INCLUDE_DIR", PROJECT_DIR / "include"))
CONFIG_DIR = INCLUDE_DIR / "config"
SQL_DIR = INCLUDE_DIR / "sql"
GX_DIR = INCLUDE_DIR / "gx"
DATA_DIR = Path(os.environ.get("CRMHUB_DATA_DIR", PROJECT_DIR / "data"))
