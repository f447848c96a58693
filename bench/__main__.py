"""`python -m bench [--quick] [--only S1,R2] [--profile S1]`: see bench/README.md."""
from __future__ import annotations

import argparse
import dataclasses
import logging
import shlex
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from bench import procs, suite
from bench.context import FULL, QUICK

log = logging.getLogger("bench")

RESULTS = Path(__file__).resolve().parent / "results"


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
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def _args(argv: list[str]) -> argparse.Namespace:
    # `make bench ARGS="--quick --only S1"` passes one (possibly empty) word
    words = [w for arg in argv for w in shlex.split(arg)]
    return _parser().parse_args(words)


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
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _terminate)
    workdir = Path(tempfile.mkdtemp(prefix="kongpy-bench-"))
    try:
        if args.profile:
            from bench import profile
            out = profile.run(mode, args.profile, args.out, workdir)
            log.info("profile: %s", out)
        else:
            json_path, md_path = suite.run(mode, names, args.out, workdir)
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
