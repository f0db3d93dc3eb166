"""Score a Dask DataFrame of patients partition by partition.

:meth:`kneebayes.Model.diagnose_many` hands a Dask DataFrame here (this module,
and so Dask, is imported only then: ``import kneebayes`` imports no Dask). The
result is a lazy Dask DataFrame with the same partitions and index, and the
columns and dtypes :meth:`~kneebayes.Model.diagnose_many` gives for a pandas
DataFrame. The columns are checked before anything is computed; a bad value is
found when its partition is scored, and the error (the same
:class:`~kneebayes.KneeBayesError` subclass as for pandas) names the partition.

The model goes into the task graph once, as one task that every partition's
task depends on (:func:`dask.delayed`), so a cluster sends it to each worker
once, not with every partition. A pickled model carries its priors and numbers
only (about 0.6 MB for the shipped model); each worker builds the engine on its
first partition and keeps it for the next.

Examples
--------
>>> import dask.dataframe as dd
>>> import pandas as pd
>>> from kneebayes import load_model
>>> patients = pd.DataFrame({"spasm": [1.0, None, 0.0, 1.0], "fever": [0.0, 1.0, 0.0, None]})
>>> scored = load_model().diagnose_many(dd.from_pandas(patients, npartitions=2))
>>> scored.npartitions, scored.compute()["triage"].tolist()
(2, ['self_care', 'urgent', 'self_care', 'self_care'])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import dask.dataframe as dd
import pandas as pd
from dask.delayed import delayed

from ._errors import EvidenceError, KneeBayesError, OptionError, UnknownIdError

if TYPE_CHECKING:  # pragma: no cover
    from ._model import Model


def diagnose_partitions(model: Model, frame: dd.DataFrame, *, chunk_size: int, progress: bool,
                        extra: Literal["error", "ignore"]) -> dd.DataFrame:
    """Return ``model.diagnose_many`` of every partition of ``frame``, lazily, as a Dask DataFrame.

    Raises
    ------
    UnknownIdError, EvidenceError, OptionError
        At once, before anything is computed, for what the columns alone show:
        an unknown or repeated column, an id or ``age`` column Dask holds as text,
        a bad ``extra`` or ``progress``.
    """
    if progress:
        raise OptionError("progress=True shows a bar while a pandas DataFrame is scored; a Dask DataFrame is lazy: "
                          "use Dask's progress bars (dask.diagnostics.ProgressBar, distributed.progress) instead")
    empty = frame._meta
    _check_text_columns(model, empty)
    # the columns are validated, and the output's columns and dtypes found, by scoring the empty frame
    meta = model.diagnose_many(empty, chunk_size=chunk_size, extra=extra)
    result: dd.DataFrame = frame.map_partitions(  # type: ignore[no-untyped-call]
        _score_partition, delayed(model), chunk_size=chunk_size, extra=extra, partitions=frame.npartitions,
        meta=meta, transform_divisions=False,
    )
    return result


def _check_text_columns(model: Model, empty: pd.DataFrame) -> None:
    """Refuse id and ``age`` columns of a text dtype: they cannot hold True, False, 1, 0 or ages."""
    text = [str(c) for c in empty.columns
            if (c == "age" or c in model.observable) and isinstance(empty[c].dtype, pd.StringDtype)]
    if text:
        raise EvidenceError(
            f"diagnose_many: column(s) {', '.join(repr(c) for c in text)} of the Dask DataFrame hold text, not "
            "True/False/1/0 (or years): Dask turns object columns into text (True becomes 'True') unless "
            "dask.config.set({'dataframe.convert-string': False}) is set before the frame is made; give such "
            "columns the nullable 'boolean' dtype, or floats 1.0/0.0/NaN, instead"
        )


def _score_partition(part: pd.DataFrame, model: Model, *, chunk_size: int, extra: Literal["error", "ignore"],
                     partitions: int, partition_info: dict[str, Any] | None = None) -> pd.DataFrame:
    """Score one partition; a KneeBayesError is raised again, of the same class, naming the partition."""
    try:
        return model.diagnose_many(part, chunk_size=chunk_size, extra=extra)
    except KneeBayesError as err:
        if partition_info is None:  # pragma: no cover - Dask passes it to every partition
            raise
        where = f"partition {partition_info['number']} of {partitions}"
        if partition_info.get("division") is not None:
            where += f" (index from {partition_info['division']!r})"
        raise _located(err, where) from None


def _located(err: KneeBayesError, where: str) -> KneeBayesError:
    """Return ``err`` again, of the same class, its message prefixed with ``where``."""
    message = f"{where}: {err}"
    if isinstance(err, UnknownIdError):
        return type(err)(message, err.ids, err.suggestions)
    try:
        return type(err)(message)
    except TypeError:  # pragma: no cover - errors with other arguments (priors, saves) are not raised here
        return err
