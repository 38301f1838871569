"""DongoBulk and DongoLazyUpdater on every backend."""

import pytest
from pymongo.operations import DeleteMany, DeleteOne, ReplaceOne, UpdateOne

from dongo import DongoBulk, DongoCollectionError, DongoLazyUpdater

from .models import MusicArtist, Person

BULK_XFAIL = pytest.mark.xfail_backend(
    "mongomock",
    reason="mongomock 4.3's bulk_write rejects pymongo>=4.9 write models (UpdateOne 'sort' argument)",
)


def stored(instance):
    return type(instance).get_collection().find_one({"_id": instance.id}, {"_id": 0})


def count_bulk_writes(monkeypatch, klass):
    calls = []
    cls = type(klass.get_collection())
    real = cls.bulk_write

    def counting(self, requests, *args, **kwargs):
        calls.append((self.name, list(requests)))
        return real(self, requests, *args, **kwargs)

    monkeypatch.setattr(cls, "bulk_write", counting)
    return calls


def test_ops_are_pymongo_write_models(conn):
    p = Person.new(name="joe", age=30)
    bulk = Person.bulk()
    assert bulk.update_one(p, age=31, nested__x=1) == UpdateOne({"_id": p.id}, {"$set": {"age": 31, "nested.x": 1}})
    assert bulk.inc_one(p, age=1) == UpdateOne({"_id": p.id}, {"$inc": {"age": 1}})
    assert bulk.delete_one(p) == DeleteOne({"_id": p.id})
    assert bulk.delete_many(name="joe") == DeleteMany({"name": "joe"})
    assert bulk.replace_one(p, name="x") == ReplaceOne({"_id": p.id}, {"name": "x"})
    assert len(bulk) == 5


def test_empty_save_is_a_noop(conn):
    assert Person.bulk().save() is None
    assert Person.new(name="x").lazy().save() is None


@BULK_XFAIL
def test_bulk_save_documented_story(conn, monkeypatch):
    person1 = Person.new(name="joe", age=30)
    person2 = Person.new(name="jill", age=40)
    person3 = Person.new(name="bob", age=50)
    person4 = Person.new(name="kim", age=60)
    Person.new(name="joe", age=99)
    calls = count_bulk_writes(monkeypatch, Person)
    bulk = Person.bulk()
    bulk.update_one(person1, age=31, name="jim")
    bulk.update_one(person2, age=50)
    bulk.inc_one(person3, age=1)
    bulk.delete_one(person4)
    bulk.delete_many(name="joe")
    result = bulk.save()
    assert len(calls) == 1
    assert (result.modified_count, result.deleted_count) == (3, 2)
    assert len(bulk) == 0 and bulk.save() is None
    Person.refresh_all_from_db([person1, person2, person3])
    assert [person1["name"], person1["age"], person2["age"], person3["age"]] == ["jim", 31, 50, 51]
    assert Person.filter().count() == 3


@BULK_XFAIL
def test_replace_one_keeps_id(conn):
    p = Person.new(name="joe", age=30)
    bulk = Person.bulk()
    bulk.replace_one(p, name="joejoe", age=50)
    bulk.save()
    assert stored(p) == {"name": "joejoe", "age": 50}


@BULK_XFAIL
def test_lazy_updates_memory_now_and_db_on_save(conn, monkeypatch):
    p = Person.new(name="joe")
    lazy = p.lazy()
    assert isinstance(lazy, DongoLazyUpdater)
    lazy["age"] = 100
    lazy["name"] = "joejoe"
    lazy.set(lastname="jimjim", nested__a=1)
    assert p["age"] == 100 and p["nested"] == {"a": 1}
    assert stored(p) == {"name": "joe"}
    calls = count_bulk_writes(monkeypatch, Person)
    lazy.save()
    assert len(calls) == 1
    assert stored(p) == {"name": "joejoe", "age": 100, "lastname": "jimjim", "nested": {"a": 1}}
    assert lazy.save() is None


@BULK_XFAIL
def test_take_and_addition(conn, monkeypatch):
    person1 = Person.new(name="joe")
    person2 = Person.new(name="jill")
    lazy1, lazy2 = person1.lazy(), person2.lazy()
    lazy1.set(name="joejoe", age=30)
    lazy2.set(age=50)
    lazy1["foo"] = "bar"
    bulk = Person.bulk()
    bulk.take(lazy1)
    bulk.take(lazy2)
    bulk2 = Person.bulk()
    bulk2.update_one(person1, name="hello")
    bulk += bulk2
    assert len(bulk) == 4 and len(bulk2) == 0 and len(lazy1.bulk) == 0
    calls = count_bulk_writes(monkeypatch, Person)
    bulk.save()
    assert len(calls) == 1
    assert stored(person1) == {"name": "hello", "age": 30, "foo": "bar"}
    lazy1["favorite_number"] = 12
    lazy1.save()  # only the one favorite_number update
    assert len(calls) == 2 and len(calls[1][1]) == 1
    lazy1["a"] = 1
    lazy2["b"] = 2
    combined = lazy1 + lazy2
    assert isinstance(combined, DongoBulk)
    combined.save()
    assert stored(person1)["a"] == 1 and stored(person2)["b"] == 2


@BULK_XFAIL
def test_one_bulk_write_per_collection(conn, monkeypatch):
    p = Person.new(name="p")
    m = MusicArtist.new(name="m")
    calls_p = count_bulk_writes(monkeypatch, Person)
    lazy_p, lazy_m = p.lazy(), m.lazy()
    lazy_p["x"] = 1
    lazy_m["y"] = 2
    lazy_p["z"] = 3
    results = (lazy_p + lazy_m).save()
    assert [name for name, _ in calls_p] == ["odm_persons", "odm_music_artists"]
    assert [len(ops) for _, ops in calls_p] == [2, 1]
    assert [r.modified_count for r in results] == [2, 1]
    assert stored(p) == {"name": "p", "x": 1, "z": 3}
    assert stored(m) == {"name": "m", "y": 2}


def test_bulk_needs_inserted_instances(conn):
    with pytest.raises(DongoCollectionError, match="insert"):
        Person.bulk().update_one(Person({"name": "x"}), age=1)


@BULK_XFAIL
def test_bulk_seeded_with_write_models(conn):
    p = Person.new(name="joe")
    bulk = Person.bulk([UpdateOne({"_id": p.id}, {"$set": {"seeded": True}})])
    assert len(bulk) == 1
    bulk.save()
    assert stored(p) == {"name": "joe", "seeded": True}


def test_take_refuses_other_things(conn):
    from dongo import DongoError

    with pytest.raises(DongoError):
        Person.bulk().take("nope")
