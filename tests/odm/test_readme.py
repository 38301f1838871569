"""The README's ```python examples, executed in order on memory:// (docs cannot drift)."""

import gc
import re
from pathlib import Path

import dongo

README = Path(__file__).resolve().parents[2] / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def readme_blocks():
    return _BLOCK.findall(README.read_text(encoding="utf-8"))


def test_readme_has_examples():
    assert len(readme_blocks()) >= 8


def test_readme_examples_run_in_order(memory_ready):
    namespace = {"__name__": "readme"}
    try:
        for number, block in enumerate(readme_blocks(), 1):
            code = compile(block, f"README.md python block {number}", "exec")
            exec(code, namespace)  # noqa: S102 - our own documentation
    finally:
        # The README's models ('persons', ...) must not keep shadowing other
        # modules' models of the same collection in deref()'s registry.
        namespace.clear()
        gc.collect()
        client = dongo.connection._state.client
        if client is not None:
            for name in ("mydatabase", "shop"):
                client.client.drop_database(name)
        dongo.disconnect()
