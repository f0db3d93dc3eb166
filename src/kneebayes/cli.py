"""The ``kneebayes`` command line: diagnose, list findings, check a priors folder.

Exit codes: 0 success, 2 bad input (unknown id, bad age, invalid priors folder,
unknown option). Errors print one line, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import NoReturn

from ._display import DISCLAIMER
from ._errors import KneeBayesError, PriorsError


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"kneebayes: error: {message} (see 'kneebayes --help')\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kneebayes", description="Probabilistic diagnosis of pain behind the knee. " + DISCLAIMER)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    d = sub.add_parser("diagnose", help="probability of each cause, triage and red flags")
    d.add_argument("--present", nargs="+", default=[], metavar="ID", help="ids the person reports")
    d.add_argument("--absent", nargs="+", default=[], metavar="ID", help="ids the person denies")
    d.add_argument("--age", type=float, default=None, metavar="YEARS", help="age in years (0-120)")
    d.add_argument("--priors", default=None, metavar="PATH", help="a priors folder (default: the shipped priors)")
    d.add_argument("--engine", choices=["numpy", "pgmpy"], default="numpy", help="inference engine")
    d.add_argument("--json", action="store_true", help="print machine-readable JSON")

    f = sub.add_parser("findings", help="list the ids a person can report, with their questions")
    f.add_argument("--priors", default=None, metavar="PATH", help="a priors folder (default: the shipped priors)")

    c = sub.add_parser("check-priors", help="validate a priors folder and print every problem")
    c.add_argument("path", metavar="PATH", help="the priors folder")

    e = sub.add_parser("evaluate", help="score the model on a vignette file: accuracy, calibration, triage")
    e.add_argument("file", metavar="FILE", help="a vignette file (see validation/README.md)")
    e.add_argument("--priors", default=None, metavar="PATH", help="a priors folder (default: the shipped priors)")
    e.add_argument("--json", action="store_true", help="print machine-readable JSON")
    e.add_argument("--cases", action="store_true", help="also print every vignette's result")
    e.add_argument("--progress", action="store_true", help="show a progress bar")
    return parser


def _diagnose(args: argparse.Namespace) -> int:
    from ._model import load_model

    model = load_model(args.priors)
    result = model.diagnose(args.present, args.absent, args.age, engine=args.engine)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(repr(result))
    return 0


def _findings(args: argparse.Namespace) -> int:
    from ._model import load_model

    table = load_model(args.priors).findings()
    for kind in ("symptom", "red_flag", "risk_factor"):
        print(f"{kind}s:")
        for ident, row in table[table["kind"] == kind].iterrows():
            print(f"  {ident:<26} {row['question']}")
    return 0


def _check_priors(args: argparse.Namespace) -> int:
    from ._priors import load_priors

    priors = load_priors(args.path)
    frame = priors.to_frame()
    counts = frame["evidence"].value_counts()
    published, qualitative = int(counts.get("published figure", 0)), int(counts.get("qualitative source", 0))
    print(f"{priors.folder}: valid; {len(frame)} numbers, {published + qualitative} with a published source "
          f"({published} published figures, {qualitative} from qualitative sources only), "
          f"{int(counts.get('expert estimate', 0))} expert estimates; {len(priors.red_flags)} red-flag rules")
    return 0


#: Published anchors quoted beside kneebayes' figures (see README, "Validation").
ANCHORS = (
    ("symptom checkers (Semigran et al., BMJ 2015)", "34%", "51%", "80% of emergencies triaged correctly"),
    ("physicians (Semigran et al., JAMA Intern Med 2016)", "72%", "84%", ""),
)


def _evaluate(args: argparse.Namespace) -> int:
    from ._evaluate import evaluate_by_split, load_vignettes
    from ._model import load_model

    model = load_model(args.priors)
    results = evaluate_by_split(model, load_vignettes(args.file, model), progress=args.progress)
    if args.json:
        print(json.dumps({name: r.summary() for name, r in results.items()}, indent=2))
        return 0
    print(f"{'split':<8} {'n':>4} {'top-1':>7} {'top-3':>7} {'mean rank':>10} {'Brier':>7} {'log loss':>9} "
          f"{'urgent+ ok':>10} {'under (urgent+)':>16} {'under (any)':>12} {'over':>6}")
    for name, r in results.items():
        print(f"{name:<8} {r.n:>4} {r.top1:>7.1%} {r.top3:>7.1%} {r.mean_rank:>10.2f} {r.brier:>7.3f} "
              f"{r.log_loss:>9.3f} {r.urgent_triaged:>10.1%} {r.under_triage_urgent:>16} {r.under_triage:>12} "
              f"{r.over_triage:>6}")
    print()
    print("Published anchors (on their own case sets):")
    for who, top1, top3, extra in ANCHORS:
        print(f"  {who}: top-1 {top1}, top-3 {top3}" + (f"; {extra}" if extra else ""))
    print()
    print("Confusion (rows: final diagnosis, columns: top-1 cause), all vignettes:")
    confusion = results["all"].confusion
    print(confusion.loc[:, confusion.sum(axis=0) > 0].to_string())
    if args.cases:
        print()
        print(results["all"].cases.to_string())
    return 0


def _one_line(err: KneeBayesError) -> str:
    """Say what went wrong in one line; a priors folder's first problem stands for the others."""
    if isinstance(err, PriorsError) and err.problems:
        first = err.problems[0]
        line = str(first) if first.file == err.folder else f"priors folder {err.folder}: {first}"
        more = len(err.problems) - 1
        if more:
            line += f" (and {more} more: run 'kneebayes check-priors {err.folder}' to list them all)"
        return line
    return " ".join(str(err).splitlines())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code.

    Examples
    --------
    >>> from kneebayes import shipped_priors_path
    >>> main(["check-priors", str(shipped_priors_path())])
    /...priors: valid; ... red-flag rules
    0
    """
    args = _build_parser().parse_args(argv)
    handlers = {"diagnose": _diagnose, "findings": _findings, "check-priors": _check_priors, "evaluate": _evaluate}
    try:
        return handlers[args.command](args)
    except BrokenPipeError:  # output piped into a pager or head that closed early
        sys.stderr.close()
        return 0
    except KneeBayesError as err:
        if args.command == "check-priors":
            print(str(err), file=sys.stderr)
        else:
            print(f"kneebayes: error: {_one_line(err)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
