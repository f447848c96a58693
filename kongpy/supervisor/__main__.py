"""`python -m kongpy.supervisor -p PREFIX [--daemon]`: the node's supervisor."""
from __future__ import annotations

import argparse
import os
import sys

from kongpy import paths
from kongpy.supervisor import pidfile
from kongpy.supervisor.daemon import Supervisor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kongpy.supervisor")
    parser.add_argument("-p", "--prefix", required=True)
    parser.add_argument("--daemon", action="store_true",
                        help="detach: fork, start a new session, parent exits at once")
    args = parser.parse_args(argv)
    os.umask(paths.UMASK)
    if args.daemon:
        pid = os.fork()
        if pid:
            # Written before exiting so the caller finds the pid as soon as we return.
            pidfile.write(paths.prefix(args.prefix).pid_file("supervisor"), pid)
            os._exit(0)
        os.setsid()
    return Supervisor(args.prefix).run()


if __name__ == "__main__":
    sys.exit(main())
