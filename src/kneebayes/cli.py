"""The ``kneebayes`` command line: diagnose, list findings, check a priors folder, evaluate.

Exit codes: 0 success; 2 bad input (unknown id, bad age, nothing reported, invalid
priors folder or vignette file, a file that cannot be read, output that cannot be
written, unknown option); 130 interrupted (Ctrl-C). Errors print one line on
standard error, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from ._display import DISCLAIMER
from ._errors import KneeBayesError, OptionError, PriorsError, VignetteError
from ._numbers import parse_decimal


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"kneebayes: error: {message} (see 'kneebayes --help')\n")


def _version() -> str:
    """Return the installed distribution's version, else the package's own ``__version__``."""
    import importlib.metadata  # only for --version: it costs start-up time

    try:
        return importlib.metadata.version("kneebayes")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a bare source tree
        from . import __version__

        return __version__


class _VersionAction(argparse.Action):
    """``--version``: look the version up only when asked (importlib.metadata is slow to import)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        sys.stdout.write(f"kneebayes {_version()}\n")
        parser.exit()


def _years(text: str) -> float:
    """Parse ``--age``: a decimal number (the grammar of the prior files), not whatever float() accepts."""
    value = parse_decimal(text)
    if value is None:
        raise argparse.ArgumentTypeError(
            f"the 'age' must be a number of years written in decimal, such as 58. Got {text!r} instead."
        )
    return value


_PRIORS_HELP = "a priors folder (default: the shipped priors)"

_DIAGNOSE = """Give what the person reports: ids present, ids absent, the age and the sex. Every id not
given, and the age or sex when not given, is unknown and summed over. --present and --absent may be
repeated; every list is kept.
At least one answer is needed. 'kneebayes findings' lists the ids with their questions.

""" + DISCLAIMER

_DIAGNOSE_EXAMPLES = """examples:
  kneebayes diagnose --present calf_swelling recent_immobility --absent fever --age 64
  kneebayes diagnose --present lump_behind_knee --present stiffness --age 58 --json
  kneebayes diagnose --present pulsating_lump cold_pale_foot --age 72 --sex male
"""

