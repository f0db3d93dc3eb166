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
from ._errors import KneeBayesError


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
    sourced = (frame["source"].str.lower() != "expert estimate").sum()
    print(f"{priors.folder}: valid; {len(frame)} numbers, {sourced} with a published source, "
          f"{len(priors.red_flags)} red-flag rules")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _build_parser().parse_args(argv)
    handlers = {"diagnose": _diagnose, "findings": _findings, "check-priors": _check_priors}
    try:
        return handlers[args.command](args)
    except KneeBayesError as err:
        message = str(err)
        if args.command == "check-priors":
            print(message, file=sys.stderr)
        else:
            print(f"kneebayes: error: {message.splitlines()[0] if len(message.splitlines()) == 1 else message}",
                  file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
