"""A base install (`pip install .`, no extras) serves every page and API operation, and the
features that need the ml extra answer 503 naming it (issue #14, point 8).

The permission matrix (every web route and API operation) and the checks in
tests/light_install/light_checks.py run in a fresh pytest process where torch, transformers,
safetensors, gguf and accelerate cannot be imported (tests/light_install/sitecustomize.py).
The matrix runs for the admin, who reaches every page and operation, and the anonymous public
(the whole matrix, nine roles over the same code, takes 8 minutes on a busy 2-core machine).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_pages_and_api_work_without_the_ml_extra(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "PYTHONPATH"}}
    # SQLite in a data directory of its own: a second pytest-django on the same PostgreSQL
    # test database would drop it under the run that started this one.
    env["MODELCVD_DATA_DIR"] = str(tmp_path / "data")
    paths = [str(ROOT / "tests" / "light_install"), str(ROOT / "src"), str(ROOT)]
    env["PYTHONPATH"] = os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")])
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "tests/security/test_permission_matrix.py",
            "tests/light_install/light_checks.py",
            "-k",
            "admin or anonymous or has_a_matrix_entry or light_checks",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]
