"""How the engine's replies become what pymongo hands its callers.

A real server answers a command with a reply document; pymongo turns that
reply into a result object or raises an exception chosen by the command and
the error code.  The engine raises :class:`~.errors.ServerError` instead of
building replies, and this module makes the *same* pymongo exception from it,
with the same ``code`` and ``details`` a server reply would give:

* single-document writes (``insert_one``, ``update_*``, ``replace_one``,
  ``delete_*``): the server reports ``writeErrors``; pymongo raises
  ``DuplicateKeyError`` for code 11000, else ``WriteError``; ``details`` is
  the write error document ``{index, code, errmsg, ...}``;
* every other command (find, aggregate, findAndModify, createIndexes ...):
  the reply is ``{ok: 0, errmsg, code, codeName}``; pymongo raises
  ``DuplicateKeyError`` (11000), ``ExecutionTimeout`` (50) or
  ``OperationFailure`` with the reply as ``details``.

    >>> from dongo.backends.memory.errors import ServerError
    >>> try:
    ...     raise_command_error(ServerError(2, "bad"))
    ... except Exception as exc:
    ...     print(type(exc).__name__, exc.code, exc.details["codeName"])
    OperationFailure 2 BadValue
"""

from __future__ import annotations

from typing import Any, NoReturn

from pymongo.errors import (
    DuplicateKeyError,
    ExecutionTimeout,
    OperationFailure,
    WriteError,
)

from .errors import ServerError


def write_error_document(err: ServerError, index: int) -> dict[str, Any]:
    """The ``writeErrors`` entry a server reports for statement ``index``."""
    doc: dict[str, Any] = {"index": index, "code": err.code}
    doc.update(err.details)
    doc["errmsg"] = err.errmsg
    return doc


def raise_write_error(err: ServerError) -> NoReturn:
    """Raise what pymongo raises for a failed single-statement write."""
    doc = write_error_document(err, 0)
    if err.code == 11000:
        raise DuplicateKeyError(err.errmsg, 11000, doc) from None
    raise WriteError(err.errmsg, err.code, doc) from None


def raise_command_error(err: ServerError) -> NoReturn:
    """Raise what pymongo raises for a command whose reply is ``ok: 0``."""
    doc = err.to_document()
    if err.code in (11000, 11001, 12582):
        raise DuplicateKeyError(err.errmsg, err.code, doc) from None
    if err.code == 50:
        raise ExecutionTimeout(err.errmsg, err.code, doc) from None
    raise OperationFailure(err.errmsg, err.code, doc) from None


def new_bulk_result() -> dict[str, Any]:
    """The empty bulk result pymongo accumulates server replies into."""
    return {
        "writeErrors": [],
        "writeConcernErrors": [],
        "nInserted": 0,
        "nUpserted": 0,
        "nMatched": 0,
        "nModified": 0,
        "nRemoved": 0,
        "upserted": [],
    }
