"""$setWindowFields: the cakeSales examples of MongoDB's stage reference page."""

from __future__ import annotations

import datetime as dt

import pytest

from dongo.backends.memory.aggregate import run_pipeline
from dongo.backends.memory.errors import ServerError

D = dt.datetime

CAKE_SALES = [
    {"_id": 0, "type": "chocolate", "orderDate": D(2020, 5, 18, 14, 10, 30), "state": "CA", "price": 13,
     "quantity": 120},
    {"_id": 1, "type": "chocolate", "orderDate": D(2021, 3, 20, 11, 30, 5), "state": "WA", "price": 14,
     "quantity": 140},
    {"_id": 2, "type": "vanilla", "orderDate": D(2021, 1, 11, 6, 31, 15), "state": "CA", "price": 12,
     "quantity": 145},
    {"_id": 3, "type": "vanilla", "orderDate": D(2020, 2, 8, 13, 13, 23), "state": "WA", "price": 13,
     "quantity": 104},
    {"_id": 4, "type": "strawberry", "orderDate": D(2019, 5, 18, 16, 9, 1), "state": "CA", "price": 41,
     "quantity": 162},
    {"_id": 5, "type": "strawberry", "orderDate": D(2019, 1, 8, 6, 12, 3), "state": "WA", "price": 43,
     "quantity": 134},
]


def window(output, partition_by="$state", sort_by=None, docs=CAKE_SALES):
    spec = {"output": output}
    if partition_by is not None:
        spec["partitionBy"] = partition_by
    if sort_by is not None:
        spec["sortBy"] = sort_by
    return list(run_pipeline([{"$setWindowFields": spec}], [dict(d) for d in docs]))


def column(result, field):
    return [(d["_id"], d[field]) for d in result]


def test_cumulative_quantity_per_state():
    result = window({"cumulativeQuantityForState": {"$sum": "$quantity",
                                                    "window": {"documents": ["unbounded", "current"]}}},
                    sort_by={"orderDate": 1})
    assert column(result, "cumulativeQuantityForState") == [(4, 162), (0, 282), (2, 427), (5, 134), (3, 238),
                                                            (1, 378)]
    assert result[0] == {**CAKE_SALES[4], "cumulativeQuantityForState": 162}


def test_cumulative_quantity_per_year():
    result = window({"cumulativeQuantityForYear": {"$sum": "$quantity",
                                                   "window": {"documents": ["unbounded", "current"]}}},
                    partition_by={"$year": "$orderDate"}, sort_by={"orderDate": 1})
    assert column(result, "cumulativeQuantityForYear") == [(5, 134), (4, 296), (3, 104), (0, 224), (2, 145),
                                                           (1, 285)]


def test_moving_average_per_year():
    result = window({"averageQuantity": {"$avg": "$quantity", "window": {"documents": [-1, 0]}}},
                    partition_by={"$year": "$orderDate"}, sort_by={"orderDate": 1})
    assert column(result, "averageQuantity") == [(5, 134.0), (4, 148.0), (3, 104.0), (0, 112.0), (2, 145.0),
                                                 (1, 142.5)]


def test_whole_partition_and_multiple_outputs():
    result = window({"cumulativeQuantityForYear": {"$sum": "$quantity",
                                                   "window": {"documents": ["unbounded", "current"]}},
                     "maximumQuantityForYear": {"$max": "$quantity",
                                                "window": {"documents": ["unbounded", "unbounded"]}}},
                    partition_by={"$year": "$orderDate"}, sort_by={"orderDate": 1})
    assert column(result, "maximumQuantityForYear") == [(5, 162), (4, 162), (3, 120), (0, 120), (2, 145),
                                                        (1, 145)]


def test_range_window():
    result = window({"quantityFromSimilarOrders": {"$sum": "$quantity", "window": {"range": [-10, 10]}}},
                    sort_by={"price": 1})
    assert column(result, "quantityFromSimilarOrders") == [(2, 265), (0, 265), (4, 162), (3, 244), (1, 244),
                                                           (5, 134)]


