"""The examples in dongo's docstrings run (on memory:// where they connect)."""

import doctest
import importlib

import pytest

import dongo

MODULES = [
    "dongo",
    "dongo.errors",
    "dongo.lookups",
    "dongo.jsonify",
    "dongo.connection",
    "dongo.collection",
    "dongo.queryset",
    "dongo.bulk",
    "dongo.refs",
    "dongo.backends.base",
    "dongo.backends.pymongo",
    "dongo.backends.embedded",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, memory_ready):
    module = importlib.import_module(name)
    try:
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    finally:
        dongo.disconnect()
    assert result.failed == 0
