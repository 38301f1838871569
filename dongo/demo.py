"""The dongo tour: every feature in one short story, each step checking itself.

Run it with ``python -m dongo demo`` (in-process ``memory://`` engine) or
``python -m dongo demo --uri mongodb://localhost:27017`` (a real server; the
tour uses a fresh database and drops it at the end). The exit status is 0
only if every step did what the tour says.
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import datetime
from typing import Any, List, Optional, TextIO

from . import refs
from . import (
    DongoCollection,
    DongoLookupError,
    DongoResultError,
    connect,
    deref,
    disconnect,
)

__all__ = ["run_tour", "TourFailure", "MusicArtist", "Person", "Setlist"]


# Models are declared before connect(), as an application declares them at import time.
class MusicArtist(DongoCollection):
    collection = "music_artists"


class Person(DongoCollection):
    collection = "persons"
    use_uuid = True  # insert() adds a '_uuid', and ref() uses it

    def serialize(self) -> dict:
        return {
            "name": self.get("name"),
            "age": self.get("age", 0),
            "favorite_color": self.get("color"),
        }

    def change_color(self, new_color: str) -> None:
        self["color"] = new_color  # updates the database as well

    @classmethod
    def start_new_year(cls) -> None:
        cls.filter(age__exists=1).inc(age=1)  # everyone with an age gets a year older
        cls.filter(age__gte=110).delete()  # ... and those 110 and older leave us

    @classmethod
    def startswith(cls, prefix: str):
        return cls.filter(name__startswith=prefix)

    @classmethod
    def first_10(cls):
        return cls.filter().iter(limit=10, sort="name")

    @classmethod
    def sort_by_oldest_first_then_alphabetically(cls):
        return cls.filter().iter(sort=[("age", -1), ("name", 1)])


class Setlist(DongoCollection):
    collection = "setlists"


class TourFailure(Exception):
    """A tour step did not do what the tour says."""


class _Tour:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.number = 0

    def say(self, text: str) -> None:
        self.out.write(f"      {text}\n")

    def step(self, title: str) -> None:
        self.number += 1
        self.out.write(f"\n{self.number:>2}. {title}\n")

    def check(self, ok: bool, claim: str, got: Any = None) -> None:
        if not ok:
            detail = "" if got is None else f" (got {got!r})"
            raise TourFailure(f"step {self.number}: expected {claim}{detail}")
        self.out.write(f"      ok: {claim}\n")


def _names(items) -> List[str]:
    return sorted(item["name"] for item in items)


def _story(t: _Tour) -> None:
    t.step("Write records: insert() an instance, or new() to create and insert at once")
    queen = MusicArtist(
        {
            "name": "queen",
            "lead": "freddie",
            "songs": ["we are the champions", "we will rock you"],
            "fans": ["jack", "jill"],
            "nested": {"field1": 1, "field2": 2},
        }
    )
    new_id = queen.insert()
    t.say(f"queen.insert() -> {new_id!r}")
    stoneage = MusicArtist.new(
        name="queens of the stone age",
        lead="josh",
        songs=["go with the flow", "little sister"],
        start=datetime(1996, 1, 1),
        fans=["jack"],
        nested={"field1": 1, "field2": 222},
    )
    MusicArtist.new({"name": "the strokes", "start": datetime(2001, 1, 1), "fans": ["jill"]})
    t.say(repr(stoneage))
    t.check(queen.id == new_id and MusicArtist.filter().count() == 3, "3 music artists stored")

    t.step("Query with Django-style lookups")
    jack_likes = MusicArtist.filter(fans="jack")
    t.say(f"MusicArtist.filter(fans='jack').query == {jack_likes.query}")
    for artist in jack_likes.order_by("name"):
        t.say("jack likes " + artist["name"])
    t.check(_names(jack_likes) == ["queen", "queens of the stone age"], "jack likes the two queens")

    t.step("Regex queries and bulk updates")
    result = MusicArtist.filter(name__regex="^queen").update(new_field="this is a new field")
    t.check(result.modified_count == 2, "update() changed 2 documents", result.modified_count)

    t.step("Set logic with |, & and ~")
    old_or_unknown = MusicArtist.filter(start__lt=datetime(2000, 1, 1)) | MusicArtist.filter(start__exists=0)
    t.say(f"query: {old_or_unknown.query}")
    t.check(_names(old_or_unknown) == ["queen", "queens of the stone age"], "started before 2000 or unknown")
    t.check(_names(~old_or_unknown) == ["the strokes"], "~ selects the rest")
    both = MusicArtist.filter(fans="jack") & MusicArtist.filter(fans="jill")
    t.check(_names(both) == ["queen"], "& selects jack AND jill's favourite")

    t.step("Nested fields: nested__field1 means nested.field1")
    t.check(_names(MusicArtist.filter(nested__field1=1)) == ["queen", "queens of the stone age"],
            "both queens have nested.field1 == 1")

    t.step("Reading and writing is dictionary access; writes go straight to the database")
    ma = MusicArtist.filter(name="queen").first()
    ma["new_field"] = "new_value"
    ma.set(new_field_2="a", new_field_4={"foo": "bar"})
    ma["nested.field1"] = "new value in nested field"
    ma.set(nested__field2="reset that nested field")
    ma.refresh_from_db()
    t.say(f"ma['nested'] == {ma['nested']}")
    t.check(ma["nested"] == {"field1": "new value in nested field", "field2": "reset that nested field"},
            "nested fields set by path, no literal 'nested__field2' key")
    t.check(ma.get("songs.1") == "we will rock you" and "nested.field1" in ma,
            "get() and `in` follow dotted paths and list indexes")

    t.step("Model classes with their own methods")
    Person.bulk_create([
        {"name": "joe", "age": 26, "color": "red"},
        {"name": "jack", "age": 30, "color": "red"},
        {"name": "schmoe", "age": 42, "color": "blue"},
        {"name": "methuselah", "age": 109},
    ])
    jill = Person.new(name="jill", age=21, color="green")
    jill.change_color("purple")
    t.check(Person.get_one(name="jill")["color"] == "purple", "change_color() stored purple")
    Person.start_new_year()
    t.check(Person.filter().count() == 4, "start_new_year(): methuselah reached 110 and left")
    t.check([p["name"] for p in Person.first_10()] == ["jack", "jill", "joe", "schmoe"], "first_10() sorted by name")
    oldest = [p["name"] for p in Person.sort_by_oldest_first_then_alphabetically()]
    t.check(oldest == ["schmoe", "jack", "joe", "jill"], "oldest first, then alphabetically", oldest)
    t.say(json.dumps(jill.json()))

    t.step("Several lookups on one field combine")
    qs = Person.filter(color__nin=["green"], age__gt=25, age__lte=31)
    t.say(f"query: {qs.query}")
    t.check(qs.query == {"color": {"$nin": ["green"]}, "age": {"$gt": 25, "$lte": 31}}, "one $gt/$lte document")
    t.check(_names(qs) == ["jack", "joe"], "jack and joe are 26 < age <= 31")

    t.step("filter_or() / filter_and() grow with +=")
    ms = Person.filter_or()
    ms += Person.filter(age=22)
    ms += Person.filter(age=31)
    t.check(_names(ms) == ["jack", "jill"], "age 22 or 31")
    reds = Person.filter_and()
    reds += Person.filter(color="red")
    reds += Person.filter(age__gt=30)
    t.check(_names(reds) == ["jack"], "red and older than 30")

    t.step("Chaining, exclude, order_by, slicing, exists, distinct, values, aggregate, map")
    adults = Person.filter(age__gte=18).exclude(color="blue").order_by("-age", "name")
    t.check([p["name"] for p in adults[:2]] == ["jack", "joe"], "two oldest non-blue adults")
    t.check(adults[2]["name"] == "jill", "qs[2] is one instance")
    t.check(Person.filter(color="red").exists() and not Person.filter(color="gold").exists(), "exists()")
    t.check(sorted(Person.filter().distinct("color")) == ["blue", "purple", "red"], "distinct('color')")
    t.check(Person.filter(name="joe").values("name", "age") == [{"name": "joe", "age": 27}], "values()")
    by_color = Person.filter().aggregate([{"$group": {"_id": "$color", "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}])
    t.say(f"aggregate: {by_color}")
    t.check(by_color[-1] == {"_id": "red", "n": 2}, "two red persons")
    t.check(sorted(Person.filter().map("color")["red"], key=lambda p: p["name"])[0]["name"] == "jack",
            "map('color') groups persons by color")

    t.step("One result or a clear error")
    t.check(Person.filter(name="nobody").first() is None, "first() is None when nothing matches")
    for query in ({"name": "nobody"}, {"color": "red"}):
        try:
            Person.get_one(**query)
        except DongoResultError as exc:
            t.say(f"get_one({query}) -> DongoResultError: {exc}")
        else:
            raise TourFailure(f"step {t.number}: get_one({query}) did not raise")
    t.check(True, "get_one() refuses no match and several matches")

    t.step("Lookups fail early, and user input never becomes an operator")
    try:
        Person.filter(age__gtt=3)
    except DongoLookupError as exc:
        t.say(f"age__gtt -> {exc}")
        t.check("did you mean 'gt'" in str(exc), "a 'did you mean' hint")
    else:
        raise TourFailure(f"step {t.number}: age__gtt was accepted")
    t.check(Person.filter(name={"$ne": None}).count() == 0, "a dict value is matched literally")

    t.step("Counters: inc() on one document, also on a field it does not have yet")
    joe = Person.get_one(name="joe")
    joe.inc("age")
    joe.inc("money", amt=100)
    t.check((joe["age"], joe["money"]) == (28, 100), "joe is 28 with 100 money")
    t.check(Person.by_id(str(joe.id))["money"] == 100, "by_id() with a string id sees it")

    t.step("UUIDs and lookups by id")
    t.check(isinstance(joe["_uuid"], uuid.UUID), "use_uuid gave joe a _uuid")
    t.check(Person.by_uuid(str(joe.uuid)) == joe, "by_uuid() with a string")
    missing = "13bef77b-2a36-4d59-9339-42a5aa098833"
    found = Person.map_by_uuids([joe.uuid, missing])
    t.check(found == {joe.uuid: joe, missing: None}, "map_by_uuids() maps as passed, None when missing")
    found = Person.map_by_ids([str(jill.id)])
    t.check(found == {str(jill.id): jill}, "map_by_ids() keys are what was passed")

    t.step("Bulk operations: one bulk_write on save()")
    persons = Person.filter().order_by("name").list()
    jack, jill2, joe, schmoe = persons
    bulk = Person.bulk()
    bulk.update_one(jack, age=31, name="jim")
    bulk.inc_one(jill2, age=1)
    bulk.delete_one(schmoe)
    bulk.delete_many(name="nobody")
    result = bulk.save()
    t.say(f"bulk result: {result.bulk_api_result}")
    Person.refresh_all_from_db([jack, jill2])
    t.check((jack["name"], jill2["age"]) == ("jim", 23), "jack is jim, jill is 23")
    t.check(Person.filter().count() == 3 and bulk.save() is None, "schmoe gone; the bulk is empty now")

    t.step("Lazy updates: memory now, database on save()")
    lazy1, lazy2 = jack.lazy(), joe.lazy()
    lazy1["favorite_number"] = 12
    lazy1.set(nickname="jimbo", address__city="london")
    lazy2.set(age=50)
    t.check(jack["address"] == {"city": "london"} and Person.by_id(jack.id).get("nickname") is None,
            "in memory, not yet in the database")
    (lazy1 + lazy2).save()
    t.check(Person.by_id(jack.id)["address.city"] == "london" and Person.by_id(joe.id)["age"] == 50,
            "lazy1 + lazy2 saved both")

    t.step("References: ref() and deref(), one query per collection for lists")
    setlist = Setlist.new(band=MusicArtist.get_one(name="queen").ref(), singer=jack.ref(), crowd=[joe.ref(), jill2.ref()])
    t.say(f"setlist.band == {setlist['band']}")
    t.check(deref(setlist["band"])["name"] == "queen", "deref(one ref) is the MusicArtist")
    t.check(deref(setlist["crowd"]) == [joe, jill2], "deref(list) keeps order")

    t.step("Indexes")
    name = Person.create_index([("name", 1), ("age", -1)])
    t.check(name == "name_1_age_-1", "create_index() returns the index name", name)

    t.step("Deleting one document")
    result = setlist.delete()
    t.check(result.deleted_count == 1 and Setlist.by_id(setlist.id) is None, "the setlist is gone")

    t.step("JSON-ready output")
    text = json.dumps(setlist.json())
    t.say(text[:100] + ("..." if len(text) > 100 else ""))
    t.check(json.loads(text)["band"]["_dref"] == str(setlist["band"]["_dref"]), "ObjectIds become strings")


def run_tour(uri: str = "memory://", out: Optional[TextIO] = None) -> int:
    """Run the tour against ``uri``; return 0 if every step checked out, 1 otherwise."""
    from pymongo.errors import ConnectionFailure

    out = out or sys.stdout
    for model in (MusicArtist, Person, Setlist):
        # Other code in this process may map the same collection names to its
        # own classes; while the tour runs, deref() must find the tour's.
        refs.register(model)
    database = "dongo_demo_" + uuid.uuid4().hex[:8]
    out.write(f"dongo tour on {uri} (database {database})\n")
    tour = _Tour(out)
    client = None
    reachable = True
    status = 1
    try:
        options = {} if uri.startswith("memory:") else {"serverSelectionTimeoutMS": 5000}
        client = connect(database, uri=uri, **options)
        _story(tour)
        status = 0
    except TourFailure as exc:
        out.write(f"\nFAILED: {exc}\n")
    except Exception as exc:  # any surprise is a failed tour, with its reason
        reachable = not isinstance(exc, ConnectionFailure)
        out.write(f"\nFAILED at step {tour.number}: {type(exc).__name__}: {exc}\n")
    finally:
        if client is not None:
            try:
                if reachable:
                    client.drop_database(database)
            except Exception as exc:  # report, but the tour's verdict stands
                out.write(f"(could not drop the tour's database {database}: {exc})\n")
            finally:
                disconnect()
    if status == 0:
        out.write(f"\nAll {tour.number} steps did what the tour says.\n")
    return status
