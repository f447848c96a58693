"""`python -m bench.ab S2 --against HEAD~1`: one scenario on the data plane of
another revision against the working tree's, in interleaved pairs.

Both nodes are started by the working tree's control plane; the baseline
node has the other revision's `lua/` (the data plane and the bundled plugins,
as `git archive` gives them) first on its `lua_package_path`. Each pair runs
the baseline and then the working tree for `--duration` seconds on the same
pinned core, so a busy machine slows both sides of a pair alike: the ratio
per pair (baseline CPU µs per request ÷ working tree's) is what the A/B
figures of bench/README.md report, not the absolute µs.
"""
from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from bench import procs, runner, servers
from bench.context import QUICK, Context
from bench.scenarios import builders

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent


def _export_lua(rev: str, dest: Path) -> Path:
    """The revision's lua/ folder, extracted under dest (readable by nginx's user)."""
    archive = dest / "lua.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "-C", str(ROOT), "archive", rev, "lua"], stdout=out,
                       check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    archive.unlink()
    for path in [dest, *dest.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o444 | (0o111 if path.is_dir() else 0))
    return dest / "lua"


def run(scenario: str, rev: str, pairs: int, duration: float, workdir: Path) -> list[float]:
    (workdir / "baseline").mkdir(parents=True)
    lua = _export_lua(rev, workdir / "baseline")
    upstream = servers.start_upstream(workdir)
    contexts = []
    for side, extra in (("baseline", {"lua_package_path": f"{lua}/?.lua;{lua}/?/init.lua"}),
                        ("tree", {})):
        folder = workdir / side / "nodes"
        folder.mkdir(parents=True, exist_ok=True)
        contexts.append(Context(workdir=folder, mode=QUICK, upstream=upstream,
                                builders=builders(), node_extra=extra))
    base, subj = (c.subject(scenario) for c in contexts)
    if not contexts[0].nodes:
        raise ValueError(f"{scenario} is not a kongpy scenario")
    base.target.name, subj.target.name = rev, "tree"
    out = runner.interleave(workdir, base, subj, pairs, duration, warmup=3)
    ratios = out.get("ratios", {}).get("efficiency", {}).get("pairs", [])
    b = out["baseline"]["cpu_us_per_req"]["median"]
    t = out["subject"]["cpu_us_per_req"]["median"]
    median = f"{statistics.median(ratios):.3f}" if ratios else "none"
    broken = f" ({out['broken_pairs']} broken pairs)" if out["broken_pairs"] else ""
    print(f"{scenario}: {rev} {b:.1f} µs, tree {t:.1f} µs per request (medians); "
          f"{rev} ÷ tree per pair: {' '.join(f'{r:.2f}' for r in ratios)}; "
          f"median {median}{broken}", flush=True)
    return ratios


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.split("\n")[0])
    p.add_argument("scenarios", help="comma-separated kongpy scenarios (S1,S2,...)")
    p.add_argument("--against", default="HEAD", help="the baseline revision (default HEAD)")
    p.add_argument("--pairs", type=int, default=6)
    p.add_argument("--duration", type=float, default=4.0)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                        datefmt="%H:%M:%S")
    workdir = Path(tempfile.mkdtemp(prefix="kongpy-ab-"))
    workdir.chmod(0o711)        # nginx's workers read the baseline's lua/ below it
    try:
        for name in (n.strip() for n in args.scenarios.split(",") if n.strip()):
            try:
                run(name, args.against, args.pairs, args.duration, workdir / name)
            finally:
                procs.stop_all()
    except (ValueError, subprocess.CalledProcessError) as exc:
        log.error("Error: %s", exc)
        return 2
    finally:
        procs.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
