"""Read the warehouse SQL files and adapt their one placeholder style to each driver.

SQL files use ``:name`` placeholders; psycopg wants ``%(name)s`` and DuckDB ``$name``. A file
``name.<dialect>.sql`` overrides ``name.sql`` for that engine only, which keeps per-engine SQL
to the few places where the dialects really differ.

DDL files may also use ``{{ name }}`` for a configured value (``include/config/marts.yaml``, e.g.
a view's look-back in days), rendered at migrate time: views cannot take bind parameters, and
keeping the number in configuration lets a data engineer change it without editing SQL.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from crmhub import paths
from crmhub.errors import ConfigError
from crmhub.yamlfile import read_yaml

WAREHOUSE_SQL_DIR = paths.SQL_DIR / "warehouse"
DIALECTS = ("duckdb", "postgresql")
_DDL_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+(?:\.(duckdb|postgresql))?\.sql$")
_PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def split_statements(text: str) -> list[str]:
    """Split a file into statements: full-line ``--`` comments dropped, ``;`` at line end ends one."""
    statements: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.strip().startswith("--"):
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            stmt = "\n".join(current).strip().rstrip(";").strip()
            if stmt:
                statements.append(stmt)
            current = []
    rest = "\n".join(current).strip()
    if rest:
        statements.append(rest)
    return statements


@cache
def load_statements(name: str, dialect: str) -> tuple[str, ...]:
    """Statements of ``load/<name>.sql`` (or its ``<name>.<dialect>.sql`` override)."""
    path = _load_path(name, dialect)
    if path is None:
        raise FileNotFoundError(f"warehouse SQL file not found: {WAREHOUSE_SQL_DIR / 'load' / name}.sql")
    return tuple(split_statements(path.read_text(encoding="utf-8")))


def has_load_file(name: str, dialect: str) -> bool:
    """Whether ``load/<name>.sql`` or its ``<name>.<dialect>.sql`` override exists."""
    return _load_path(name, dialect) is not None


def _load_path(name: str, dialect: str) -> Path | None:
    """``load/<name>.<dialect>.sql`` if it exists, else ``load/<name>.sql`` if that does."""
    folder = WAREHOUSE_SQL_DIR / "load"
    for path in (folder / f"{name}.{dialect}.sql", folder / f"{name}.sql"):
        if path.exists():
            return path
    return None


def ddl_files(dialect: str) -> list[Path]:
    """Numbered DDL files for ``dialect`` in the order they must run.

    Each is a :class:`DdlFile` carrying the validated mart settings, so reading it renders its
    ``{{ name }}`` templates; a bad settings file fails here, before any DDL runs.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}")
    settings = load_mart_settings()
    files: list[Path] = []
    for path in sorted((WAREHOUSE_SQL_DIR / "ddl").glob("*.sql")):
        match = _DDL_NAME.match(path.name)
        if not match:
            raise ValueError(f"DDL file name must look like 010_name[.dialect].sql: {path}")
        if match.group(2) in (None, dialect):
            ddl = DdlFile(path)
            ddl.settings = settings
            files.append(ddl)
    return files


def placeholders(sql: str) -> list[str]:
    """Names of the ``:name`` placeholders in ``sql``."""
    return _PLACEHOLDER.findall(sql)


def to_pyformat(sql: str) -> str:
    """``:name`` → ``%(name)s`` for psycopg (literal ``%`` escaped)."""
    return _PLACEHOLDER.sub(r"%(\1)s", sql.replace("%", "%%"))


def to_dollar(sql: str) -> str:
    """``:name`` → ``$name`` for DuckDB."""
    return _PLACEHOLDER.sub(r"$\1", sql)


# -- configured values templated into the DDL ({{ name }}, include/config/marts.yaml) ---------------
#: The mart settings file; ``CRMHUB_MARTS_CONFIG`` points at another one (read on every migrate).
MARTS_CONFIG = paths.CONFIG_DIR / "marts.yaml"
#: Bounds of a templated value: whole days (or counts) a view may be told to look back.
_SETTING_MIN, _SETTING_MAX = 1, 36_500
_TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}")


#: Values a settings file may leave out (added after files in the field were written).
DEFAULT_SETTINGS: dict[str, int] = {"social_complaint_days": 2}


def marts_config_path() -> Path:
    """The mart settings file in force: ``CRMHUB_MARTS_CONFIG`` or ``include/config/marts.yaml``."""
    override = os.environ.get("CRMHUB_MARTS_CONFIG")
    return Path(override) if override else MARTS_CONFIG


def load_mart_settings(path: Path | str | None = None) -> dict[str, int]:
    """Read and validate the values the DDL may template (``settings:`` name → whole number).

    Only bounded integers are allowed: they are pasted into SQL text, so nothing else may get there.
    """
    path = Path(path) if path is not None else marts_config_path()
    doc = read_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("settings"), dict):
        raise ConfigError(path, "settings", "must be a mapping of setting name to a whole number")
    unknown = sorted(str(k) for k in doc if k != "settings")
    if unknown:
        raise ConfigError(path, unknown[0], "unknown top-level key (only 'settings' is allowed)")
    settings: dict[str, int] = dict(DEFAULT_SETTINGS)
    for name, value in doc["settings"].items():
        key = f"settings.{name}"
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise ConfigError(path, key, "setting names must be identifiers (letters, digits, _)")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, key, f"must be a whole number, not {value!r}")
        if not _SETTING_MIN <= value <= _SETTING_MAX:
            raise ConfigError(path, key, f"must be between {_SETTING_MIN} and {_SETTING_MAX}, not {value}")
        settings[name] = value
    return settings


def render(text: str, settings: Mapping[str, int], source: Path | str) -> str:
    """Replace every ``{{ name }}`` in ``text`` by its configured value; unknown names raise ConfigError."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in settings:
            raise ConfigError(source, name, f"templated value is not defined in {marts_config_path()} (settings)")
        return str(int(settings[name]))

    rendered = _TEMPLATE.sub(value, text)
    if "{{" in rendered or "}}" in rendered:
        line = next(i for i, ln in enumerate(rendered.splitlines(), 1) if "{{" in ln or "}}" in ln)
        raise ConfigError(source, f"line {line}", "malformed template: write {{ name }} with an identifier")
    return rendered


class DdlFile(type(Path())):  # type: ignore[misc]  # the concrete PosixPath/WindowsPath class
    """A DDL file path whose ``read_text`` renders the ``{{ name }}`` templates.

    ``Warehouse.migrate`` reads every file from :func:`ddl_files` with ``read_text``, so the
    settings are validated once per migrate (before the transaction opens) and applied to every file.
    """

    settings: Mapping[str, int]

    def read_text(self, encoding: str | None = None, errors: str | None = None) -> str:
        return render(super().read_text(encoding=encoding, errors=errors), getattr(self, "settings", {}), self)


def ddl_statements(path: Path, settings: Mapping[str, int] | None = None) -> list[str]:
    """The rendered statements of one DDL file (settings default to the configured ones)."""
    text = Path(path).read_text(encoding="utf-8")
    return split_statements(render(text, load_mart_settings() if settings is None else settings, path))
