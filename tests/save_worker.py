"""A separate process for tests/test_save_crash.py: it saves priors in a loop and kills savers at random moments.

Run as ``python save_worker.py saver FOLDER A B``: save the priors of folder A, then those of folder B,
into FOLDER, alternately, until killed (printing ``saving`` once the loop starts).

Run as ``python save_worker.py kill FOLDER A B KILLS SEED``: KILLS times, fork a child that saves A and
B alternately into FOLDER, SIGKILL it after a random delay (seeded), then load FOLDER and record what it
holds and what the killed save left beside it, then save once more and record every entry left in
FOLDER and in its parent. Prints one JSON
object with the outcomes. Forking from this process (kneebayes already imported) keeps each kill cheap.

With SAVE_WORKER_SWITCH=renames in the environment, saves switch folders with two renames, as on
systems without Linux's atomic exchange.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
import warnings
from pathlib import Path

import kneebayes
import kneebayes._folder
from kneebayes import Priors, load_priors


def snapshot(folder: Path) -> dict[str, bytes]:
    """Return the bytes of every entry of ``folder``."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def same(one: Priors, other: Priors) -> bool:
    """Return whether two priors hold the same numbers, sources, notes, red-flag rules, words and references."""
    return (
        one.to_frame().equals(other.to_frame())
        and one.red_flags == other.red_flags
        and one.vocabulary.equals(other.vocabulary)
        and one.references.equals(other.references)
    )


def save_forever(folder: Path, versions: list[Priors]) -> None:
    """Save the versions alternately into ``folder`` until killed."""
    count = 0
    while True:
        versions[count % 2].save(folder)
        count += 1


def which(folder: Path, versions: dict[str, Priors], files: dict[str, dict[str, bytes]]) -> str:
    """Return "A" or "B" when ``folder`` loads as (and holds the bytes of) that version, else what is wrong."""
    try:
        loaded = load_priors(folder)
    except kneebayes.KneeBayesError as err:
        return f"does not load: {str(err)[:300]}"
    names = [name for name, version in versions.items() if same(loaded, version)]
    if len(names) != 1:
        return "loads as a mix of versions"
    hidden = sorted(folder.parent.glob(f".{folder.name}.kneebayes-old-*"))
    try:
        found = snapshot(folder if folder.exists() or not hidden else hidden[0])  # killed between two renames
    except OSError as err:
        return f"loads as {names[0]} but its files cannot be listed: {err}"
    if found != files[names[0]]:
        differ = sorted(k for k in set(found) | set(files[names[0]]) if found.get(k) != files[names[0]].get(k))
        return f"loads as {names[0]} but its files differ from that version's: {differ}"
    return names[0]


def kill_many(folder: Path, versions: dict[str, Priors], kills: int, seed: int) -> dict[str, object]:
    """Kill savers at random moments; after each kill record what loads, then save and record leftovers."""
    rng = random.Random(seed)
    order = list(versions.values())
    files: dict[str, dict[str, bytes]] = {}
    for name, version in versions.items():  # what each version's folder holds, extra file included
        version.save(folder)
        files[name] = snapshot(folder)
    outcomes: list[str] = []
    leftovers: list[list[str]] = []
    interrupted: list[list[str]] = []  # what each kill left beside the folder: a save cut short leaves some
    delays: list[float] = []
    for _ in range(kills):
        delay = rng.uniform(0.0, 0.12)
        delays.append(delay)
        with warnings.catch_warnings():  # Python 3.12 warns that forking a process with threads may deadlock
            warnings.simplefilter("ignore", DeprecationWarning)
            child = os.fork()
        if child == 0:  # the saver: never returns
            start = rng.randrange(2)
            try:
                save_forever(folder, order[start:] + order[:start])
            finally:
                os._exit(3)
        time.sleep(delay)
        os.kill(child, signal.SIGKILL)
        _, status = os.waitpid(child, 0)
        if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
            outcomes.append(f"the saver ended by itself (status {status}) instead of being killed")
            continue
        interrupted.append(sorted(p.name for p in folder.parent.iterdir() if p.name != folder.name))
        outcomes.append(which(folder, versions, files))  # the files compared include EXTRA
        try:
            order[rng.randrange(2)].save(folder)  # a later save cleans up after the killed one
        except kneebayes.SaveError as err:
            outcomes[-1] += f"; the next save failed: {err}"
        left = sorted(p.name for p in folder.parent.iterdir() if p.name != folder.name)
        left += sorted(p.name for p in folder.iterdir() if p.name not in files["A"])
        leftovers.append(left)
    return {"outcomes": outcomes, "leftovers": leftovers, "interrupted": interrupted, "delays": delays}


def main(argv: list[str]) -> int:
    """Run one mode of the worker (see the module docstring)."""
    mode, folder, first, second = argv[:4]
    if os.environ.get("SAVE_WORKER_SWITCH") == "renames":  # as on a system without an atomic exchange
        kneebayes._folder._renameat2 = lambda: None  # type: ignore[assignment]
    versions = {"A": load_priors(first), "B": load_priors(second)}
    if mode == "saver":
        print("saving", flush=True)
        save_forever(Path(folder), list(versions.values()))
    report = kill_many(Path(folder), versions, int(argv[4]), int(argv[5]))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
