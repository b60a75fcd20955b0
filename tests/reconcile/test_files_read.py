"""Reading contact files: blank text is null, a Parquet boolean ``is_deleted`` is kept as it is."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from crmhub.reconcile.files import read_contacts_file


def _parquet(path: Path, **columns: list) -> Path:
    n = len(next(iter(columns.values())))
    base = {"source": ["crm"] * n, "source_id": [str(i) for i in range(n)], "source_updated_at": ["2024-01-01"] * n}
    pd.DataFrame({**base, **columns}).to_parquet(path, index=False)
    return path


def test_blank_text_is_null_and_text_keeps_its_spaces(tmp_path: Path) -> None:
    names = ["Jan", "  ", "\t", "", None, " Piet ", "\u00a0"]
    frame = read_contacts_file(_parquet(tmp_path / "c.parquet", first_name=names))
    assert frame["first_name"].tolist() == ["Jan", None, None, None, None, " Piet ", None]
    assert frame["first_name"].dtype == object


def test_parquet_booleans_and_text_booleans_read_alike(tmp_path: Path) -> None:
    as_bool = read_contacts_file(_parquet(tmp_path / "b.parquet", is_deleted=[True, False, False]))
    as_text = read_contacts_file(_parquet(tmp_path / "t.parquet", is_deleted=["yes", "", None]))
    assert as_bool["is_deleted"].tolist() == as_text["is_deleted"].tolist() == [True, False, False]
    assert as_bool["is_deleted"].dtype == as_text["is_deleted"].dtype


def test_blank_means_what_stripping_means_for_every_character() -> None:
    """The reader asks Arrow's ``utf8_is_space`` whether a value is blank, where the general path strips
    (``utf8_trim_whitespace``): both must agree on which characters are whitespace."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    chars = pa.array([chr(c) for c in range(0x30000) if not 0xD800 <= c <= 0xDFFF])
    stripped_empty = pc.equal(pc.utf8_trim_whitespace(chars), "").to_numpy(zero_copy_only=False)
    is_space = pc.utf8_is_space(chars).to_numpy(zero_copy_only=False)
    assert np.array_equal(stripped_empty, is_space)
