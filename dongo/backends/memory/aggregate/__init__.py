"""Aggregation pipelines: validated once, then run as a chain of generators.

    >>> docs = [{"_id": 1, "item": "a", "qty": 2}, {"_id": 2, "item": "b", "qty": 5},
    ...         {"_id": 3, "item": "a", "qty": 1}]
    >>> list(run_pipeline([{"$group": {"_id": "$item", "total": {"$sum": "$qty"}}},
    ...                    {"$sort": {"total": -1}}], docs))
    [{'_id': 'b', 'total': 5}, {'_id': 'a', 'total': 3}]

:func:`compile_pipeline` parses and validates every stage (unknown stages,
malformed arguments, ``$out``/``$merge`` placement, expressions) before a
single document flows, like the server does; :class:`Pipeline` ``.run(docs,
context)`` then streams documents through one generator per stage.  Stages
that need the rest of the database (``$lookup``, ``$graphLookup``,
``$unionWith``, ``$out``, ``$merge``) reach it through a
:class:`PipelineContext`, which the collection layer implements.

Documents handed to ``run`` must be private copies: stages may reuse them in
their output (``$addFields`` copies only the top level and the paths it
changes, so unchanged sub-documents are shared between input and output).

Stages: ``$match $project $addFields/$set $unset $replaceRoot $replaceWith
$redact $sort $skip $limit $sample $count $group $sortByCount $bucket
$bucketAuto (no granularity) $facet $unwind $lookup $graphLookup $unionWith
$documents $setWindowFields $fill $densify $out $merge``.  Stages that need a
server's machinery (``$geoNear``, ``$search``, ``$changeStream``,
``$collStats``, ``$indexStats``, ``$currentOp`` ...) raise
``NotImplementedError`` naming themselves.  With a collation, ``$sort``,
``$match``, ``$group`` keys, ``$lookup`` joins and expression comparisons
follow it.

The package has one module per stage family; each registers its stages in
``pipeline._COMPILERS`` when imported, which this ``__init__`` does:

================  =====================================================
``pipeline``      :class:`PipelineContext`, :class:`Pipeline`, compile/run
``shaping``       ``$match $project $addFields $unset $replaceRoot $redact``
``ordering``      ``$sort $limit $skip $sample $count``
``grouping``      ``$group $sortByCount $bucket $bucketAuto $facet``
``unwind``        ``$unwind``
``lookup``        ``$lookup $graphLookup $unionWith $documents``
``output``        ``$out $merge`` and :func:`merge_matched_document`
``window``        ``$setWindowFields``
``fill``          ``$fill $densify``
================  =====================================================
"""

from __future__ import annotations

# Importing a stage family registers its stages.
from . import fill, grouping, lookup, ordering, shaping, unwind, window  # noqa: F401
from .output import merge_matched_document
from .pipeline import Pipeline, PipelineContext, UPDATE_STAGES, compile_pipeline, run_pipeline

__all__ = ["PipelineContext", "Pipeline", "compile_pipeline", "run_pipeline", "UPDATE_STAGES",
           "merge_matched_document"]
