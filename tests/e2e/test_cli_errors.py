"""A newcomer's mistakes against a real chain (issue 10): each is one `error: ...` line on stderr and a non-zero exit,
never a traceback. Run through the real `v2v` command (typer's CliRunner on the root app)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.json_handler import JsonHandler
from v2vchain.cli.errors import EXIT_ERROR
from v2vchain.cli.main import app


class _NotJsonRpc(JsonHandler):
    """Answers every request with JSON that is no JSON-RPC response (a web app on the port the user typed)."""

    body = json.dumps({"hello": "world"}).encode()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_json(self.body)

    do_GET = do_POST


class _DeepJson(_NotJsonRpc):
    """A hostile JSON-RPC server: every answer is JSON nested 200,000 deep (400 kB)."""

    body = b"[" * 200_000 + b"]" * 200_000


@pytest.fixture(scope="module")
def not_json_rpc() -> Iterator[str]:
    yield from _serve(_NotJsonRpc)


@pytest.fixture(scope="module")
def deep_json_rpc() -> Iterator[str]:
    yield from _serve(_DeepJson)


def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def v2v(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def assert_one_line_error(code: int, output: str, *fragments: str) -> None:
    assert code == EXIT_ERROR != 0, output
    assert "Traceback" not in output and "╭" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, output
    for fragment in fragments:
        assert fragment in errors[0], output


KEY_ENV = {"V2V_PRIVATE_KEY": "0x" + "00" * 31 + "01"}


def test_deploy_against_a_server_that_is_not_json_rpc(not_json_rpc: str) -> None:
    assert_one_line_error(*v2v("deploy", "--chain", not_json_rpc, env=KEY_ENV), not_json_rpc, "not a JSON-RPC")


def test_audit_index_against_a_server_that_is_not_json_rpc(not_json_rpc: str, tmp_path: Path) -> None:
    code, output = v2v("audit", "index", "--chain", not_json_rpc, "--db", str(tmp_path / "audit.db"))
    assert_one_line_error(code, output, not_json_rpc, "not a JSON-RPC response")


def v2v_process(*args: str) -> tuple[int, str]:
    """The `v2v` command in its own process: a crash shows as its exit status instead of taking pytest down."""
    done = subprocess.run(
        [str(Path(sys.executable).with_name("v2v")), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **KEY_ENV},
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize(
    "command", [("deploy", "--chain"), ("audit", "index", "--db", "audit.db", "--chain")], ids=["deploy", "index"]
)
def test_a_json_rpc_answer_nested_200000_deep_is_one_line_not_a_crash(
    deep_json_rpc: str, tmp_path: Path, command: tuple[str, ...]
) -> None:
    """Redteam: json's recursion ran past the C stack (py_ecc raises Python's recursion limit to 100,000), so a
    hostile chain URL killed `v2v` (and a node) with SIGSEGV, exit 139."""
    arguments = [str(tmp_path / a) if a == "audit.db" else a for a in command]
    assert_one_line_error(*v2v_process(*arguments, deep_json_rpc), deep_json_rpc, "JSON")


def test_reconcile_of_the_empty_index_a_failed_index_left_is_refused(not_json_rpc: str, tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    v2v("audit", "index", "--chain", not_json_rpc, "--db", str(db))
    assert db.exists()  # the failed run left an empty index behind
    code, output = v2v("audit", "reconcile", "--db", str(db))
    assert_one_line_error(code, output, "is empty", "v2v audit index")
    assert "0 violation" not in output


def test_deploy_with_a_token_that_is_not_an_address() -> None:
    assert_one_line_error(*v2v("deploy", "--token", "0x1234"), "--token '0x1234' is not a 0x address")


def test_issuer_revoke_of_a_vehicle_that_is_not_an_address(tmp_path: Path) -> None:
    keystore = tmp_path / "issuer.json"
    keystore.write_text("{}")  # never read: the address is checked before any key is unlocked
    code, output = v2v("issuer", "revoke", "--keystore", str(keystore), "--chain", "embedded", "--vehicle", "bob")
    assert_one_line_error(code, output, "--vehicle 'bob' is not a 0x address")


def test_audit_report_into_an_existing_file(tmp_path: Path) -> None:
    existing = tmp_path / "report.html"
    existing.write_text("mine")
    code, output = v2v("audit", "report", "--out", str(existing), "--db", str(tmp_path / "audit.db"))
    assert_one_line_error(code, output, str(existing), "existing file")
    assert existing.read_text() == "mine"


def test_an_os_error_anywhere_is_one_line_too(tmp_path: Path) -> None:
    """The handler's fallback for what no command checks itself: a keystore path under a regular file."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, output = v2v("issuer", "init", "--keystore", str(blocker / "issuer.json"), env={"V2V_ISSUER_PASSWORD": "pw"})
    assert_one_line_error(code, output, str(blocker))
