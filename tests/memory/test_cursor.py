"""MemoryCursor / MemoryCommandCursor behave like pymongo's cursors."""

import pytest
from pymongo.errors import InvalidOperation, OperationFailure

from dongo.backends.memory import MemoryClient


@pytest.fixture
def coll():
    c = MemoryClient()["db"]["c"]
    c.insert_many([{"_id": i, "n": (i * 7) % 10, "g": i % 3} for i in range(10)])
    return c


def ids(cursor):
    return [d["_id"] for d in cursor]


def test_natural_order_and_filter(coll):
    assert ids(coll.find()) == list(range(10))
    assert ids(coll.find({"g": 1})) == [1, 4, 7]


def test_sort_skip_limit(coll):
    # n values by _id: 0,7,4,1,8,5,2,9,6,3
    assert ids(coll.find().sort("n", -1)) == [7, 4, 1, 8, 5, 2, 9, 6, 3, 0]
    assert ids(coll.find().sort([("g", 1), ("n", -1)]).limit(5)) == [9, 6, 3, 0, 7]
    assert ids(coll.find(sort={"n": 1}, skip=2, limit=3)) == [6, 9, 2]
    assert ids(coll.find().skip(8)) == [8, 9]
    assert ids(coll.find().limit(0)) == list(range(10))


def test_negative_limit_is_a_single_batch_of_abs(coll):
    assert ids(coll.find().sort("_id", -1).limit(-3)) == [9, 8, 7]


def test_projection(coll):
    assert coll.find({"_id": 2}, {"n": 1}).next() == {"_id": 2, "n": 4}
    assert coll.find({"_id": 2}, ["g"]).next() == {"_id": 2, "g": 2}
    assert coll.find({"_id": 2}, {"_id": 0, "g": 0}).next() == {"n": 4}


def test_cursor_is_lazy(coll):
    cursor = coll.find({"_id": {"$gte": 10}})
    coll.insert_one({"_id": 10, "n": 0, "g": 0})
    assert ids(cursor) == [10]


def test_options_after_iteration_raise_invalid_operation(coll):
    cursor = coll.find()
    next(cursor)
    for call in (lambda: cursor.sort("n"), lambda: cursor.limit(1), lambda: cursor.skip(1),
                 lambda: cursor.hint("_id_"), lambda: cursor.batch_size(2),
                 lambda: cursor.max_time_ms(5), lambda: cursor.comment("x"),
                 lambda: cursor[1:2]):
        with pytest.raises(InvalidOperation, match="cannot set options after executing query"):
            call()


def test_rewind_and_clone(coll):
    cursor = coll.find({"g": 0}).sort("_id", -1)
    assert ids(cursor) == [9, 6, 3, 0]
    assert ids(cursor) == []
    assert cursor.retrieved == 4
    assert ids(cursor.rewind()) == [9, 6, 3, 0]
    clone = cursor.clone()
    assert clone is not cursor and ids(clone) == [9, 6, 3, 0]


def test_indexing_and_slicing(coll):
    assert coll.find().sort("n", 1)[0] == {"_id": 0, "n": 0, "g": 0}
    assert coll.find()[9]["_id"] == 9
    with pytest.raises(IndexError, match="no such item for Cursor instance"):
        coll.find()[10]
    with pytest.raises(IndexError, match="negative indices"):
        coll.find()[-1]
    assert ids(coll.find()[2:5]) == [2, 3, 4]
    assert ids(coll.find()[8:]) == [8, 9]
    assert ids(coll.find()[3:3]) == []
    with pytest.raises(IndexError, match="slice steps"):
        coll.find()[1:5:2]
    with pytest.raises(TypeError):
        coll.find()["a"]