_EVALUATE = """Score the model on a vignette file (comma-separated CSV, see validation/README.md):
top-1 and top-3 accuracy, mean rank, Brier score, log loss and under- and over-triage,
for the tuning part, the held-out part and all vignettes."""


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kneebayes", description="Probabilistic diagnosis of pain behind the knee. " + DISCLAIMER,
                     epilog="Exit codes: 0 success, 2 bad input or unreadable file, 130 interrupted. "
                            "Run 'kneebayes COMMAND --help' for a command's options and an example.")
    parser.add_argument("--version", action=_VersionAction, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    raw = argparse.RawDescriptionHelpFormatter

    d = sub.add_parser("diagnose", help="probability of each cause, triage and red flags", description=_DIAGNOSE,
                       epilog=_DIAGNOSE_EXAMPLES, formatter_class=raw)
    d.add_argument("--present", action="extend", nargs="+", default=None, metavar="ID",
                   help="ids the person reports (repeatable)")
    d.add_argument("--absent", action="extend", nargs="+", default=None, metavar="ID",
                   help="ids the person denies (repeatable)")
    d.add_argument("--age", type=_years, default=None, metavar="YEARS", help="age in years (0-120)")
    d.add_argument("--sex", default=None, metavar="SEX", help="female or male (unknown when not given)")
    d.add_argument("--priors", default=None, metavar="PATH", help=_PRIORS_HELP)
    d.add_argument("--engine", choices=["numpy", "pgmpy"], default="numpy", help="inference engine")
    d.add_argument("--json", action="store_true", help="print machine-readable JSON")

    f = sub.add_parser("findings", help="list the ids a person can report, with their questions",
                       description="List every id a person can report (symptoms, red flags, risk factors) "
                                   "with the question that asks for it.",
                       epilog="examples:\n  kneebayes findings\n  kneebayes findings --priors my-priors\n",
                       formatter_class=raw)
    f.add_argument("--priors", default=None, metavar="PATH", help=_PRIORS_HELP)

    c = sub.add_parser("check-priors", help="validate a priors folder and print every problem",
                       description="Validate a priors folder: print a summary when it is valid, else every problem "
                                   "with its file, line, field, value and rule (exit code 2).",
                       epilog="examples:\n  kneebayes check-priors priors\n  kneebayes check-priors my-priors\n",
                       formatter_class=raw)
    c.add_argument("path", metavar="PATH", help="the priors folder")

    e = sub.add_parser("evaluate", help="score the model on a vignette file: accuracy, calibration, triage",
                       description=_EVALUATE, formatter_class=raw,
                       epilog="examples:\n  kneebayes evaluate validation/vignettes.csv\n"
                              "  kneebayes evaluate validation/vignettes.csv --priors my-priors --json\n")
    e.add_argument("file", metavar="FILE", help="a vignette file (see validation/README.md)")
    e.add_argument("--priors", default=None, metavar="PATH", help=_PRIORS_HELP)
    e.add_argument("--json", action="store_true", help="print machine-readable JSON")
    e.add_argument("--cases", action="store_true", help="also print every vignette's result")
    e.add_argument("--progress", action="store_true", help="show a progress bar")
    e.add_argument("--interview", action="store_true",
                   help="also replay each vignette as an interview and compare with asking everything")

    g = sub.add_parser("diff", help="what changed between two priors folders, and on vignettes what it does",
                       description="Compare two priors folders: every number that changed (old, new, source, "
                                   "evidence), rules and links added or removed; with --vignettes, the posteriors "
                                   "that moved, top causes and triage levels that flipped, and the metrics "
                                   "side by side.",
                       epilog="examples:\n  kneebayes diff priors my-priors\n"
                              "  kneebayes diff priors my-priors --vignettes validation/vignettes.csv\n",
                       formatter_class=raw)
    g.add_argument("old", metavar="OLD", help="the priors folder before the edit")
    g.add_argument("new", metavar="NEW", help="the priors folder after the edit")
    g.add_argument("--vignettes", default=None, metavar="FILE", help="score both on a vignette file and compare")
    g.add_argument("--json", action="store_true", help="print machine-readable JSON")

    x = sub.add_parser("export", help="write the network for pyAgrum, pgmpy, GeNIe, Hugin or UAI solvers",
                       description="Write the network as BIF, XMLBIF, Hugin NET, UAI or GeNIe XDSL (noisy-OR findings "
                                   "kept as noisy-MAX nodes with their leak), with identifier-safe names.",
                       epilog="examples:\n  kneebayes export bif kneebayes.bif\n"
                              "  kneebayes export xdsl kneebayes.xdsl --priors my-priors\n",
                       formatter_class=raw)
    x.add_argument("format", choices=["bif", "xmlbif", "net", "uai", "xdsl"], metavar="FORMAT",
                   help="bif, xmlbif, net (Hugin), uai or xdsl (GeNIe)")
    x.add_argument("path", metavar="PATH", help="the file to write")
    x.add_argument("--priors", default=None, metavar="PATH", help=_PRIORS_HELP)
    x.add_argument("--tables", action="store_true",
                   help="xdsl: write noisy-OR findings as full tables instead of GeNIe noisy-MAX nodes")

    from ._cli_interview import register

    register(sub)
    return parser


def _diagnose(args: argparse.Namespace) -> int:
    from ._kernel import switched_off
    from ._model import load_model

    present, absent = args.present or [], args.absent or []
    if not present and not absent and args.age is None and args.sex is None:
        raise OptionError(
            "nothing was reported: give at least one answer with --present ID..., --absent ID..., --age YEARS "
            "or --sex SEX ('kneebayes findings' lists the ids)"
        )
    model = load_model(args.priors)
    with switched_off():  # one patient, then exit: einsum's 2 ms beat numba's 0.4 s import
        result = model.diagnose(present, absent, args.age, sex=args.sex, engine=args.engine)
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
    from ._vocabulary import EVIDENCE_GRADES

    priors = load_priors(args.path)
    frame = priors.to_frame()
    table = frame.groupby(["kind", "evidence"]).size().unstack(fill_value=0)
    table = table.reindex(columns=list(EVIDENCE_GRADES), fill_value=0)
    total = table.sum()
    grades = ", ".join(f"{int(total[g])} {g}" for g in EVIDENCE_GRADES)
    print(f"{priors.folder}: valid; {len(frame)} numbers: {grades}; {len(priors.red_flags)} red-flag rules")
    print(f"{'kind':<20}" + "".join(f"{g:>12}" for g in EVIDENCE_GRADES) + f"{'total':>8}")
    for kind, row in table.iterrows():
        print(f"{kind:<20}" + "".join(f"{int(row[g]):>12}" for g in EVIDENCE_GRADES) + f"{int(row.sum()):>8}")
    print(f"{'all':<20}" + "".join(f"{int(total[g]):>12}" for g in EVIDENCE_GRADES) + f"{len(frame):>8}")
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
        out: dict[str, object] = {name: r.summary() for name, r in results.items()}
        if args.interview:
            from ._replay import by_split, replay_interviews

            replay = replay_interviews(model, load_vignettes(args.file, model), progress=args.progress)
            out["interview"] = {name: r.summary() for name, r in by_split(replay).items()}
        print(json.dumps(out, indent=2))
        return 0
    print(f"{'split':<8} {'n':>4} {'top-1':>7} {'top-3':>7} {'mean rank':>10} {'Brier':>7} {'log loss':>9} "
          f"{'urgent+ ok':>10} {'under (urgent+)':>16} {'under (any)':>12} {'over':>6}")
    for name, r in results.items():
        print(f"{name:<8} {r.n:>4} {r.top1:>7.1%} {r.top3:>7.1%} {r.mean_rank:>10.2f} {r.brier:>7.3f} "
              f"{r.log_loss:>9.3f} {r.urgent_triaged:>10.1%} {r.under_triage_urgent:>16} {r.under_triage:>12} "
              f"{r.over_triage:>6}")
    if args.interview:
        from ._cli_interview import print_replay

        print()
        print_replay(model, load_vignettes(args.file, model), progress=args.progress)
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


def _diff(args: argparse.Namespace) -> int:
    from .analysis import diff

    result = diff(args.old, args.new, args.vignettes)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(repr(result))
    return 0


def _export(args: argparse.Namespace) -> int:
    from ._export import export
    from ._model import load_model

    path = export(load_model(args.priors), args.path, args.format, noisy_or=not args.tables)
    print(f"wrote {path} ({args.format})")
    return 0


def _one_line(err: KneeBayesError) -> str:
    """Say what went wrong in one line; a file's first problem stands for the others."""
    if isinstance(err, PriorsError) and err.problems:
        first = err.problems[0]
        line = str(first) if first.file == err.folder else f"priors folder {err.folder}: {first}"
        more = len(err.problems) - 1
        if more:
            line += f" (and {more} more: run 'kneebayes check-priors {err.folder}' to list them all)"
        return line
    if isinstance(err, VignetteError) and err.problems:
        line = f"vignette file {err.path}{VignetteError.where(err.problems[0])}"
        more = len(err.problems) - 1
        if more:
            line += f" (and {more} more {'problem' if more == 1 else 'problems'} in that file)"
        return line
    return " ".join(str(err).splitlines())


def _silence_stdout() -> None:
    """Point standard output at the null device, so Python's own flush at exit cannot fail a second time."""
    try:
        fd = sys.stdout.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError):  # not a real file (captured in tests), or no null device
        return
    os.dup2(null, fd)
    os.close(null)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 success, 2 error, 130 interrupted).

    Examples
    --------
    >>> from kneebayes import shipped_priors_path
    >>> main(["check-priors", str(shipped_priors_path())])
    /...priors: valid; ... red-flag rules
    ...
    0
    """
    if sys.stdout is None:  # started with standard output closed (``kneebayes ... >&-``)
        print("kneebayes: error: cannot write the output: standard output is closed", file=sys.stderr)
        return 2
    try:
        args = _build_parser().parse_args(argv)
        from ._cli_interview import run as _interview

        handlers = {"diagnose": _diagnose, "findings": _findings, "check-priors": _check_priors,
                    "evaluate": _evaluate, "export": _export, "diff": _diff, "interview": _interview}
        code = handlers[args.command](args)
        sys.stdout.flush()  # a full device or a closed pipe fails here, inside the handlers below
        return code
    except KeyboardInterrupt:
        print("kneebayes: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a pager or head that closed early: not an error
        _silence_stdout()
        return 0
    except KneeBayesError as err:
        if args.command == "check-priors":
            print(str(err), file=sys.stderr)
        else:
            print(f"kneebayes: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except OSError as err:  # reading a file kneebayes does not turn into a located problem, or writing output
        reason = err.strerror or str(err)
        if err.filename is not None:
            print(f"kneebayes: error: cannot use {err.filename}: {reason}", file=sys.stderr)
        else:
            _silence_stdout()
            print(f"kneebayes: error: cannot write the output: {reason}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
