"""Server-side errors raised inside the memory engine.

Every module of the engine signals a failure the way a MongoDB server does:
with a numeric error ``code``, its ``codeName`` and an ``errmsg``.  The engine
raises :class:`ServerError` internally; the pymongo-shaped surface
(``collection.py``) turns it into the exception pymongo itself would raise for
that command (``OperationFailure``, ``WriteError``, ``DuplicateKeyError``,
``BulkWriteError`` ...), so a caller catches the same types on both backends.

Codes and names follow ``src/mongo/base/error_codes.yml`` of the server.

    >>> raise ServerError(2, "unknown operator: $foo")
    Traceback (most recent call last):
    ...
    dongo.backends.memory.errors.ServerError: unknown operator: $foo (BadValue, code 2)
"""

from __future__ import annotations

from typing import Any

# The subset of the server's error codes the engine can raise.  Numbers that
# the server raises as plain ``Location<N>`` assertions have no entry here and
# get the name ``Location<N>`` like the server reports them.
CODE_NAMES: dict[int, str] = {
    1: "InternalError",
    2: "BadValue",
    4: "NoSuchKey",
    10: "CannotMutateObject",
    9: "FailedToParse",
    14: "TypeMismatch",
    15: "Overflow",
    16: "InvalidLength",
    17: "ProtocolError",
    20: "IllegalOperation",
    21: "EmptyArrayOperation",
    22: "InvalidBSON",
    26: "NamespaceNotFound",
    27: "IndexNotFound",
    28: "PathNotViable",
    29: "NonExistentPath",
    30: "InvalidPath",
    34: "CannotBackfillArray",
    40: "ConflictingUpdateOperators",
    48: "NamespaceExists",
    50: "MaxTimeMSExpired",
    52: "DollarPrefixedFieldName",
    53: "InvalidIdField",
    54: "NotSingleValueField",
    55: "InvalidDBRef",
    56: "EmptyFieldName",
    57: "DottedFieldName",
    59: "CommandNotFound",
    66: "ImmutableField",
    67: "CannotCreateIndex",
    68: "IndexAlreadyExists",
    72: "InvalidOptions",
    73: "InvalidNamespace",
    85: "IndexOptionsConflict",
    86: "IndexKeySpecsConflict",
    96: "OperationFailed",
    111: "NotExactValueField",
    115: "CommandNotSupported",
    121: "DocumentValidationFailure",
    166: "CommandNotSupportedOnView",
    168: "InvalidPipelineOperator",
    171: "CannotIndexParallelArrays",
    201: "CannotBuildIndexKeys",
    238: "NotImplemented",
    197: "InvalidIndexSpecificationOption",
    241: "ConversionFailure",
    292: "QueryExceededMemoryLimitNoDiskUseAllowed",
    10334: "BSONObjectTooLarge",
    11000: "DuplicateKey",
    17419: "Location17419",
}

# Named constants for the codes engine modules raise most, so call sites read
# like the domain: ``raise ServerError(BAD_VALUE, "...")``.
BAD_VALUE = 2
FAILED_TO_PARSE = 9
TYPE_MISMATCH = 14
NAMESPACE_NOT_FOUND = 26
INDEX_NOT_FOUND = 27
PATH_NOT_VIABLE = 28
CONFLICTING_UPDATE_OPERATORS = 40
NAMESPACE_EXISTS = 48
DOLLAR_PREFIXED_FIELD_NAME = 52
EMPTY_FIELD_NAME = 56
DOTTED_FIELD_NAME = 57
IMMUTABLE_FIELD = 66
CANNOT_CREATE_INDEX = 67
INVALID_OPTIONS = 72
INVALID_NAMESPACE = 73
INDEX_OPTIONS_CONFLICT = 85
INDEX_KEY_SPECS_CONFLICT = 86
INVALID_PIPELINE_OPERATOR = 168
INVALID_INDEX_SPEC_OPTION = 197
CONVERSION_FAILURE = 241
BSON_OBJECT_TOO_LARGE = 10334
DUPLICATE_KEY = 11000


def code_name(code: int) -> str:
    """The server's ``codeName`` for ``code`` (``Location<N>`` when unnamed)."""
    return CODE_NAMES.get(code, f"Location{code}")


class ServerError(Exception):
    """A command or write failed the way the server would fail it.

    ``details`` carries extra fields the server puts in the error document
    (``keyPattern`` and ``keyValue`` for duplicate keys, ``errInfo`` for
    validation failures).
    """

    def __init__(self, code: int, errmsg: str, **details: Any) -> None:
        super().__init__(errmsg)
        self.code = code
        self.errmsg = errmsg
        self.details = details

    @property
    def code_name(self) -> str:
        return code_name(self.code)

    def to_document(self) -> dict[str, Any]:
        """The error as the server reports it: ``{ok: 0, errmsg, code, codeName}``."""
        doc: dict[str, Any] = {"ok": 0.0, "errmsg": self.errmsg, "code": self.code,
                               "codeName": self.code_name}
        doc.update(self.details)
        return doc

    def __str__(self) -> str:
        return f"{self.errmsg} ({self.code_name}, code {self.code})"
