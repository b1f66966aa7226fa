"""The servers of one benchmark run, started on first use and stopped at the end.

Idle servers cost nothing measurable, so a server started for one scenario stays up
for the next one that needs it; every server's database and logs live in the run's
temporary folder.
"""

import secrets
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from envs import PEERS_DIR, venv_python
from load import Generator, PyLoad
from measure import Settings
from servers import HOST, Server, ServerSpec, uvicorn_spec

# Far above any rate the benchmark reaches, so tokenward's limiter never answers 429.
UNLIMITED = "1000000/second"


@dataclass
class Account:
    """The one user each server knows; the password is random for every run."""

    email: str = "bench@example.com"
    username: str = "bench"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))


@dataclass
class Lab:
    """Everything a scenario needs: load generators, settings and the servers."""

    gen: Generator
    pyload: PyLoad
    settings: Settings
    tmp: Path
    stack: ExitStack
    tokenward_python: str = sys.executable
    account: Account = field(default_factory=Account)
    tokens: dict[str, str] = field(default_factory=dict)
    _servers: dict[str, Server] = field(default_factory=dict)
    _failed: dict[str, str] = field(default_factory=dict)

    def server(self, name: str) -> Server:
        """The named server, started now if it is not running yet.

        A server that failed to start is not tried again in the same run, so one
        broken server costs one start timeout, not one per scenario.
        """
        self.start(name)
        if name in self._failed:
            raise RuntimeError(self._failed[name])
        return self._servers[name]

    def start(self, *names: str) -> None:
        """Boot the named servers side by side, then wait for each to be ready."""
        booting = []
        for name in names:
            if name in self._servers or name in self._failed:
                continue
            server = Server(self._spec(name), self.tmp)
            print(f"[start] {name} on {server.base_url}", flush=True)
            self.stack.callback(server.stop)
            server.spawn()
            booting.append((name, server))
        for name, server in booting:
            try:
                server.wait_ready()
            except RuntimeError as exc:
                self._failed[name] = f"{name} did not start: {exc}"
            else:
                self._servers[name] = server

    def _spec(self, name: str) -> ServerSpec:
        if name == "bare":
            return uvicorn_spec(name, venv_python("recipe"), PEERS_DIR / "bare", "/ping")
        if name == "recipe":
            spec = uvicorn_spec(
                name, venv_python("recipe"), PEERS_DIR / "recipe", "/ping"
            )
            spec.env = {
                "BENCH_USER": self.account.username,
                "BENCH_PASSWORD": self.account.password,
            }
            return spec
        if name == "fastapi_users":
            app_dir = PEERS_DIR / "fastapi_users"
            spec = uvicorn_spec(name, venv_python(name), app_dir, "/ping")
            db = self.tmp / "fastapi_users.db"
            spec.env = {"FASTAPI_USERS_DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
            return spec
        if name == "tokenward":
            return self._tokenward_spec()
        raise KeyError(name)

    def _tokenward_spec(self) -> ServerSpec:
        """``python -m tokenward serve`` with its own SQLite file and no rate limits.

        It runs in the temporary folder so that no ``.env`` file of a checkout
        changes its settings.
        """
        argv = [
            self.tokenward_python, "-m", "tokenward", "serve",
            "--host", HOST, "--port", "{port}", "--workers", "1",
        ]  # fmt: skip
        env = {
            "TOKENWARD_DATABASE_URL": f"sqlite+aiosqlite:///{self.tmp}/bench.db",
            "TOKENWARD_LOGIN_RATE": UNLIMITED,
            "TOKENWARD_LOGIN_PAIR_RATE": UNLIMITED,
            "TOKENWARD_LOGIN_IP_RATE": UNLIMITED,
            "TOKENWARD_IP_RATE": UNLIMITED,
        }
        return ServerSpec("tokenward", argv, self.tmp, "/healthz", env)
