"""``kneebayes interview``: ask one question at a time on the terminal, or one stateless step as JSON.

Answers are read line by line from standard input: ``y`` (yes), ``n`` (no),
``?`` (don't know), ``q`` (stop now). The age and the sex, unless given with
``--age`` and ``--sex``, are asked first, as inputs rather than ranked questions.
The interview asks the red-flag questions first, shows the running top causes
after each answer, says at once when a red flag fires, and stops by the rule of
:meth:`kneebayes.Model.interview_step`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO, TypeVar

from ._display import DISCLAIMER

T = TypeVar("T")

ANSWERS = {
    "y": "yes", "yes": "yes", "n": "no", "no": "no", "?": "unknown", "d": "unknown", "dk": "unknown",
    "don't know": "unknown", "dont know": "unknown", "skip": "unknown", "q": "quit", "quit": "quit",
}

EXAMPLE = """examples:
  kneebayes interview                                  # answer y / n / ? one question at a time
  kneebayes interview --age 64 --sex male --present calf_swelling   # start from what is already known
  kneebayes interview --present calf_swelling --absent fever --sex female --json   # one step, for an app
"""


def register(sub: Any) -> None:
    """Add the ``interview`` subcommand to the command line's subparsers."""
    i = sub.add_parser(
        "interview",
        help="ask one question at a time until more answers would not change the result",
        description=("Ask one question at a time (y = yes, n = no, ? = don't know, q = stop),\n"
                     "red-flag questions first, showing the top causes as answers come in, and stop\n"
                     "when no single answer could change the triage or the top cause.\n" + DISCLAIMER),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    i.add_argument("--present", nargs="+", action="extend", default=[], metavar="ID", help="ids already reported")
    i.add_argument("--absent", nargs="+", action="extend", default=[], metavar="ID", help="ids already denied")
    i.add_argument("--unknown", nargs="+", action="extend", default=[], metavar="ID",
                   help="ids already asked and answered \"don't know\"")
    i.add_argument("--age", type=float, default=None, metavar="YEARS",
                   help="age in years (0-120); asked first when missing (except with --json)")
    i.add_argument("--sex", default=None, metavar="SEX",
                   help="female or male; asked after the age when missing (except with --json)")
    i.add_argument("--min-gain", type=float, default=0.01, metavar="BITS",
                   help="stop when the best question is expected to tell less than this (default 0.01 bits)")
    i.add_argument("--priors", default=None, metavar="PATH", help="a priors folder (default: the shipped priors)")
    i.add_argument("--json", action="store_true",
                   help="print one step as JSON (the next question, or the result when it stops) and exit")
    i.add_argument("--explain", action="store_true", help="with --json: add the explanation of the top cause")


def _read(stream: TextIO) -> str | None:
    """Read one answer; None when the input has ended. Piped answers are echoed, so a log reads like a dialogue."""
    line = stream.readline()
    if line == "":
        return None
    if not stream.isatty():
        print(line.strip())
    return line.strip().lower()


def _ask(stream: TextIO, question: str, parse: Callable[[str], T | None], retry: str) -> tuple[T | None, bool]:
    """Ask ``question`` until ``parse`` accepts the answer or it is skipped; return it and whether input ended.

    ``parse`` returns the value, or None (or raises ValueError) for an answer to ask again.
    """
    while True:
        print(question, end="", flush=True)
        line = _read(stream)
        if line is None:
            print()
            return None, True
        if line in ("?", "", "skip"):
            return None, False
        try:
            value = parse(line)
        except ValueError:  # InvalidAgeError is a ValueError too
            value = None
        if value is not None:
            return value, False
        print(retry)


def _ask_age(stream: TextIO) -> tuple[float | None, bool]:
    """Ask the age until it is valid or skipped; return it and whether input ended."""
    from ._evidence import check_age

    return _ask(stream, "How old are you, in years? (? if you prefer not to say) ",
                lambda line: check_age(float(line)), "  please give a number of years between 0 and 120, or ?")


SEX_ANSWERS = {"f": "female", "female": "female", "w": "female", "woman": "female",
               "m": "male", "male": "male", "man": "male"}


def _ask_sex(stream: TextIO) -> tuple[str | None, bool]:
    """Ask the sex until it is given or skipped; return it and whether input ended."""
    return _ask(stream, "What is your sex: female or male? (f / m, ? if you prefer not to say) ",
                SEX_ANSWERS.get, "  please answer f (female) or m (male), or ?")


def _running(diagnosis: dict[str, Any]) -> str:
    top = ", ".join(f"{c['id']} {c['probability']:.2f}" for c in diagnosis["causes"][:3])
    return f"   now: {top} | triage: {diagnosis['triage']}"


def run(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    """Run the interview subcommand; return the exit code.

    Examples
    --------
    >>> import io
    >>> parser = argparse.ArgumentParser()
    >>> register(parser.add_subparsers())
    >>> args = parser.parse_args(["interview", "--present", "fever", "--json"])
    >>> run(args, io.StringIO())  # doctest: +ELLIPSIS
    {...}
    0
    """
    from ._interview import ScoreStore, check_unknown, interview_step
    from ._model import load_model

    model = load_model(args.priors)
    present, absent, unknown = list(args.present), list(args.absent), list(args.unknown)
    age, sex = args.age, args.sex
    if args.json:
        step = model.interview_step(present, absent, age, sex=sex, unknown=unknown, min_gain=args.min_gain,
                                    explain=args.explain)
        print(json.dumps(step, indent=2))
        return 0
    stream = sys.stdin if stream is None else stream
    model.evidence(present, absent, age, sex=sex)  # bad ids, age or sex fail before the first question
    print(DISCLAIMER)
    print("Answer y (yes), n (no) or ? (don't know); q stops the interview.")
    ended = False
    # the age and the sex are inputs collected up front, not questions ranked by information
    if age is None:
        age, ended = _ask_age(stream)
    if sex is None and not ended and model.parameters.sex is not None:
        sex, ended = _ask_sex(stream)
    asked = 0
    shown_flags: set[str] = set()
    store: ScoreStore = {}  # rows scored so far: after "don't know" the answers are unchanged and nothing is rescored

    def next_step() -> dict[str, Any]:
        """interview_step on the answers so far (as the public method, which checks them the same way)."""
        evidence = model.evidence(present, absent, age, sex=sex)
        return interview_step(model, evidence, unknown=check_unknown(model, evidence, unknown),
                              min_gain=args.min_gain, store=store)

    step = next_step()
    while not ended and not step["should_stop"]:
        question = str(step["question"])
        tag = "[warning sign] " if step["red_flag"] else ""
        print(f"Q{asked + 1}. {tag}{step['question_text']} [y/n/?] ", end="", flush=True)
        line = _read(stream)
        if line is None or ANSWERS.get(line) == "quit":
            if line is None:
                print()
            ended = True
            break
        answer = ANSWERS.get(line)
        if answer is None:
            print("  please answer y (yes), n (no) or ? (don't know), or q to stop")
            continue
        asked += 1
        {"yes": present, "no": absent, "unknown": unknown}[answer].append(question)
        step = next_step()
        for flag in step["diagnosis"]["red_flags"]:
            if flag["id"] not in shown_flags:
                shown_flags.add(flag["id"])
                print(f"!! RED FLAG [{flag['level'].upper()}] {flag['message']}")
        print(_running(step["diagnosis"]))
    print()
    if ended:
        from ._interview import red_flag_questions

        missing = red_flag_questions(model, model.evidence(present, absent, age, sex=sex), unknown)
        print(f"The interview ended early, after {asked} question(s)." + (
            f" Warning signs not asked: {', '.join(missing)}." if missing else ""))
    else:
        print(f"Stopped after {asked} question(s): {step['reason']}.")
    why = model.explain(present, absent, age, sex=sex)
    strongest = [f"{i} {r['answer']} ({float(r['contribution']):+.1f} dB)" for i, r in why.table.iterrows()
                 if float(r["contribution"]) != 0][:4]
    print()
    print(repr(model.diagnose(present, absent, age, sex=sex)).rsplit("\n", 1)[0])
    if strongest:
        print(f"Why {why.cause}: " + "; ".join(strongest) + " (weight of evidence in decibans)")
    print()
    print(DISCLAIMER)
    return 0


def print_replay(model: Any, vignettes: Any, *, progress: bool = False) -> None:
    """Replay vignettes as interviews and print the table of ``kneebayes evaluate --interview``."""
    from ._replay import by_split, replay_interviews

    parts = by_split(replay_interviews(model, vignettes, progress=progress))
    print("Vignettes replayed as interviews (an oracle answers from the vignette, \"don't know\" otherwise),")
    print("at the stop vs asking everything:")
    print(f"{'split':<8} {'n':>4} {'questions':>10} {'answered':>9} {'top-1':>15} {'top-3':>15} "
          f"{'under (urgent+)':>16} {'under (any)':>12}")
    for name, r in parts.items():
        print(f"{name:<8} {r.n:>4} {r.mean_questions:>10.1f} {r.mean_answered:>9.1f} "
              f"{f'{r.top1:.1%} / {r.full_top1:.1%}':>15} {f'{r.top3:.1%} / {r.full_top3:.1%}':>15} "
              f"{f'{r.under_triage_urgent} / {r.full_under_triage_urgent}':>16} "
              f"{f'{r.under_triage} / {r.full_under_triage}':>12}")