def test_to_list_alive_and_close(coll):
    cursor = coll.find()
    assert cursor.alive
    assert ids(cursor.to_list(3)) == [0, 1, 2]
    assert ids(cursor.to_list()) == list(range(3, 10))
    assert not cursor.alive
    with pytest.raises(ValueError):
        coll.find().to_list(0)
    cursor = coll.find()
    next(cursor)
    cursor.close()
    assert not cursor.alive
    assert list(cursor) == []
    with coll.find() as ctx:
        assert next(ctx)["_id"] == 0


def test_argument_validation(coll):
    with pytest.raises(TypeError):
        coll.find().limit("1")
    with pytest.raises(TypeError):
        coll.find().skip(1.5)
    with pytest.raises(ValueError, match="skip must be >= 0"):
        coll.find().skip(-1)
    with pytest.raises(ValueError, match="batch_size must be >= 0"):
        coll.find().batch_size(-1)
    with pytest.raises(TypeError, match="max_time_ms must be an integer or None"):
        coll.find().max_time_ms("5")
    with pytest.raises(TypeError):
        coll.find("not a mapping")
    with pytest.raises(TypeError):
        coll.find(skip="1")
    assert ids(coll.find({"_id": 1}).max_time_ms(5).batch_size(2).comment("c")) == [1]


def test_server_errors_surface_on_iteration(coll):
    cursor = coll.find({"$bogus": 1})
    with pytest.raises(OperationFailure) as info:
        next(cursor)
    assert info.value.code == 2
    assert info.value.details["codeName"] == "BadValue"
    with pytest.raises(OperationFailure):
        coll.find_one({"n": {"$gt": 1, "$foo": 1}})


def test_bad_hint_is_an_operation_failure(coll):
    with pytest.raises(OperationFailure) as info:
        list(coll.find().hint("nope_1"))
    assert info.value.code == 2
    assert ids(coll.find({"_id": 3}).hint("_id_")) == [3]
    assert ids(coll.find({"_id": {"$lt": 2}}).hint([("_id", 1)])) == [0, 1]


def test_find_one(coll):
    assert coll.find_one({"g": 2}) == {"_id": 2, "n": 4, "g": 2}
    assert coll.find_one(5) == {"_id": 5, "n": 5, "g": 2}
    assert coll.find_one({"g": 9}) is None
    assert coll.find_one(sort=[("n", -1)])["_id"] == 7
    assert coll.find_one({}, {"_id": 0, "n": 1}, skip=1) == {"n": 7}


def test_limit_stops_the_scan_early(coll):
    # The last document would make $divide fail; without a sort a limit stops before it.
    coll.insert_one({"_id": 99, "d": 0})
    spec = {"$expr": {"$gt": [{"$divide": [1, {"$ifNull": ["$d", 1]}]}, 0]}}
    assert ids(coll.find(spec).limit(2)) == [0, 1]
    assert coll.find_one(spec)["_id"] == 0
    with pytest.raises(OperationFailure):
        list(coll.find(spec))


def test_distinct_and_explain(coll):
    assert coll.find({"g": 1}).distinct("n") == [7, 8, 9]
    plan = coll.find({"g": 1}).explain()
    assert plan["ok"] == 1.0
    assert plan["queryPlanner"]["namespace"] == "db.c"
    assert plan["queryPlanner"]["winningPlan"]["stage"] == "COLLSCAN"
    assert plan["executionStats"]["nReturned"] == 3
    assert plan["executionStats"]["totalDocsExamined"] == 10


def test_where_and_tailable_are_not_supported(coll):
    with pytest.raises(NotImplementedError):
        coll.find().where("this.n > 1")
    with pytest.raises(NotImplementedError):
        coll.find(return_key=True)


def test_command_cursor(coll):
    # g == 0: _id 0 (n 0), 3 (n 1), 6 (n 2), 9 (n 3)
    cursor = coll.aggregate([{"$match": {"g": 0}}, {"$sort": {"n": 1}}, {"$project": {"n": 1}}])
    assert cursor.alive
    assert next(cursor) == {"_id": 0, "n": 0}
    assert cursor.try_next() == {"_id": 3, "n": 1}
    assert cursor.to_list(1) == [{"_id": 6, "n": 2}]
    assert list(cursor) == [{"_id": 9, "n": 3}]
    assert not cursor.alive
    assert cursor.try_next() is None