def test_time_range_window_with_unit():
    # The docs' "time range window with a positive upper bound": months count in calendar months.
    result = window({"recentOrders": {"$push": "$orderDate",
                                      "window": {"range": ["unbounded", 10], "unit": "month"}}},
                    sort_by={"orderDate": 1})
    assert [(d["_id"], len(d["recentOrders"])) for d in result] == [(4, 1), (0, 3), (2, 3), (5, 1), (3, 2),
                                                                     (1, 3)]
    with pytest.raises(ServerError):
        window({"x": {"$push": "$orderDate", "window": {"range": ["unbounded", 10], "unit": "fortnight"}}},
               sort_by={"orderDate": 1})
    result = window({"x": {"$push": "$_id", "window": {"range": [-60, 0], "unit": "week"}}},
                    partition_by=None, sort_by={"orderDate": 1})
    # Sorted by date: 5 (2019-01), 4 (2019-05), 3 (2020-02), 0 (2020-05), 2 (2021-01), 1 (2021-03).
    # 60 weeks = 420 days back from each order date.
    assert column(result, "x") == [(5, [5]), (4, [5, 4]), (3, [5, 4, 3]), (0, [4, 3, 0]), (2, [3, 0, 2]),
                                   (1, [3, 0, 2, 1])]


def test_rank_dense_rank_and_document_number():
    docs = [{"_id": i, "q": q} for i, q in enumerate([5, 3, 5, 1])]
    result = window({"r": {"$rank": {}}, "d": {"$denseRank": {}}, "n": {"$documentNumber": {}}},
                    partition_by=None, sort_by={"q": -1}, docs=docs)
    assert [(d["_id"], d["r"], d["d"], d["n"]) for d in result] == [(0, 1, 1, 1), (2, 1, 1, 2), (1, 3, 2, 3),
                                                                   (3, 4, 3, 4)]


def test_shift_locf_and_exp_moving_average():
    docs = [{"_id": i, "v": v} for i, v in enumerate([10, None, 30, 40])]
    result = window({"prev": {"$shift": {"output": "$v", "by": -1, "default": "none"}},
                     "filled": {"$locf": "$v"},
                     "ema": {"$expMovingAvg": {"input": "$v", "alpha": 0.5}}},
                    partition_by=None, sort_by={"_id": 1}, docs=docs)
    assert column(result, "prev") == [(0, "none"), (1, 10), (2, None), (3, 30)]
    assert column(result, "filled") == [(0, 10), (1, 10), (2, 30), (3, 40)]
    assert column(result, "ema") == [(0, 10.0), (1, 10.0), (2, 20.0), (3, 30.0)]


def test_window_errors():
    def code(output, **kw):
        with pytest.raises(ServerError) as info:
            window(output, **kw)
        return info.value.code

    assert code({"x": {"$summ": "$quantity"}}) == 9
    assert code({"x": {"$sum": "$quantity", "window": {"documents": [-1, 0]}}}) == 5339901
    assert code({"x": {"$rank": {}}}) == 5371602
    with pytest.raises(ServerError) as info:
        list(run_pipeline([{"$setWindowFields": {"sortBy": {"a": 1}}}], []))
    assert info.value.code == 40414


