"""An explorer for Jupyter: answer questions with toggles and watch the causes, the triage and the reasons move.

Needs ``ipywidgets`` (in the ``notebooks`` extra). Every number shown comes from
the model's public methods: :meth:`~kneebayes.Model.diagnose`,
:meth:`~kneebayes.Model.explain` and :meth:`~kneebayes.Model.interview_step`.

Examples
--------
>>> from kneebayes.widgets import Explorer
>>> explorer = Explorer()
>>> explorer.set(present=["calf_swelling", "recent_immobility"], age=64)
>>> explorer.diagnosis.triage, explorer.diagnosis.top
('urgent', 'dvt')
>>> explorer.set(present=["pulsating_lump"], age=72, sex="male")
>>> explorer.sex.value, explorer.diagnosis.sex
('male', 'male')
>>> "Urgent" in explorer.result.value
True
"""

from __future__ import annotations

import html as _html
from collections.abc import Iterable
from typing import Any

import ipywidgets as w

from ._diagnosis import Diagnosis
from ._display import DISCLAIMER
from ._errors import ContradictoryEvidenceError
from ._explain import Explanation
from ._model import Model

#: The three states of a question's control.
STATES = ("unknown", "present", "absent")
#: The three states of the sex control.
SEXES = ("unknown", "female", "male")
_GROUPS = (("symptom", "Symptoms"), ("red_flag", "Warning signs"), ("risk_factor", "Risk factors"))