def test_aggregate_errors_raise_from_the_call(coll):
    with pytest.raises(OperationFailure) as info:
        coll.aggregate([{"$bogus": {}}])
    assert info.value.code == 40324
    with pytest.raises(TypeError):
        coll.aggregate({"$match": {}})


def test_id_lookups_use_bson_equality(coll):
    from bson import Int64, ObjectId

    assert coll.find_one({"_id": 3.0}) == {"_id": 3, "n": 1, "g": 0}
    assert coll.find_one({"_id": Int64(3)})["_id"] == 3
    assert coll.find_one({"_id": "3"}) is None
    oid = ObjectId()
    coll.insert_one({"_id": oid})
    assert coll.find_one({"_id": oid}) == {"_id": oid}
    assert coll.count_documents({"_id": 3}) == 1
    assert coll.find({"_id": 3}).explain()["queryPlanner"]["winningPlan"]["stage"] == "IDHACK"


def test_natural_descending_sort_reads_backwards(coll):
    assert ids(coll.find().sort("$natural", -1)) == list(range(9, -1, -1))
    assert ids(coll.find({"g": 1}).sort("$natural", -1).limit(2)) == [7, 4]
    assert ids(coll.find().sort("$natural", 1).skip(7)) == [7, 8, 9]


def test_mixed_direction_sort_with_skip_and_limit(coll):
    # g desc, then n asc: g=2 -> ids 2 (n 4), 5, 8; g=1 -> 1 (n 7), 4, 7; g=0 -> 0, 3, 6, 9
    full = ids(coll.find().sort([("g", -1), ("n", 1)]))
    assert full == [2, 5, 8, 1, 4, 7, 0, 3, 6, 9]
    assert ids(coll.find().sort([("g", -1), ("n", 1)]).limit(2)) == full[:2]
    assert ids(coll.find().sort([("g", -1), ("n", 1)]).skip(3).limit(4)) == full[3:7]


def test_negative_skip_fails_when_the_find_runs(coll):
    cursor = coll.find(skip=-1)  # pymongo sends it; the server's IDL check rejects it
    with pytest.raises(OperationFailure) as info:
        next(cursor)
    assert (info.value.code, info.value.details["errmsg"]) == (
        51024, "BSON field 'skip' value must be >= 0, actual value '-1'")
    with pytest.raises(OperationFailure):
        coll.find(skip=-2).explain()


def test_max_scan_is_an_unknown_field_since_4_2(coll):
    """pymongo still sends a non-zero ``maxScan``; 4.2 removed it from the find command."""
    for cursor in (coll.find(max_scan=5), coll.find().max_scan(5)):
        with pytest.raises(OperationFailure) as info:
            cursor.to_list()
        assert (info.value.code, info.value.details["errmsg"]) == (
            40415, "BSON field 'FindCommandRequest.maxScan' is an unknown field.")
    assert len(coll.find().max_scan(0).to_list()) == 10  # zero is not sent


def test_remove_option_and_max_await_time_ms_are_checked_then_no_ops(coll):
    cursor = coll.find().sort("_id", 1)
    assert cursor.remove_option(2) is cursor
    assert cursor.max_await_time_ms(100) is cursor
    assert cursor.max_await_time_ms(None) is cursor
    with pytest.raises(TypeError, match="^mask must be an int, not <class 'str'>$"):
        cursor.remove_option("x")
    with pytest.raises(TypeError, match="^max_await_time_ms must be an integer or None"):
        cursor.max_await_time_ms(1.5)
    assert next(cursor) == {"_id": 0, "n": 0, "g": 0}
    with pytest.raises(InvalidOperation):
        cursor.remove_option(2)
    with pytest.raises(InvalidOperation):
        cursor.max_await_time_ms(1)
