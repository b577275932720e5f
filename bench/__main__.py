"""`python -m bench` (`make bench`): every bench module, each in its own process, in quick mode if it has one.

    python -m bench                      # all modules, quick sizes
    python -m bench --full               # all modules, their default sizes
    python -m bench --only bench_workflows

Each module runs as `python -m bench.<module>`: a fresh interpreter keeps one module's Spark session or
emulation from skewing the next one's figures. Exit status is non-zero when a module fails.
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def modules() -> list[str]:
    return sorted(path.stem for path in BENCH_DIR.glob("bench_*.py"))


def has_quick_mode(module: str) -> bool:
    return '"--quick"' in (BENCH_DIR / f"{module}.py").read_text()


def main(argv: list[str] | None = None) -> int:
    available = modules()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="each module's default sizes, not --quick")
    parser.add_argument("--only", action="append", choices=available, help="only this module (repeatable)")
    args = parser.parse_args(argv)

    failed = []
    for module in args.only or available:
        command = [sys.executable, "-m", f"bench.{module}"]
        if not args.full and has_quick_mode(module):
            command.append("--quick")
        print(f"\n=== {' '.join(['python', *command[1:]])}", flush=True)
        started = time.perf_counter()
        returncode = subprocess.run(command, cwd=BENCH_DIR.parent).returncode
        print(f"=== {module}: {time.perf_counter() - started:.0f} s, exit status {returncode}", flush=True)
        if returncode != 0:
            failed.append(module)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
