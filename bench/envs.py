"""The tools the benchmark needs: one venv per peer, a client venv, and wrk.

Each peer gets its own venv so that its pinned libraries (the recipe needs bcrypt
below 5, fastapi-users brings pwdlib) never meet. A venv is rebuilt when its
requirements file changes, which a stamp file inside the venv records.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
VENVS_DIR = BENCH_DIR / ".venvs"
PEERS_DIR = BENCH_DIR / "peers"
STAMP = "bench-requirements.sha256"

# Which requirements file builds which venv.
REQUIREMENTS: dict[str, Path] = {
    "recipe": PEERS_DIR / "recipe" / "requirements.txt",
    "fastapi_users": PEERS_DIR / "fastapi_users" / "requirements.txt",
    "client": BENCH_DIR / "requirements-client.txt",
}


def venv_python(name: str) -> Path:
    """Path of the interpreter inside the named venv."""
    return VENVS_DIR / name / "bin" / "python"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ensure_venv(name: str, base_python: str = sys.executable) -> Path:
    """Build the named venv if it is missing or its requirements changed."""
    requirements = REQUIREMENTS[name]
    venv = VENVS_DIR / name
    python = venv_python(name)
    stamp = venv / STAMP
    wanted = _digest(requirements)
    if python.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return python
    print(f"[setup] building venv {venv} from {requirements.name}", flush=True)
    if venv.exists():
        shutil.rmtree(venv)
    VENVS_DIR.mkdir(parents=True, exist_ok=True)
    base = _base_interpreter(base_python)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
    done = subprocess.run(
        [*pip, "-r", str(requirements)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise SystemExit(f"[setup] pip could not build {venv}:\n{tail}")
    stamp.write_text(wanted + "\n")
    return python


def _base_interpreter(python: str) -> str:
    """The real interpreter behind a venv's python, so venvs do not nest."""
    out = subprocess.run(
        [python, "-c", "import sys; print(sys._base_executable)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip() or python


def package_versions(python: Path | str, names: list[str]) -> dict[str, str]:
    """Installed versions of the named distributions, for the results file."""
    code = (
        "import json, sys\n"
        "from importlib import metadata\n"
        "out = {}\n"
        "for n in sys.argv[1:]:\n"
        "    try: out[n] = metadata.version(n)\n"
        "    except metadata.PackageNotFoundError: out[n] = None\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [str(python), "-c", code, *names], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return {}
    return {k: v for k, v in json.loads(done.stdout).items() if v}


def ensure_wrk(install: bool = True) -> str | None:
    """Find wrk, installing Debian's package when missing and running as root."""
    found = shutil.which("wrk")
    if found or not install:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print("[setup] wrk is missing and cannot be installed here", flush=True)
        return None
    print("[setup] installing wrk with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "wrk"],
    ):
        if subprocess.run(argv, env=env, check=False).returncode != 0:
            print(f"[setup] {' '.join(argv)} failed; using the Python client", flush=True)
            return None
    return shutil.which("wrk")


def wrk_version(wrk: str) -> str:
    """``wrk <version>`` from ``wrk --version``, which exits with a non-zero status."""
    done = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    words = (done.stdout or done.stderr).split()
    return " ".join(words[:2]) if len(words) >= 2 else "wrk"
