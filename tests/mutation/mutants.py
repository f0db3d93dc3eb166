"""Hand-made, realistic mutants of kneebayes, for ``python tests/mutation/run.py``.

Each mutant is ``(id, file, old, new, description)``: ``old`` must occur exactly once in
``file`` (relative to the repository root), and is replaced by ``new``. A mutant whose
``old`` no longer occurs exactly once is reported "stale": update its snippet to the
code as it now stands (keep the fault it describes), do not delete it.

Snippets are kept short and chosen in code that is not expected to move; when a module
is rewritten, re-aim its mutants at the same kind of fault in the new code.
"""

from __future__ import annotations

from typing import NamedTuple


class Mutant(NamedTuple):
    """One fault: replace ``old`` (found exactly once in ``file``) by ``new``."""

    id: str
    file: str
    old: str
    new: str
    description: str


S = "src/kneebayes/"

MUTANTS: list[Mutant] = [
    # ---- red flags and triage (_red_flags.py) -------------------------------------------------------------
    Mutant("red_flag_threshold_strict", S + "_red_flags.py",
           "posteriors[:, cause_column[rule.when_cause]] >= rule.at_least",
           "posteriors[:, cause_column[rule.when_cause]] > rule.at_least",
           "a red-flag threshold compared with > instead of >="),
    Mutant("red_flag_replaces_level", S + "_red_flags.py",
           "level = np.maximum(level, np.where(fired, rule_rank[None, :], 0).max(axis=1))",
           "level = np.where(fired.any(axis=1), np.where(fired, rule_rank[None, :], 0).max(axis=1), level)",
           "a fired rule replaces a higher care level instead of taking the highest"),
    Mutant("red_flag_last_finding_only", S + "_red_flags.py",
           "fires &= present[:, column[ident]]",
           "fires = present[:, column[ident]]",
           "a rule on several findings fires on its last finding alone"),
    Mutant("care_threshold_strict", S + "_red_flags.py",
           "probable = posteriors >= care_threshold",
           "probable = posteriors > care_threshold",
           "a cause exactly at the care threshold is not counted as probable"),
    Mutant("describe_drops_findings", S + "_red_flags.py",
           'reasons = [f"{ident} reported present" for ident in rule.when_present]',
           "reasons: list[str] = []",
           "the why of a fired rule no longer names its findings"),
    # ---- result and display (_diagnosis.py, _display.py) -------------------------------------------------------
    Mutant("to_dict_why_is_message", S + "_diagnosis.py",
           '"message": f.message, "why": f.why}',
           '"message": f.message, "why": f.message}',
           "to_dict() gives the message as the why"),
    Mutant("html_banner_removed", S + "_display.py",
           "        f'<div style=\"background:{colour};color:white;padding:0.5em 0.8em;border-radius:4px;"
           "font-weight:bold\">'\n"
           '        f"{esc(TRIAGE_TEXT[result.triage])}</div>",\n',
           "",
           "the HTML display without its triage banner"),
    Mutant("text_disclaimer_removed", S + "_display.py",
           "    lines.append(DISCLAIMER)\n",
           '    lines.append("")\n',
           "the text display without the not-medical-advice line"),
    Mutant("flags_least_serious_first", S + "_model.py",
           "key=lambda flag: -TRIAGE_LEVELS.index(flag.level),",
           "key=lambda flag: TRIAGE_LEVELS.index(flag.level),",
           "fired red flags listed least serious first"),
    # ---- engine (_engine.py, _contraction.py) ----------------------------------------------------------------
    Mutant("batch_no_clip", S + "_engine.py",
           "out[joint.order] = np.clip(sums[:, :-1] / sums[:, -1:], 0.0, 1.0)",
           "out[joint.order] = sums[:, :-1] / sums[:, -1:]",
           "batch posteriors no longer clipped to [0, 1]"),
    Mutant("log_space_no_clip", S + "_engine.py",
           "posteriors: FloatArray = np.clip(sums[:, :-1] / sums[:, -1:], 0.0, 1.0)",
           "posteriors: FloatArray = sums[:, :-1] / sums[:, -1:]",
           "posteriors of the log-space path no longer clipped to [0, 1]"),
    Mutant("batch_wrong_normaliser", S + "_engine.py",
           "out[joint.order] = np.clip(sums[:, :-1] / sums[:, -1:], 0.0, 1.0)",
           "out[joint.order] = np.clip(sums[:, :-1] / sums[:, :-1].sum(axis=1, keepdims=True), 0.0, 1.0)",
           "posteriors normalised over causes (as if they were exclusive) instead of by P(evidence)"),
    Mutant("log_evidence_unused_roots_swapped", S + "_engine.py",
           """            total += np.where(state == 1, np.log(p.rf_prevalence[r]), 0.0)
            total += np.where(state == 0, np.log1p(-p.rf_prevalence[r]), 0.0)""",
           """            total += np.where(state == 1, np.log1p(-p.rf_prevalence[r]), 0.0)
            total += np.where(state == 0, np.log(p.rf_prevalence[r]), 0.0)""",
           "log_evidence with present and absent swapped for unused roots"),
    Mutant("log_likelihood_answers_swapped", S + "_engine.py",
           "answers = np.concatenate([ev.findings == 0, ev.findings == 1], axis=1).astype(float)",
           "answers = np.concatenate([ev.findings == 1, ev.findings == 0], axis=1).astype(float)",
           "the log-space likelihood reads present answers as absent and vice versa"),
    Mutant("absent_factor_wrong", S + "_engine.py",
           "self._log_off = np.ascontiguousarray(np.log1p(-params.q).T)",
           "self._log_off = np.ascontiguousarray(np.log(params.q).T)",
           "an absent finding multiplies by q instead of 1 - q"),
    Mutant("pattern_code_radix", S + "_contraction.py",
           "code = code * (net.root_cards[i] + 1) + ",
           "code = code * net.root_cards[i] + ",
           "the answer-pattern code's radix ignores the unknown state, so patterns collide"),
    Mutant("unknown_root_weight", S + "_contraction.py",
           "weights[:, 1] = np.where(state == 0, 0.0, prevalence)",
           "weights[:, 1] = np.where(state == 0, 0.0, 1.0 - prevalence)",
           "an unanswered risk factor weighted by 1 - prevalence when present"),
    # ---- parameters (_parameters.py, _graph.py) ----------------------------------------------------------------
    Mutant("noisy_or_no_leak_conversion", S + "_parameters.py",
           'q[c_index[cause], f] = 1.0 - (1.0 - row["probability"]) / (1.0 - leak[f])',
           'q[c_index[cause], f] = row["probability"]',
           "P(finding | cause alone) used as the noisy-OR parameter without removing the leak"),
    Mutant("odds_ratio_not_logged", S + "_parameters.py",
           'weight = float(np.log(row["odds_ratio"]))',
           'weight = float(row["odds_ratio"])',
           "an odds ratio used as a log-odds weight"),
    Mutant("intercept_unweighted", S + "_parameters.py",
           "if float(prob @ _sigmoid(mid + score)) < target:",
           "if float(np.mean(_sigmoid(mid + score))) < target:",
           "the intercept solver averages over parent configurations without their probabilities"),
    Mutant("parent_states_swapped", S + "_parameters.py",
           "prob = np.concatenate([prob * (1.0 - p), prob * p])",
           "prob = np.concatenate([prob * p, prob * (1.0 - p)])",
           "a cause parent's present and absent probabilities swapped when calibrating its child"),
    Mutant("age_band_boundary", S + "_parameters.py",
           'return int(np.searchsorted(self.age_min, age, side="right") - 1)',
           'return int(np.searchsorted(self.age_min, age, side="left") - 1)',
           "an age equal to a band's lower bound put in the band below (< vs <=)"),
    Mutant("topological_order_ignores_parents", S + "_graph.py",
           """        for parent in parents.get(node, ()):
            place(parent)
""",
           "",
           "causes calibrated in file order, a child possibly before its parents"),
    Mutant("cycle_check_off", S + "_graph.py",
           "            if state.get(parent) == 1:\n",
           "            if state.get(parent) == 3:\n",
           "a cycle among causes is never detected"),
    # ---- batches (_model.py) -----------------------------------------------------------------------------
    Mutant("batch_age_boundary", S + "_model.py",
           'age[known] = np.searchsorted(p.age_min, values[known], side="right") - 1',
           'age[known] = np.searchsorted(p.age_min, values[known], side="left") - 1',
           "diagnose_many puts an age on a band's lower bound in the band below"),
    Mutant("batch_unknown_counts_as_present", S + "_model.py",
           "present = np.concatenate([ev.findings == 1, ev.risk_factors == 1], axis=1)",
           "present = np.concatenate([ev.findings != 0, ev.risk_factors != 0], axis=1)",
           "diagnose_many fires finding rules on unanswered findings"),
    Mutant("batch_false_read_as_true", S + "_model.py",
           "out[i] = 1 if bool(value) else 0",
           "out[i] = 1",
           "diagnose_many reads False in an object column as present"),
    # ---- evaluation (_evaluate.py) ------------------------------------------------------------------------
    Mutant("top3_counts_top4", S + "_evaluate.py",
           '"top3_ok": bool(acceptable & set(ranked[i][:3])),',
           '"top3_ok": bool(acceptable & set(ranked[i][:4])),',
           "top-3 counts the top 4"),
    Mutant("top1_ignores_alternatives", S + "_evaluate.py",
           '"top1_ok": ranked[i][0] in acceptable,',
           '"top1_ok": ranked[i][0] == case["diagnosis"],',
           "top-1 ignores the acceptable alternatives"),
    Mutant("urgent_set_emergency_only", S + "_evaluate.py",
           'urgent = cases["right_triage"].isin(["urgent", "emergency"])',
           'urgent = cases["right_triage"].isin(["emergency"])',
           "the urgent-or-worse set leaves out urgent"),
    Mutant("log_loss_clip_wrong", S + "_evaluate.py",
           'clipped = cases["p_diagnosis"].clip(lower=1e-15)',
           'clipped = cases["p_diagnosis"].clip(lower=1e-6)',
           "log loss clips P(diagnosis) at 1e-6 instead of 1e-15"),
    # ---- evidence and ids (_evidence.py, _vocabulary.py) ---------------------------------------------------------
    Mutant("contradiction_not_checked", S + "_evidence.py",
           "both = sorted(set(present_ids) & set(absent_ids))",
           "both: list[str] = []",
           "the same id present and absent is accepted"),
    Mutant("negative_age_accepted", S + "_evidence.py",
           "if math.isnan(value) or not 0 <= value <= MAX_AGE:",
           "if math.isnan(value) or not value <= MAX_AGE:",
           "an age below 0 is accepted"),
    Mutant("did_you_mean_too_strict", S + "_vocabulary.py",
           "close = difflib.get_close_matches(word, options, n=3, cutoff=0.6)",
           "close = difflib.get_close_matches(word, options, n=3, cutoff=0.97)",
           "did_you_mean no longer suggests a one-letter typo's id"),
    # ---- priors validation (_priors.py) -------------------------------------------------------------------
    Mutant("range_low_unchecked", S + "_priors.py",
           "if not low <= value <= high:",
           "if not value <= high:",
           "validation checks only value <= high, never value >= low"),
    Mutant("share_zero_accepted", S + "_priors.py",
           'if kind == "share" and not 0.0 < value <= 1.0:',
           'if kind == "share" and not 0.0 <= value <= 1.0:',
           "an age-band share of 0 is accepted"),
    Mutant("age_shares_sum_loose", S + "_priors.py",
           "if abs(total - 1.0) > 1e-6:",
           "if abs(total - 1.0) > 0.05:",
           "age-band shares that sum to 1.04 are accepted"),
    Mutant("expert_estimate_without_range", S + "_priors.py",
           'self.source(table, row, "source", needs_range=low == high)',
           'self.source(table, row, "source", needs_range=False)',
           "an expert estimate with low == high is accepted"),
    # ---- reading and saving files (_csvfile.py, _priors.py save) ---------------------------------------------------
    Mutant("csv_fields_not_stripped", S + "_csvfile.py",
           "rows.append(Row(lines.line, {k: v.strip() for k, v in zip(header, values, strict=True)}, row_text))",
           "rows.append(Row(lines.line, dict(zip(header, values, strict=True)), row_text))",
           "CSV fields keep their surrounding spaces"),
    Mutant("csv_inner_comments_dropped", S + "_csvfile.py",
           'if number > leading and line.strip().startswith("#")',
           'if number > leading and line.startswith("#") and False',
           "comment lines between rows are not kept, so save() drops them"),
    Mutant("save_no_rollback", S + "_priors.py",
           "                    (folder / name).write_bytes(old[name])\n",
           "                    pass\n",
           "a save that fails midway leaves the files already moved in place (no rollback)"),
    Mutant("save_leaves_temp_files", S + "_priors.py",
           """                if temp.exists():
                    temp.unlink()""",
           """                if temp.exists():
                    pass""",
           "a failed save leaves its hidden temporary files behind"),
    # ---- pgmpy export (_pgmpy_model.py), package (__init__.py, _shipped.py), errors, command line ----------------
    Mutant("pgmpy_absent_as_present", S + "_pgmpy_model.py",
           'states.update({i: "absent" for i in evidence.absent})',
           'states.update({i: "present" for i in evidence.absent})',
           "the pgmpy reference reads absent answers as present"),
    Mutant("shipped_diagnose_drops_absent", S + "_shipped.py",
           "return shipped_model().diagnose(present, absent, age, engine=engine)",
           "return shipped_model().diagnose(present, None, age, engine=engine)",
           "kneebayes.diagnose() ignores the absent answers"),
    Mutant("progress_never_advances", S + "_progress.py",
           "        yield bar.update\n",
           "        yield lambda n: None\n",
           "the progress bar is never advanced"),
    Mutant("firedflag_not_exported", S + "__init__.py",
           '    "FiredFlag",\n',
           "",
           "FiredFlag missing from __all__"),
    Mutant("problem_line_unlabelled", S + "_errors.py",
           'where += f", line {self.line}"',
           'where += f" {self.line}"',
           "a problem's line number printed without the word 'line'"),
    Mutant("cli_error_exit_1", S + "cli.py",
           '''self.exit(2, f"kneebayes: error: {message} (see 'kneebayes --help')\\n")''',
           '''self.exit(1, f"kneebayes: error: {message} (see 'kneebayes --help')\\n")''',
           "a command-line usage error exits with 1 instead of 2"),
    Mutant("cli_error_traceback", S + "cli.py",
           "    except KneeBayesError as err:\n",
           "    except OSError as err:  # type: ignore[misc]\n",
           "the command line lets a KneeBayesError escape as a traceback"),
]
