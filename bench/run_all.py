"""Run every benchmark in bench/ and print their JSON results, one object per line."""

import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def main() -> int:
    failures = 0
    for script in sorted(BENCH_DIR.glob("*.py")):
        if script.name == Path(__file__).name or script.name.startswith("_"):
            continue  # this runner, and helpers shared by the benchmarks
        print(f"# {script.name}", file=sys.stderr)
        result = subprocess.run([sys.executable, str(script)], cwd=BENCH_DIR.parent)
        failures += result.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
