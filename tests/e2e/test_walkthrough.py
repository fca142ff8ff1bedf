"""The README's walkthrough, from a bare anvil to two nodes trading and an audit, run verbatim in bash."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from v2vchain.chain.anvil import free_port
from v2vchain.paths import ANVIL_BINARY, ROOT, state_dir

HEADING = "## From a bare anvil to two nodes trading and an audit, in CLI commands only"
TIMEOUT_S = 240


def walkthrough_block() -> str:
    section = (ROOT / "README.md").read_text().split(HEADING, 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match is not None, "the walkthrough section has no ```sh block"
    return match.group(1)


def distinct_ports(n: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < n:
        ports.add(free_port())
    return sorted(ports)


def node_logs(workdir: Path) -> str:
    return "".join(
        f"\n--- {name}\n{(workdir / name).read_text()[-3000:]}"
        for name in ("buyer.log", "seller.log")
        if (workdir / name).exists()
    )


@pytest.mark.anvil
def test_the_readme_walkthrough_runs_verbatim_and_reconciles(tmp_path: Path) -> None:
    script = tmp_path / "walkthrough.sh"
    script.write_text(walkthrough_block())
    home = tmp_path / "state"  # deployment records stay out of the repository's .v2v; the compiled build is reused
    if (state_dir() / "build").is_dir():
        shutil.copytree(state_dir() / "build", home / "build")
    rpc, buyer, seller = distinct_ports(3)
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "V2V_HOME": str(home),
        "RPC_PORT": str(rpc),
        "BUYER_PORT": str(buyer),
        "SELLER_PORT": str(seller),
        "ANVIL": str(ANVIL_BINARY),
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
    }
    process = subprocess.Popen(
        ["bash", "-euxo", "pipefail", str(script)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # anvil and both nodes share its process group: one killpg ends them all
    )
    workdir = tmp_path / "walkthrough"
    try:
        output, _ = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"the walkthrough took over {TIMEOUT_S}s:\n{output.decode()[-6000:]}{node_logs(workdir)}")
    finally:
        with contextlib.suppress(ProcessLookupError):  # the group is gone when the last command's kill ended it
            os.killpg(process.pid, signal.SIGTERM)
    log = output.decode()
    assert process.returncode == 0, f"a step failed:\n{log[-8000:]}{node_logs(workdir)}"

    assert re.search(r"deposited 20(\.0*)? VEC in the Market", log)
    assert '"status":"settled"' in log and "registration: active" in log and "roles: seller" in log
    reconciled = subprocess.run(
        [
            str(Path(bin_dir) / "v2v"),
            "audit",
            "reconcile",
            "--db",
            str(workdir / "audit.sqlite"),
            "--format",
            "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert reconciled.returncode == 0, reconciled.stderr
    result = json.loads(reconciled.stdout)
    assert result["ok"] and result["violations"] == []