def test_fill_docs_examples():
    from dongo.backends.memory.aggregate import run_pipeline as run

    dresses = [{"_id": 1, "date": D(2022, 2, 2), "bootsSold": 10, "sandalsSold": 20, "sneakersSold": 12},
               {"_id": 2, "date": D(2022, 2, 3), "bootsSold": 7, "sneakersSold": 18},
               {"_id": 3, "date": D(2022, 2, 4), "sneakersSold": 5}]
    result = list(run([{"$fill": {"output": {"bootsSold": {"value": 0}, "sandalsSold": {"value": 0},
                                             "sneakersSold": {"value": 0}}}}], [dict(d) for d in dresses]))
    assert result == [{"_id": 1, "date": D(2022, 2, 2), "bootsSold": 10, "sandalsSold": 20, "sneakersSold": 12},
                      {"_id": 2, "date": D(2022, 2, 3), "bootsSold": 7, "sneakersSold": 18, "sandalsSold": 0},
                      {"_id": 3, "date": D(2022, 2, 4), "sneakersSold": 5, "bootsSold": 0, "sandalsSold": 0}]
    stock = [{"time": D(2021, 3, 8, 9), "price": 500}, {"time": D(2021, 3, 8, 10)},
             {"time": D(2021, 3, 8, 11)}, {"time": D(2021, 3, 8, 12), "price": 515},
             {"time": D(2021, 3, 8, 13)}, {"time": D(2021, 3, 8, 14)}, {"time": D(2021, 3, 8, 15), "price": 560},
             {"time": D(2021, 3, 8, 16), "price": 558}, {"time": D(2021, 3, 8, 17)},
             {"time": D(2021, 3, 8, 18), "price": 545}]
    result = list(run([{"$fill": {"sortBy": {"time": 1}, "output": {"price": {"method": "linear"}}}}],
                      [dict(d) for d in stock]))
    assert [d["price"] for d in result] == [500, 505.0, 510.0, 515, 530.0, 545.0, 560, 558, 551.5, 545]
    result = list(run([{"$fill": {"sortBy": {"time": 1}, "output": {"price": {"method": "locf"}}}}],
                      [dict(d) for d in stock]))
    assert [d["price"] for d in result] == [500, 500, 500, 515, 515, 515, 560, 558, 558, 545]
    with pytest.raises(ServerError):
        list(run([{"$fill": {"output": {"price": {"method": "linear"}}}}], []))


WEATHER = [{"metadata": {"sensorId": 5578, "type": "temperature"}, "timestamp": D(2021, 5, 18, h), "temp": t}
           for h, t in ((0, 12), (4, 11), (8, 11), (12, 12))]
COFFEE = [{"altitude": 600, "variety": "Arabica Typica", "score": 68.3},
          {"altitude": 750, "variety": "Arabica Typica", "score": 69.5},
          {"altitude": 950, "variety": "Arabica Typica", "score": 70.5},
          {"altitude": 1250, "variety": "Gesha", "score": 88.15},
          {"altitude": 1700, "variety": "Gesha", "score": 85.5}]


def test_densify_time_series_docs_example():
    result = list(run_pipeline([{"$densify": {"field": "timestamp", "range": {
        "step": 1, "unit": "hour", "bounds": [D(2021, 5, 18, 0), D(2021, 5, 18, 8)]}}}],
        [dict(d) for d in WEATHER]))
    assert [d["timestamp"].hour for d in result] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 12]
    assert result[1] == {"timestamp": D(2021, 5, 18, 1)}
    assert result[0] == WEATHER[0]


def test_densify_partitions_docs_example():
    full = list(run_pipeline([{"$densify": {"field": "altitude", "partitionByFields": ["variety"],
                                            "range": {"bounds": "full", "step": 200}}}], [dict(d) for d in COFFEE]))
    assert [(d["variety"][0], d["altitude"], "score" in d) for d in full] == [
        ("A", 600, True), ("A", 750, True), ("A", 800, False), ("A", 950, True), ("A", 1000, False),
        ("A", 1200, False), ("A", 1400, False), ("A", 1600, False),
        ("G", 600, False), ("G", 800, False), ("G", 1000, False), ("G", 1200, False), ("G", 1250, True),
        ("G", 1400, False), ("G", 1600, False), ("G", 1700, True)]
    assert full[2] == {"altitude": 800, "variety": "Arabica Typica"}
    part = list(run_pipeline([{"$densify": {"field": "altitude", "partitionByFields": ["variety"],
                                            "range": {"bounds": "partition", "step": 200}}}],
                             [dict(d) for d in COFFEE]))
    assert [d["altitude"] for d in part] == [600, 750, 800, 950, 1250, 1450, 1650, 1700]
    with pytest.raises(ServerError):
        list(run_pipeline([{"$densify": {"field": "altitude", "range": {"bounds": "full", "step": -1}}}], []))
