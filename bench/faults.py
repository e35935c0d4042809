"""The fault tests of tests/scale at length: the same real processes and faults, with
--scale times the trials, clients and submissions of the bounded versions in `make test`
(a worker SIGKILLed mid-run, a web process SIGKILLed mid-burst, PostgreSQL and Redis restarted
mid-run). Each passes only with exactly the planned trials and no lost or duplicated report.
Writes bench/results/faults.json with each test's outcome and duration.

    .venv/bin/python bench/faults.py --scale 5
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "faults.json"))
    args = parser.parse_args()
    junit = Path(tempfile.mkdtemp()) / "faults.xml"
    env = {
        **os.environ,
        "MODELCVD_FAULTS_SCALE": str(args.scale),
        "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
        "MODELCVD_DATA_DIR": tempfile.mkdtemp(),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "tests/scale",
            f"--junitxml={junit}",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        env=env,
    )
    rows = []
    # The report pytest just wrote for us, not untrusted input.
    for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314
        failed = case.find("failure") is not None or case.find("error") is not None
        skipped = case.find("skipped") is not None
        rows.append(
            {
                "test": case.get("name"),
                "outcome": "failed" if failed else "skipped" if skipped else "passed",
                "seconds": round(float(case.get("time", 0)), 1),
            }
        )
    result = {"scale": args.scale, "exit_code": done.returncode, "tests": rows}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n{'test':<80}{'outcome':>9}{'s':>8}")
    for row in rows:
        print(f"{row['test']:<80}{row['outcome']:>9}{row['seconds']:>8}")
    print(f"written to {args.out}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
