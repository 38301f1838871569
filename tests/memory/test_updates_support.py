"""Helpers shared by the update-language tests (no tests of its own)."""

from __future__ import annotations

from typing import Any

import bson
import pytest
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions

from dongo.backends.memory.errors import ServerError
from dongo.backends.memory.updates import compile_update

_CODEC = CodecOptions(uuid_representation=UuidRepresentation.STANDARD)


def exact(value: Any) -> bytes:
    """BSON bytes of ``value``: equal only for the same types, values and field order."""
    return bson.encode({"v": value}, codec_options=_CODEC)


def assert_exact(actual: Any, expected: Any) -> None:
    """Assert equality including BSON types (1 vs 1.0 vs Int64) and field order."""
    assert exact(actual) == exact(expected), f"\n actual:   {actual!r}\n expected: {expected!r}"


def apply(update: Any, doc: dict, **kwargs: Any) -> tuple[bool, dict]:
    """Compile ``update`` and apply it to ``doc``; returns (changed, doc)."""
    position = kwargs.pop("position", None)
    is_insert = kwargs.pop("is_insert", False)
    changed = compile_update(update, **kwargs).apply(doc, position=position, is_insert=is_insert)
    return changed, doc


def check(update: Any, doc: dict, expected: dict, changed: bool = True, **kwargs: Any) -> None:
    """Apply ``update`` to ``doc`` and compare exactly with ``expected``."""
    got_changed, got = apply(update, doc, **kwargs)
    assert_exact(got, expected)
    assert got_changed is changed


def error(update: Any, doc: dict | None = None, **kwargs: Any) -> ServerError:
    """The ServerError compiling (and, with ``doc``, applying) ``update`` raises."""
    with pytest.raises(ServerError) as info:
        if doc is None:
            compile_update(update, **kwargs)
        else:
            apply(update, doc, **kwargs)
    return info.value


def check_error(update: Any, doc: dict | None, code: int, message: str, **kwargs: Any) -> None:
    exc = error(update, doc, **kwargs)
    assert (exc.code, exc.errmsg) == (code, message)
