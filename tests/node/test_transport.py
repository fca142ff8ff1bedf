"""Issue 14, item 14: node-to-node traffic goes only to the node a URL pins; plain HTTP only by explicit opt-in. No
chain needed; the same against real nodes (a man in the middle, the bytes on the wire) is in test_peer_attacks."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from node.config import NodeConfig
from node.errors import NodeError, UnpinnedPeer
from node.peers import MAX_ANSWER_BYTES, peer_request
from node.transport import ensure_certificate, pinned_url, split_url
from tests.support.tls_peers import serve_answering_peer, serve_listing_peer
from v2vchain.errors import ConfigError


def _config(tmp_path: Path, **extra: Any) -> NodeConfig:
    return NodeConfig.model_validate(
        {
            "name": "car",
            "chain": "http://127.0.0.1:8545",
            "deployment": tmp_path / "deployment.json",
            "keystore": tmp_path / "key.json",
            "credential": tmp_path / "vc.json",
            "db": tmp_path / "car.sqlite",
            "port": 8701,
            "position": {"lat": 52.5, "lon": 13.4},
            **extra,
        }
    )


def test_the_certificate_is_made_once_with_a_private_key_only_its_owner_reads(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    first = ensure_certificate(cert, key, "127.0.0.1")
    assert ensure_certificate(cert, key, "127.0.0.1") == first  # kept: peers have it pinned
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(first) == 64 and int(first, 16) >= 0


def test_a_tls_key_others_can_read_is_refused(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    ensure_certificate(cert, key, "127.0.0.1")
    key.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        ensure_certificate(cert, key, "127.0.0.1")


def test_a_node_url_is_https_with_its_certificates_pin_unless_plain_http_is_chosen(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert config.transport == "tls"
    pin = ensure_certificate(*config.tls_files, config.host)
    assert config.url == f"https://127.0.0.1:8701#sha256={pin}"
    behind_nat = _config(tmp_path, public_url="https://car.example:443")
    assert behind_nat.url == f"https://car.example:443#sha256={pin}"
    assert _config(tmp_path, transport="plain-http").url == "http://127.0.0.1:8701"


def test_a_tls_config_refuses_a_peer_or_operator_without_a_certificate_pin(tmp_path: Path) -> None:
    for field, value in (("peers", ["http://127.0.0.1:8702"]), ("operator_url", "https://127.0.0.1:8800")):
        with pytest.raises(ValidationError, match="not a pinned node URL"):
            _config(tmp_path, **{field: value})
        assert _config(tmp_path, transport="plain-http", **{field: value}).transport == "plain-http"
    pinned = pinned_url("https://127.0.0.1:8702", "ab" * 32)
    assert _config(tmp_path, peers=[pinned], operator_url=pinned).peers == [pinned]


def test_a_tls_node_sends_nothing_to_a_plain_http_or_unpinned_url() -> None:
    with pytest.raises(UnpinnedPeer, match="plain HTTP"):
        peer_request("POST", "http://127.0.0.1:9", "/p2p/bids", {"price_per_wh": 1})
    with pytest.raises(UnpinnedPeer, match="not a pinned node URL"):
        peer_request("POST", "https://127.0.0.1:9", "/p2p/bids", {"price_per_wh": 1})
    with pytest.raises(UnpinnedPeer, match="not a SHA-256"):
        peer_request("POST", "https://127.0.0.1:9#sha256=abc", "/p2p/bids", {"price_per_wh": 1})


def test_a_server_with_another_certificate_is_refused_before_any_request_byte() -> None:
    impostor = serve_listing_peer()
    try:
        base = split_url(impostor.url)[0]
        with pytest.raises(NodeError, match="not the one its URL pins") as refused:
            peer_request("POST", pinned_url(base, "ab" * 32), "/p2p/bids", {"price_per_wh": 123})
        assert refused.value.status == 502
        assert impostor.seen == []
        assert peer_request("GET", impostor.url, "/p2p/requests") == []  # the same server, its own pin: reached
    finally:
        impostor.shutdown()


def test_a_peer_answer_over_a_mebibyte_is_refused_while_it_streams() -> None:
    """Redteam: a peer's answer was read whole into memory, however large (any listed peer, operator or seller)."""
    flood = serve_answering_peer(b'"' + b"a" * (8 * MAX_ANSWER_BYTES) + b'"')
    try:
        with pytest.raises(NodeError, match=f"more than {MAX_ANSWER_BYTES} bytes") as refused:
            peer_request("GET", flood.url, "/p2p/requests")
        assert refused.value.status == 502
    finally:
        flood.shutdown()


def test_a_peer_answer_nested_deeper_than_the_bound_is_refused_unparsed() -> None:
    """Redteam: 200 kB of '[' from a peer overflowed the C stack in json (the chain libraries raise Python's
    recursion limit to 100,000), killing the whole node process with SIGSEGV."""
    deep = serve_answering_peer(b"[" * 100_000 + b"]" * 100_000)
    try:
        with pytest.raises(NodeError, match="nested more than 64 deep") as refused:
            peer_request("GET", deep.url, "/p2p/challenge")
        assert refused.value.status == 502
    finally:
        deep.shutdown()
