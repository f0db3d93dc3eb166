"""A batch of evidence as arrays: the input of the inference engines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

#: The state of an unanswered id.
UNKNOWN = -1


@dataclass(frozen=True)
class EvidenceArrays:
    """A batch of evidence as arrays (N patients).

    Attributes
    ----------
    findings : ndarray of int8, shape (N, F)
        1 present, 0 absent, -1 unknown.
    risk_factors : ndarray of int8, shape (N, R)
        1 present, 0 absent, -1 unknown.
    age_band : ndarray of int64, shape (N,)
        Age-band index, or -1 when the age is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> ev = EvidenceArrays(np.array([[1, -1]], dtype=np.int8), np.zeros((1, 0), dtype=np.int8), np.array([-1]))
    >>> len(ev), int(ev.take(np.array([0, 0])).findings[1, 0])
    (1, 1)
    """

    findings: npt.NDArray[np.int8]
    risk_factors: npt.NDArray[np.int8]
    age_band: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.age_band)

    def chunk(self, start: int, stop: int) -> EvidenceArrays:
        """Rows ``start`` to ``stop``."""
        return EvidenceArrays(self.findings[start:stop], self.risk_factors[start:stop], self.age_band[start:stop])

    def take(self, rows: npt.NDArray[np.int64]) -> EvidenceArrays:
        """Return the given rows."""
        return EvidenceArrays(self.findings[rows], self.risk_factors[rows], self.age_band[rows])
