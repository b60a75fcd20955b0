"""The CLI's CSV writer writes exactly what ``DataFrame.to_csv`` wrote, only faster."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crmhub.reconcile import files
from crmhub.reconcile.files import DATE_FORMAT, write_csv

TRICKY_TEXT = [
    "plain",
    "",
    " padded ",
    "comma, inside",
    'a "quote"',
    '"',
    "line\nbreak",
    "carriage\rreturn",
    "crlf\r\n",
    "tab\tand;semicolon",
    "ëéü ß",
    "علی رضایی",
    "emoji 🙂",
    "\x00nul",
    "\u2028sep",
    None,
]


def _expected(frame: pd.DataFrame, path: Path) -> bytes:
    frame.to_csv(path, index=False, date_format=DATE_FORMAT)
    return path.read_bytes()


def _written(frame: pd.DataFrame, path: Path) -> bytes:
    write_csv(frame, path)
    return path.read_bytes()


def _frame() -> pd.DataFrame:
    n = len(TRICKY_TEXT)
    stamps = pd.Series(
        pd.to_datetime(
            ["2024-01-02T03:04:05.123456Z", None, "1999-12-31T23:59:59Z", "2024-01-02T03:04:05.123456Z"] * n,
            format="ISO8601",
            utc=True,
        ).as_unit("us")
    ).iloc[:n]
    return pd.DataFrame(
        {
            "text": pd.Series(TRICKY_TEXT, dtype=object),
            "string": pd.Series(TRICKY_TEXT, dtype="str"),
            "score": [35.0, -0.0, 0.0, np.nan, 1e20, 0.1 + 0.2, 12.5, 1e-7, -3.0, np.inf, 7.0, 7.0, 2.0, 3.0, 4.0, 5.0],
            "flag": [True, False] * (n // 2),
            "at": stamps.to_numpy(),
            "with,comma": ["x"] * n,
        }
    )


def test_tricky_values_are_written_as_pandas_writes_them(tmp_path: Path) -> None:
    frame = _frame()
    assert _written(frame, tmp_path / "fast.csv") == _expected(frame, tmp_path / "pandas.csv")


def test_chunks_join_into_one_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "CSV_CHUNK_ROWS", 3)
    frame = pd.concat([_frame()] * 5, ignore_index=True)
    assert _written(frame, tmp_path / "fast.csv") == _expected(frame, tmp_path / "pandas.csv")


def test_the_fast_path_covers_the_result_frames_kinds_of_column() -> None:
    """Text (object or string dtype), floats, booleans and UTC timestamps need no fallback to pandas."""
    frame = _frame()
    for name in frame.columns:
        files._csv_cells(frame[name])  # raises _NotFast otherwise


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([1, 2, None], dtype=object),  # numbers in a text column
        pd.Series([1, 2, 3], dtype="int64"),
        pd.Series(pd.to_datetime(["2024-01-01", None, "2024-01-02"]).tz_localize("Europe/Amsterdam")),
        pd.Series(pd.to_datetime(["0999-01-01", "2024-01-02", None], format="ISO8601").tz_localize("UTC")),
        pd.Series([True, None, False], dtype="boolean"),
        pd.Series([b"bytes", "text", None], dtype=object),
        pd.Series([None, None, None], dtype=object),
        pd.Series(["text", pd.NA, float("nan")], dtype=object),
    ],
)
def test_other_columns_are_written_by_pandas(tmp_path: Path, column: pd.Series) -> None:
    frame = pd.DataFrame({"value": column, "text": ["a,b", None, "c"]})
    assert _written(frame, tmp_path / "fast.csv") == _expected(frame, tmp_path / "pandas.csv")


def test_empty_frames(tmp_path: Path) -> None:
    for frame in (pd.DataFrame(columns=["a", "b"]), pd.DataFrame()):
        assert _written(frame, tmp_path / "fast.csv") == _expected(frame, tmp_path / "pandas.csv")
