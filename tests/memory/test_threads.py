"""Concurrent writers: counts, atomic single-document updates and unique indexes hold."""

import threading

from pymongo.errors import DuplicateKeyError

from dongo.backends.memory import MemoryClient

THREADS = 8


def run_threads(target, n=THREADS):
    barrier = threading.Barrier(n)
    errors = []

    def body(i):
        try:
            barrier.wait()
            target(i)
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_concurrent_inserts_all_land():
    coll = MemoryClient().db.c

    def insert(i):
        for j in range(100):
            coll.insert_one({"t": i, "j": j})

    run_threads(insert)
    assert coll.count_documents({}) == THREADS * 100
    assert len(coll.distinct("_id")) == THREADS * 100
    coll._namespace().indexes._check()


def test_concurrent_increments_are_atomic():
    coll = MemoryClient().db.c
    coll.insert_one({"_id": 1, "n": 0})

    def inc(i):
        for _ in range(200):
            coll.update_one({"_id": 1}, {"$inc": {"n": 1}})

    run_threads(inc)
    assert coll.find_one() == {"_id": 1, "n": THREADS * 200}


def test_unique_index_holds_under_races():
    coll = MemoryClient().db.c
    coll.create_index("k", unique=True)
    wins = []

    def insert(i):
        for k in range(50):
            try:
                coll.insert_one({"k": k, "by": i})
                wins.append(k)
            except DuplicateKeyError:
                pass

    run_threads(insert)
    assert sorted(wins) == list(range(50))
    assert coll.count_documents({}) == 50
    coll._namespace().indexes._check()


def test_concurrent_upserts_create_one_document():
    coll = MemoryClient().db.c

    def upsert(i):
        for _ in range(20):
            coll.update_one({"key": "x"}, {"$inc": {"n": 1}}, upsert=True)

    run_threads(upsert)
    assert coll.count_documents({}) == 1
    assert coll.find_one({}, {"_id": 0}) == {"key": "x", "n": THREADS * 20}


def test_find_one_and_update_hands_out_each_job_once():
    coll = MemoryClient().db.jobs
    coll.insert_many([{"_id": i, "taken": False} for i in range(80)])
    taken = []

    def worker(i):
        while True:
            job = coll.find_one_and_update({"taken": False}, {"$set": {"taken": i}})
            if job is None:
                return
            taken.append(job["_id"])

    run_threads(worker)
    assert sorted(taken) == list(range(80))


def test_readers_see_consistent_documents_during_writes():
    coll = MemoryClient().db.c
    coll.insert_many([{"_id": i, "a": 0, "b": 0} for i in range(20)])
    stop = threading.Event()
    bad = []

    def writer():
        n = 0
        while not stop.is_set() and n < 2000:
            n += 1
            coll.update_many({}, {"$inc": {"a": 1, "b": 1}})

    def reader():
        for _ in range(200):
            for doc in coll.find():
                if doc["a"] != doc["b"]:
                    bad.append(doc)

    w = threading.Thread(target=writer)
    w.start()
    try:
        run_threads(lambda i: reader(), n=3)
    finally:
        stop.set()
        w.join()
    assert bad == []
