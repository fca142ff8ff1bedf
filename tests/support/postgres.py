"""A throwaway PostgreSQL cluster: initdb into a temporary directory, a server on a free loopback port, gone after.

The audit index's PostgreSQL backend is tested against a real server, never a mock. initdb refuses to run as root,
so as root the cluster belongs to `nobody`; its directory lives directly under the system temp dir (pytest's own
tmp dirs are private to root). Debian's `postgresql` package provides the binaries (`./dev test` installs it).
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg

CLUSTER_USER = "nobody"  # only as root: initdb will not run as root
SUPERUSER = "v2v"


def binaries() -> Path | None:
    """The directory holding initdb and pg_ctl: Debian's newest /usr/lib/postgresql/*/bin, else the PATH."""
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    found = debian[-1] if debian else shutil.which("initdb")
    return Path(found).parent if found and (Path(found).parent / "pg_ctl").exists() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A running server; `database()` hands out a fresh, empty database per caller. Tests run it without fsync
    (a throwaway cluster has nothing to lose); a benchmark keeps the server's durable default."""

    def __init__(self, bindir: Path, *, fsync: bool = False) -> None:
        self.bindir = bindir
        self.fsync = fsync
        self.dir = Path(tempfile.mkdtemp(prefix="v2v-pg-"))
        self.port = free_port()
        self._names = itertools.count(1)
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.dir, CLUSTER_USER)

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self._as_root:
            command = ["runuser", "-u", CLUSTER_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr or done.stdout}")

    def start(self) -> Cluster:
        data = self.dir / "data"
        self._run("initdb", "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync")
        fsync = "on" if self.fsync else "off"
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync={fsync}"
        self._run("pg_ctl", "-D", str(data), "-l", str(self.dir / "server.log"), "-o", options, "-w", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """A new empty database, as `createdb` makes it; its URL."""
        name = f"audit_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        try:
            if (self.dir / "data" / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def running_cluster(*, fsync: bool = False) -> Iterator[Cluster]:
    """Start a cluster, yield it, stop and delete it: the body of a session fixture."""
    bindir = binaries()
    if bindir is None:
        raise FileNotFoundError(
            "PostgreSQL's initdb and pg_ctl are missing: install Debian's postgresql (`./dev test` does, with apt-get)"
        )
    cluster = Cluster(bindir, fsync=fsync)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
