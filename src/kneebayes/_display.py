"""Show a diagnosis to a person: plain text for terminals, HTML for Jupyter.

Display only reads a finished result; it computes nothing.
"""

from __future__ import annotations

import html as _html
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ._diagnosis import Diagnosis

DISCLAIMER = "kneebayes is a research tool, not medical advice: if you are worried, see a doctor."

TRIAGE_TEXT = {
    "self_care": "Self-care: rest, ice and gentle stretching; see a doctor if it does not settle in a few days.",
    "see_doctor": "See a doctor: book an appointment in the coming days.",
    "urgent": "Urgent: get medical care today.",
    "emergency": "Emergency: call emergency services now.",
}
_COLOURS = {"self_care": "#2e7d32", "see_doctor": "#1565c0", "urgent": "#ef6c00", "emergency": "#c62828"}


def _evidence_line(result: Diagnosis) -> str:
    parts = []
    if result.age is not None:
        parts.append(f"age {result.age:g}")
    if result.sex is not None:
        parts.append(f"sex {result.sex}")
    if result.present:
        parts.append("present: " + ", ".join(result.present))
    if result.absent:
        parts.append("absent: " + ", ".join(result.absent))
    return "; ".join(parts) or "no evidence (prior probabilities)"


def text(result: Diagnosis, *, width: int = 30) -> str:
    """Render a diagnosis as a plain-text table, red flags first.

    Examples
    --------
    >>> from kneebayes import diagnose
    >>> print(text(diagnose(present=["fever"])).splitlines()[0])
    !! RED FLAG [URGENT] ...
    """
    lines: list[str] = []
    for flag in result.red_flags:
        lines.append(f"!! RED FLAG [{flag.level.upper()}] {flag.message}")
        lines.append(f"   why: {flag.why}")
    lines.append(f"Triage: {result.triage} - {TRIAGE_TEXT[result.triage]}")
    lines.append(f"Evidence: {_evidence_line(result)}")
    lines.append("")
    name = max([24, *(len(str(cause)) for cause in result.probabilities.index)])
    lines.append(f"{'cause':<{name}} {'probability':>11}  {'':<{width}}  label")
    for cause, p in result.probabilities.items():
        bar = "#" * int(round(float(p) * width))
        lines.append(f"{cause:<{name}} {float(p):>11.3f}  {bar:<{width}}  {result.labels.get(str(cause), '')}")
    lines.append("")
    lines.append(DISCLAIMER)
    return "\n".join(lines)


def html(result: Diagnosis) -> str:
    """Render a diagnosis as HTML: triage banner, red flags, ranked bars, disclaimer.

    Examples
    --------
    >>> from kneebayes import diagnose
    >>> TRIAGE_TEXT["urgent"] in html(diagnose(present=["fever"]))
    True
    """
    esc = _html.escape
    colour = _COLOURS[result.triage]
    out = [
        '<div class="kneebayes-diagnosis" style="font-family: sans-serif; max-width: 46em">',
        f'<div style="background:{colour};color:white;padding:0.5em 0.8em;border-radius:4px;font-weight:bold">'
        f"{esc(TRIAGE_TEXT[result.triage])}</div>",
    ]
    for flag in result.red_flags:
        out.append(
            '<div style="border:2px solid #c62828;background:#ffebee;padding:0.4em 0.8em;margin-top:0.4em">'
            f"<b>Red flag ({esc(flag.level)}):</b> {esc(flag.message)}<br><small>why: {esc(flag.why)}</small></div>"
        )
    out.append(f'<p style="margin:0.4em 0"><small>Evidence: {esc(_evidence_line(result))}</small></p>')
    out.append('<table style="border-collapse:collapse">')
    for cause, p in result.probabilities.items():
        percent = 100.0 * float(p)
        out.append(
            "<tr>"
            f'<td style="padding-right:1em">{esc(result.labels.get(str(cause), str(cause)))}</td>'
            f'<td style="width:14em"><div style="background:#90a4ae;height:0.9em;width:{percent:.1f}%"></div></td>'
            f'<td style="text-align:right;padding-left:0.5em">{float(p):.3f}</td>'
            "</tr>"
        )
    out.append("</table>")
    out.append(f"<p><small><i>{esc(DISCLAIMER)}</i></small></p></div>")
    return "\n".join(out)
