"""A hostile order file gets a typed refusal from columnar.read (InvalidInput), never another exception: members of
a dtype or shape no column has, numpy's own reader on a member that claims more than it holds, a byte changed
anywhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.columnar import claiming, saved
from tests.support.strategies import order
from v2vchain.errors import InvalidInput, V2VError
from v2vchain.matching import Side, columnar

ORDERS = [order(1, Side.BUY), order(2, Side.SELL)]


def test_read_refuses_a_column_of_a_subarray_dtype(tmp_path: Path) -> None:
    path = saved(tmp_path / "f.npz", ORDERS, energy_wh=np.zeros(2, dtype=np.dtype(("<i8", (2,)))))
    with pytest.raises(InvalidInput):
        columnar.read(path)


def test_read_refuses_a_column_of_an_empty_dtype(tmp_path: Path) -> None:
    path = saved(tmp_path / "f.npz", ORDERS, energy_wh=np.zeros(2, dtype="V0"))
    with pytest.raises(InvalidInput):
        columnar.read(path)


def test_read_refuses_a_column_of_python_objects(tmp_path: Path) -> None:
    path = tmp_path / "f.npz"
    saved(path, ORDERS, side=np.array([1, 2], dtype=object))
    with pytest.raises(InvalidInput):
        columnar.read(path)


def test_read_refuses_a_zero_dimensional_column(tmp_path: Path) -> None:
    path = saved(tmp_path / "f.npz", ORDERS, energy_wh=np.array(5, dtype=np.int64))
    with pytest.raises(InvalidInput):
        columnar.read(path)


def test_read_refuses_a_column_of_two_dimensions(tmp_path: Path) -> None:
    path = saved(tmp_path / "f.npz", ORDERS, energy_wh=np.ones((2, 1), dtype=np.int64))
    with pytest.raises(InvalidInput):
        columnar.read(path)


def test_read_refuses_a_compressed_member_claiming_terabytes(tmp_path: Path) -> None:
    path = claiming(tmp_path / "f.npz", ORDERS, "energy_wh", (2**40,))
    with pytest.raises(InvalidInput):
        columnar.read(path)


@pytest.mark.parametrize("compressed", [False, True])
def test_read_answers_a_file_with_any_one_byte_changed_with_orders_or_a_typed_error(
    tmp_path: Path, compressed: bool
) -> None:
    data = saved(tmp_path / "f.npz", ORDERS, compressed=compressed).read_bytes()
    path = tmp_path / "changed.npz"
    untyped = []
    for at in range(len(data)):
        path.write_bytes(data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :])
        try:
            columnar.read(path)
        except V2VError:
            pass
        except Exception as error:  # any other exception is one read let escape untyped
            untyped.append((at, type(error).__name__))
    assert untyped == []
