"""References (ref/deref) and the class registry, on every backend."""

import uuid

import pytest

from dongo import DongoDerefError, deref
from dongo.refs import class_for

from .models import MusicArtist, Person, Tagged


def test_ref_shape_uses_id_without_uuid(conn):
    p = Person.new(name="joe")
    assert p.ref() == {"_dref": p.id, "_coll": "odm_persons"}


@pytest.mark.xfail_backend("mongomock", reason="mongomock cannot store uuid.UUID (UNSPECIFIED representation only)")
def test_ref_shape_prefers_uuid_and_derefs(conn):
    t = Tagged.new(name="t")
    assert t.ref() == {"_dref": t.uuid, "_coll": "odm_tagged"}
    assert deref(t.ref()) == t
    assert deref({"_dref": str(t.uuid), "_coll": "odm_tagged"}) == t


def test_deref_one_and_list_in_order_one_query_per_collection(conn, monkeypatch):
    a, b = Person.new(name="a"), Person.new(name="b")
    m = MusicArtist.new(name="m")
    found = deref(a.ref())
    assert isinstance(found, Person) and found == a
    gone = Person.new(name="gone")
    gone_ref = gone.ref()
    gone.delete()
    refs = [b.ref(), m.ref(), a.ref(), gone_ref]
    calls = []
    for klass in (Person, MusicArtist):
        coll_type = type(klass.get_collection())
        if getattr(coll_type.find, "_counting", False):
            continue
        real = coll_type.find

        def counting(self, *args, _real=real, **kwargs):
            calls.append(self.name)
            return _real(self, *args, **kwargs)

        counting._counting = True
        monkeypatch.setattr(coll_type, "find", counting)
    assert deref(refs) == [b, m, a, None]
    assert sorted(calls) == ["odm_music_artists", "odm_persons"]
    assert deref([]) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"_dref": "x"},
        {"_coll": "odm_persons"},
        {"_dref": None, "_coll": "odm_persons"},
        {"_dref": 1, "_coll": 5},
        "not a ref",
        [{"_dref": 1}],
    ],
)
def test_malformed_refs(conn, bad):
    with pytest.raises(DongoDerefError):
        deref(bad)


def test_unknown_collection(conn):
    with pytest.raises(DongoDerefError, match="no DongoCollection class is registered"):
        deref({"_dref": uuid.uuid4(), "_coll": "nobody_defines_this"})


def test_registry():
    assert class_for("odm_persons") is Person
    assert class_for("odm_tagged") is Tagged


def test_subclass_inheriting_a_collection_does_not_take_it_over():
    class VIP(Person):
        def greet(self):
            return "hello " + self["name"]

    assert class_for("odm_persons") is Person

    class Renamed(Person):
        collection = "odm_renamed_people"

    assert class_for("odm_renamed_people") is Renamed
