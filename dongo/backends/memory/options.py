"""The four option objects every pymongo handle carries.

A pymongo ``MongoClient``, ``Database`` and ``Collection`` each hold codec
options, a read preference, a write concern and a read concern; a database
inherits the client's unless given its own, a collection the database's.
:class:`OptionHolder` is that shared behaviour for the memory engine's
client, database and collection.

    >>> class Handle(OptionHolder):
    ...     pass
    >>> parent = Handle(); parent._set_options(None, None, None, None, parent=None)
    >>> parent.codec_options.tz_aware
    False
"""

from __future__ import annotations

from typing import Any, Optional

from bson.codec_options import DEFAULT_CODEC_OPTIONS, CodecOptions
from pymongo import common
from pymongo.read_concern import ReadConcern
from pymongo.read_preferences import ReadPreference
from pymongo.write_concern import WriteConcern

__all__ = ["OptionHolder", "check_option_objects"]


def check_option_objects(owner: Any) -> None:
    """pymongo's type checks on a handle's four option objects (its own
    ``BaseObject`` raises its exact ``TypeError`` messages).

        >>> class H: codec_options, read_preference, write_concern, read_concern = 1, 2, 3, 4
        >>> check_option_objects(H())
        Traceback (most recent call last):
        TypeError: codec_options must be an instance of bson.codec_options.CodecOptions
    """
    common.BaseObject(owner.codec_options, owner.read_preference, owner.write_concern,
                      owner.read_concern)


class OptionHolder:
    """Codec options, read preference, write and read concern, inherited from
    a parent handle unless given (pymongo's ``BaseObject`` attributes)."""

    _codec_options: CodecOptions
    _read_preference: Any
    _write_concern: WriteConcern
    _read_concern: ReadConcern

    def _set_options(self, codec_options: Optional[CodecOptions], read_preference: Any,
                     write_concern: Optional[WriteConcern], read_concern: Optional[ReadConcern],
                     *, parent: Any) -> None:
        """Take each option given, else the parent's (pymongo's defaults without a parent);
        given options are type-checked as pymongo checks them."""
        self._codec_options = codec_options or (
            parent.codec_options if parent is not None else DEFAULT_CODEC_OPTIONS)
        self._read_preference = read_preference or (
            parent.read_preference if parent is not None else ReadPreference.PRIMARY)
        self._write_concern = write_concern or (
            parent.write_concern if parent is not None else WriteConcern())
        self._read_concern = read_concern or (
            parent.read_concern if parent is not None else ReadConcern())
        if codec_options or read_preference or write_concern or read_concern:
            check_option_objects(self)

    @property
    def codec_options(self) -> CodecOptions:
        return self._codec_options

    @property
    def read_preference(self) -> Any:
        return self._read_preference

    @property
    def write_concern(self) -> WriteConcern:
        return self._write_concern

    @property
    def read_concern(self) -> ReadConcern:
        return self._read_concern
