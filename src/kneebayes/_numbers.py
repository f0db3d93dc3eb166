"""The one grammar of numbers written in kneebayes' files and on its command line.

Python's ``float`` accepts much more than a decimal number: ``"4_5"`` (read as 45),
``" 1e3 "``, ``"nan"``, ``"infinity"``, ``"0x1p-5"`` (with ``float.fromhex``) and
digits of other scripts (``"١"``). A number in a priors file, a vignette file or
``--age`` must match :data:`DECIMAL` instead: an optional sign, digits with an
optional decimal point (or a point and digits), and an optional exponent.
"""

from __future__ import annotations

import math
import re

#: The accepted text of a number: ``[+-]?(digits[.digits?] | .digits)([eE][+-]?digits)?``, ASCII digits only.
DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

#: How :data:`DECIMAL` is described in error messages.
DECIMAL_RULE = ("must be a number written in decimal, such as 0.03, 12 or 2.5e-4 (ASCII digits, an optional '.' "
                "and exponent; no spaces, underscores, nan or inf)")

#: How a non-finite number (``nan``, ``inf``, ``1e999``) is described in error messages.
FINITE_RULE = "must be a finite number written in decimal"


def rule_for(text: str) -> str:
    """Return the rule a text that :func:`parse_decimal` refused broke (:data:`FINITE_RULE` for nan and inf).

    Examples
    --------
    >>> rule_for("NaN") == FINITE_RULE
    True
    """
    try:
        value = float(text)
    except ValueError:
        return DECIMAL_RULE
    return DECIMAL_RULE if math.isfinite(value) else FINITE_RULE


def parse_decimal(text: str) -> float | None:
    """Return the finite number ``text`` writes, or None when it is not a finite decimal number.

    Examples
    --------
    >>> parse_decimal("2.5e-4")
    0.00025
    >>> parse_decimal("4_5") is None, parse_decimal("nan") is None, parse_decimal(" 1") is None
    (True, True, True)
    >>> parse_decimal("1e999") is None  # decimal, but too large for a float
    True
    """
    if not DECIMAL.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None
