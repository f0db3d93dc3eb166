"""Read a prior file (or a vignette file) into pandas, exactly as kneebayes reads it.

The files are CSV with ``#`` comment lines. ``pandas.read_csv(path, comment="#")``
would also cut a line at a ``#`` inside a quoted field (a reference title such as
"Statistical Brief #119"), so this reader drops only whole lines that start with
``#`` (and blank lines), as kneebayes' own loader does, and hands the rest to pandas.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd


def read_prior_file(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read one CSV file of a priors folder as a table of strings, comment lines left out.

    Parameters
    ----------
    path : str or path-like
        A file such as ``priors/causes.csv`` (or ``validation/vignettes.csv``).

    Returns
    -------
    pandas.DataFrame
        One row per data row, every field as text (an empty field is ``""``).

    Examples
    --------
    >>> from kneebayes import read_prior_file, shipped_priors_path
    >>> causes = read_prior_file(shipped_priors_path() / "causes.csv")
    >>> causes.set_index("id").loc["dvt", "care"]
    'urgent'
    """
    text = Path(path).read_text(encoding="utf-8-sig")
    kept = [line for line in text.splitlines(keepends=True) if line.strip() and not line.lstrip().startswith("#")]
    return pd.read_csv(io.StringIO("".join(kept)), dtype=str, keep_default_na=False)
