"""Aggregation expressions, compiled once into closures.

An aggregation expression (``{"$add": ["$price", 1]}``, ``"$a.b"``,
``"$$ROOT"``, a literal ...) is compiled by :func:`compile_expression` into a
Python callable ``evaluate(doc, variables) -> value``.  All validation that a
server performs while *parsing* a pipeline (unknown operators, arity,
undefined variables, malformed operator arguments) happens at compile time, so
errors surface even when no document is ever evaluated.

    >>> f = compile_expression({"$multiply": ["$price", "$qty"]})
    >>> f({"price": 3, "qty": 4}, {})
    12

``variables`` passed at evaluation time maps user variable names (without the
``$$``) to values; the builtin ``NOW``/``CLUSTER_TIME``/``ROOT`` may also be
supplied there (``run_pipeline`` does).  A missing field evaluates to
:data:`bsontypes.MISSING`; callers decide what missing means ($project and
$addFields omit the field, $group turns it into null).

Numbers follow the server's typing: ``int`` in the int32 range is an int32,
``bson.int64.Int64`` (or a Python int outside the int32 range) is a long,
``float`` a double and ``Decimal128`` a decimal.  Integer arithmetic widens
int32 -> long -> double on overflow; any decimal operand makes a decimal
result computed with a 34-digit context.

:func:`compile_accumulator` builds the ``$group`` accumulators
(``$sum``, ``$push``, ``$topN`` ...): objects with ``add(doc, vars)`` and
``result()``.

The package has one module per operator family; each registers its operators
in ``core._OPERATORS`` when imported, which this ``__init__`` does:

=================  ====================================================
``core``           value helpers, the registry, field paths, variables
``literals``       ``$literal``, ``$let``, ``$rand``, refused JavaScript
``arithmetic``     ``$add`` ... ``$pow``, rounding, trigonometry, bitwise
``comparison``     ``$eq`` ... ``$cmp``, ``$and``/``$or``/``$not``
``conditionals``   ``$cond``, ``$ifNull``, ``$switch``
``strings``        string operators and regular expressions
``arrays``         array operators
``sets``           set operators
``objects``        ``$mergeObjects``, ``$getField``/``$setField`` ...
``conversion``     ``$type``, ``$convert`` and the ``$toX`` shorthands
``dates``          date operators and time zones
``date_strings``   ``$dateToString`` and ``$dateFromString``
``accumulators``   ``$group`` accumulators and their expression forms
=================  ====================================================
"""

from __future__ import annotations

# Importing a family module registers its operators.  No operator is
# registered by two families, so the order does not matter.
from . import (accumulators, arithmetic, arrays, comparison, conditionals, conversion, date_strings,  # noqa: F401
               dates, literals, objects, sets, strings)
from .accumulators import ACCUMULATORS, Accumulator, compile_accumulator
from .core import Evaluator, compile_expression, is_operator_object, now_datetime, truthy, validate_variable_name
from .dates import date_add, date_diff, date_trunc
from .objects import merge_objects

__all__ = ["compile_expression", "compile_accumulator", "ACCUMULATORS", "truthy", "is_operator_object",
           "validate_variable_name", "now_datetime", "date_add", "date_diff", "date_trunc", "merge_objects",
           "Accumulator", "Evaluator"]
