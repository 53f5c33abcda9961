"""A throw-away PostgreSQL server for the system tests: Debian's binaries, a temporary directory, loopback."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.system.ports import free_port


def postgres_bindir() -> Path:
    """Debian's newest installed server (``/usr/lib/postgresql/<version>/bin``), or ``initdb`` on PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError("PostgreSQL server binaries not found: install Debian's 'postgresql' package")


class PostgresServer:
    """``initdb`` + ``pg_ctl start`` in a temporary directory; trust auth on 127.0.0.1 only.

    PostgreSQL refuses to run as root, so under root it runs as Debian's ``postgres`` user.
    """

    def __init__(self, database: str = "airflow", user: str = "airflow") -> None:
        self.database = database
        self.user = user
        self.port = free_port()
        self.bindir = postgres_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="pipelines-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self._run_as: list[str] = []

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def _cmd(self, name: str, *args: str) -> list[str]:
        return [*self._run_as, str(self.bindir / name), *args]

    def start(self) -> str:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chmod(self.root, 0o755)
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._run_as = ["runuser", "-u", "postgres", "--"]
        subprocess.run(
            self._cmd("initdb", "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8"),
            check=True,
            capture_output=True,
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=300 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            self._cmd("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"),
            check=True,
            capture_output=True,
        )
        subprocess.run(
            self._cmd("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, self.database),
            check=True,
            capture_output=True,
        )
        return self.url

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(
                self._cmd("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"),
                capture_output=True,
            )
        shutil.rmtree(self.root, ignore_errors=True)