class Explorer:
    """A panel of present / absent / unknown controls with live ranked causes, triage, reasons and next question.

    Parameters
    ----------
    model : Model, optional
        The model to explore; the shipped model by default.

    Attributes
    ----------
    toggles : dict of str to ipywidgets.ToggleButtons
        One control per id (values ``"unknown"``, ``"present"``, ``"absent"``).
    age_known : ipywidgets.Checkbox
        Whether the age is given.
    age : ipywidgets.IntSlider
        The age in years.
    sex : ipywidgets.ToggleButtons
        The sex: ``"unknown"``, ``"female"`` or ``"male"`` (disabled when the model
        does not model sex).
    result, explanation, question : ipywidgets.HTML
        The diagnosis (triage banner and ranked bars), the explanation of the top
        cause, and the suggested next question.
    diagnosis : Diagnosis
        The diagnosis shown now.
    step : dict
        The interview step shown now (as :meth:`Model.interview_step`).
    """

    def __init__(self, model: Model | None = None) -> None:
        if model is None:
            from ._shipped import shipped_model

            model = shipped_model()
        self.model = model
        self.unknown: list[str] = []  # ids answered "don't know" through the question buttons
        vocab = model.findings()
        self.toggles: dict[str, w.ToggleButtons] = {}
        sections = []
        for kind, title in _GROUPS:
            rows = []
            for ident, row in vocab[vocab["kind"] == kind].iterrows():
                toggle = w.ToggleButtons(options=list(STATES), value="unknown", tooltips=[str(row["question"])] * 3,
                                         style={"button_width": "6.5em"}, layout=w.Layout(flex="0 0 auto"))
                toggle.observe(self._changed, names="value")
                self.toggles[str(ident)] = toggle
                label = w.HTML(f'<span title="{_html.escape(str(ident))}" style="line-height:1.2">'
                               f"{_html.escape(str(row['label']))}</span>", layout=w.Layout(width="20em"))
                rows.append(w.HBox([label, toggle], layout=w.Layout(flex="0 0 auto", align_items="center")))
            sections.append(w.VBox([w.HTML(f"<h4 style='margin:0.4em 0'>{title}</h4>"), *rows],
                                   layout=w.Layout(flex="0 0 auto")))
        self.age_known = w.Checkbox(value=False, description="age known", indent=False)
        self.age = w.IntSlider(value=40, min=0, max=120, description="age", continuous_update=False)
        self.age_known.observe(self._changed, names="value")
        self.age.observe(self._changed, names="value")
        self.sex = w.ToggleButtons(options=list(SEXES), value="unknown", description="sex",
                                   disabled=model.parameters.sex is None, style={"button_width": "6.5em"})
        self.sex.observe(self._changed, names="value")
        self.result = w.HTML()
        self.explanation = w.HTML()
        self.question = w.HTML()
        self.answer_buttons = {label: w.Button(description=label) for label in ("yes", "no", "don't know")}
        for label, button in self.answer_buttons.items():
            button.on_click(lambda _, answer=label: self.answer(answer))
        inputs = w.VBox([w.HBox([self.age_known, self.age]), self.sex], layout=w.Layout(flex="0 0 auto"))
        controls = w.VBox([inputs, *sections],
                          layout=w.Layout(width="42em", max_height="52em", overflow="auto"))
        output = w.VBox([self.result, self.question, w.HBox(list(self.answer_buttons.values())), self.explanation],
                        layout=w.Layout(width="44em"))
        self.panel = w.HBox([controls, output])
        self._quiet = False
        self.diagnosis: Diagnosis
        self.why: Explanation
        self.step: dict[str, Any]
        self.refresh()

    # ---- state -------------------------------------------------------------------------------
    def evidence(self) -> tuple[list[str], list[str], float | None, str | None]:
        """Return the answers now set: present ids, absent ids, the age and the sex (None when unknown)."""
        present = [i for i, t in self.toggles.items() if t.value == "present"]
        absent = [i for i, t in self.toggles.items() if t.value == "absent"]
        age = float(self.age.value) if self.age_known.value else None
        return present, absent, age, None if self.sex.value == "unknown" else str(self.sex.value)

    def set(self, present: Iterable[str] = (), absent: Iterable[str] = (), age: float | None = None, *,
            sex: str | None = None) -> None:
        """Set every control at once (ids not named, and the age and sex when None, become unknown); refresh once."""
        present, absent = list(present), list(absent)
        self.model.evidence(present, absent, age, sex=sex)  # bad ids, age or sex are refused before any change
        self._quiet = True
        try:
            for ident, toggle in self.toggles.items():
                toggle.value = "present" if ident in present else "absent" if ident in absent else "unknown"
            self.age_known.value = age is not None
            if age is not None:
                self.age.value = int(round(age))
            self.sex.value = "unknown" if sex is None else sex
        finally:
            self._quiet = False
        self.unknown = [i for i in self.unknown if i not in present and i not in absent]
        self.refresh()

    def answer(self, answer: str) -> None:
        """Answer the suggested question: ``"yes"``, ``"no"`` or ``"don't know"``."""
        question = self.step.get("question")
        if question is None:
            return
        if answer == "yes":
            self.toggles[question].value = "present"
        elif answer == "no":
            self.toggles[question].value = "absent"
        else:
            self.unknown.append(question)
            self.refresh()

    # ---- display -----------------------------------------------------------------------------
    def _changed(self, _: Any) -> None:
        if not self._quiet:
            self.refresh()

    def refresh(self) -> None:
        """Recompute the diagnosis, the explanation and the next question from the controls.

        Controls that contradict each other (pregnancy present with sex male) show the
        error in place of the result, with the answer buttons off, until one is changed;
        ``diagnosis``, ``why`` and ``step`` keep the last consistent answers.
        """
        present, absent, age, sex = self.evidence()
        self.unknown = [i for i in self.unknown if i not in present and i not in absent]
        esc = _html.escape
        try:
            self.model.evidence(present, absent, age, sex=sex)
        except ContradictoryEvidenceError as err:
            self.result.value = f"<div style='color:#c62828;margin:0.5em 0'><b>{esc(str(err))}</b></div>"
            self.explanation.value = self.question.value = ""
            for button in self.answer_buttons.values():
                button.disabled = True
            return
        self.diagnosis = self.model.diagnose(present, absent, age, sex=sex)
        self.why = self.model.explain(present, absent, age, sex=sex)
        self.step = self.model.interview_step(present, absent, age, sex=sex, unknown=self.unknown)
        self.result.value = self.diagnosis._repr_html_()
        self.explanation.value = self.why._repr_html_()
        if self.step["should_stop"]:
            text = f"<b>No more questions needed.</b> <small>{esc(self.step['reason'])}</small>"
        else:
            tag = " (warning sign)" if self.step["red_flag"] else ""
            text = (f"<b>Suggested next question{tag}:</b> {esc(self.step['question_text'])} "
                    f"<small>({esc(self.step['question'])}; expected to tell {self.step['gain']:.2f} bits)</small>")
        self.question.value = f"<div style='margin:0.5em 0'>{text}</div>"
        for button in self.answer_buttons.values():
            button.disabled = bool(self.step["should_stop"])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.panel)  # type: ignore[no-untyped-call]

    def __repr__(self) -> str:
        present, absent, age, sex = self.evidence()
        return (f"<kneebayes Explorer: {len(present)} present, {len(absent)} absent, age {age}, sex {sex}; "
                f"triage {self.diagnosis.triage}, top {self.diagnosis.top}. {DISCLAIMER}>")


def explorer(model: Model | None = None) -> Explorer:
    """Return an :class:`Explorer` for ``model`` (the shipped model by default); display it in Jupyter.

    Examples
    --------
    >>> explorer().diagnosis.triage
    'self_care'
    """
    return Explorer(model)
