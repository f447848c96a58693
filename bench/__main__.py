"""`python -m bench [--quick] [--only S1,R2] [--profile S1]`: see bench/README.md."""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

from bench import procs, suite
from bench.context import FULL, QUICK

log = logging.getLogger("bench")

RESULTS = Path(__file__).resolve().parent / "results"
QUIET_LOAD = 1.0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true",
                   help="short runs and smaller tables (CI: proves the suite works)")
    p.add_argument("--only", default="",
                   help="comma-separated scenarios (default: all): "
                        + ",".join(suite.DEFAULT))
    p.add_argument("--pairs", type=int, help="interleaved pairs per scenario")
    p.add_argument("--duration", type=float, help="seconds per wrk run")
    p.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    p.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    p.add_argument("--profile", metavar="SCENARIO",
                   help="profile the data plane's Lua under this scenario's load instead")
    p.add_argument("--allow-busy", action="store_true",
                   help=f"run in full mode although the load average is {QUIET_LOAD} or more")
    p.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                   help="full mode: wait up to this long for the load average to fall "
                        f"under {QUIET_LOAD} before refusing")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def _args(argv: list[str]) -> argparse.Namespace:
    # `make bench ARGS="--quick --only S1"` passes one (possibly empty) word
    words = [w for arg in argv for w in shlex.split(arg)]
    return _parser().parse_args(words)


def _quiet(wait: float) -> float:
    """The 1-minute load average once under QUIET_LOAD, or the last seen after `wait` s."""
    deadline = time.monotonic() + wait
    while True:
        load = os.getloadavg()[0]
        if load < QUIET_LOAD or time.monotonic() >= deadline:
            return load
        time.sleep(5)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = _args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    mode = QUICK if args.quick else FULL
    if args.pairs:
        mode = dataclasses.replace(mode, pairs=args.pairs)
    if args.duration:
        mode = dataclasses.replace(mode, duration=args.duration)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or suite.DEFAULT
    notes = []
    if not args.quick and not args.profile and args.allow_busy:
        notes.append(f"run with --allow-busy at load average {os.getloadavg()[0]:.2f}")
    if not args.quick and not args.profile and not args.allow_busy:
        # full-mode figures are the ones committed: a busy machine makes them
        # unreadable (another process shares the two cores with the worker)
        load = _quiet(args.wait_quiet)
        if load >= QUIET_LOAD:
            log.error("Error: load average %.2f is not under %s: a full run needs a quiet "
                      "machine (--wait-quiet SECONDS waits for one, --allow-busy runs anyway)",
                      load, QUIET_LOAD)
            return 2
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _terminate)
    workdir = Path(tempfile.mkdtemp(prefix="kongpy-bench-"))
    try:
        if args.profile:
            from bench import profile
            out = profile.run(mode, args.profile, args.out, workdir)
            log.info("profile: %s", out)
        else:
            json_path, md_path = suite.run(mode, names, args.out, workdir, notes)
            log.info("results: %s, %s", md_path, json_path)
    except ValueError as exc:
        log.error("Error: %s", exc)
        return 2
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    finally:
        procs.stop_all()
        if args.keep:
            log.info("work directory kept: %s", workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
