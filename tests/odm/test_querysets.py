"""QuerySet behaviour on every backend."""

from datetime import datetime

import pytest

from dongo import DongoError, DongoResultError

from .models import MusicArtist, Person


@pytest.fixture
def people(conn):
    data = [
        ("ann", 30, "red"),
        ("bob", 40, "blue"),
        ("cat", 25, "red"),
        ("dan", 40, "green"),
        ("eve", 109, "blue"),
    ]
    Person.bulk_create([{"name": n, "age": a, "color": c} for n, a, c in data])
    return data


def names(qs):
    return sorted(p["name"] for p in qs)


def test_filter_is_lazy_until_evaluated(conn, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("queried too early")

    monkeypatch.setattr(type(Person.get_collection()), "find", boom)
    qs = Person.filter(age__gt=1).filter(color="red").exclude(name="x").order_by("-age")[:3]
    assert qs.query == {"age": {"$gt": 1}, "color": "red", "$nor": [{"name": "x"}]}


def test_basic_filters(people):
    assert names(Person.filter(color="red")) == ["ann", "cat"]
    assert names(Person.filter(color__in=["red", "blue"], age__gt=25, age__lte=40)) == ["ann", "bob"]
    assert names(Person.filter(color__ne="blue")) == ["ann", "cat", "dan"]
    assert names(Person.filter(name__startswith="a")) == ["ann"]
    assert names(Person.filter(name__icontains="A")) == ["ann", "cat", "dan"]
    assert names(Person.filter(name__iexact="BOB")) == ["bob"]
    assert names(Person.filter(age=40, age__ne=None)) == ["bob", "dan"]


def test_count_delete_update_inc(people):
    assert Person.filter(color="red").count() == 2
    assert Person.filter(age=40).update(drinking=True).modified_count == 2
    assert names(Person.filter(drinking=True)) == ["bob", "dan"]
    Person.start_new_year()
    assert sorted(p["age"] for p in Person.filter()) == [26, 31, 41, 41]
    assert Person.filter(name="ann").delete().deleted_count == 1
    assert Person.filter().count() == 3


def test_first_first_or_die_sort(people):
    assert Person.filter().first(sort="-age")["name"] == "eve"
    assert Person.filter().first(sort=[("age", 1)])["name"] == "cat"
    assert Person.filter(color="purple").first() is None
    with pytest.raises(DongoResultError, match="no Person matches"):
        Person.filter(color="purple").first_or_die()
    assert Person.filter(age=40).first_or_die(sort=[("name", -1)])["name"] == "dan"


def test_iter_options(people):
    assert [p["name"] for p in Person.first_10()] == ["ann", "bob", "cat", "dan", "eve"]
    assert [p["name"] for p in Person.sort_by_oldest_first_then_alphabetically()] == [
        "eve", "bob", "dan", "ann", "cat"
    ]
    assert [p["name"] for p in Person.filter().iter(sort="name", skip=1, limit=2)] == ["bob", "cat"]
    only = Person.filter(name="ann").list(projection={"name": 1, "_id": 0})
    assert [p.to_dict() for p in only] == [{"name": "ann"}]
    assert names(Person.filter(color="red").iter(timeout=False)) == ["ann", "cat"]


def test_order_by_and_slicing(people):
    qs = Person.filter().order_by("-age", "name")
    assert [p["name"] for p in qs] == ["eve", "bob", "dan", "ann", "cat"]
    assert [p["name"] for p in qs[1:3]] == ["bob", "dan"]
    assert [p["name"] for p in qs[1:][1:2]] == ["dan"]
    assert qs[3]["name"] == "ann"
    assert qs[1:3].count() == 2
    with pytest.raises(IndexError):
        qs[10]
    with pytest.raises(DongoError):
        qs[-1]
    with pytest.raises(DongoError):
        qs[:2].update(x=1)


def test_set_logic(people):
    red, old = Person.filter(color="red"), Person.filter(age__gte=40)
    assert names(red | old) == ["ann", "bob", "cat", "dan", "eve"]
    assert names(red & Person.filter(age__lt=30)) == ["cat"]
    assert names(~red) == ["bob", "dan", "eve"]
    assert names(~(red | old)) == []
    assert (red | old).query == {"$or": [{"color": "red"}, {"age": {"$gte": 40}}]}


def test_filter_or_and_plus_equals(people):
    ms = Person.filter_or()
    assert ms.count() == 0  # an empty $or matches nothing
    ms += Person.filter(age=30)
    ms += Person.filter(age=25)
    assert names(ms) == ["ann", "cat"]
    assert ms.query == {"$or": [{"age": 30}, {"age": 25}]}
    both = Person.filter_and()
    assert both.count() == 5  # an empty $and matches everything
    both += Person.filter(color="red")
    both += Person.filter(age=30)
    assert names(both) == ["ann"]
    with pytest.raises(DongoError, match="filter_or"):
        plain = Person.filter()
        plain += Person.filter(age=1)


def test_combining_different_collections_refused(people):
    with pytest.raises(DongoError, match="different collections"):
        Person.filter() | MusicArtist.filter()


def test_map(people):
    groups = Person.filter(age__gt=25).map("color")
    assert {k: sorted(p["name"] for p in v) for k, v in groups.items()} == {
        "red": ["ann"],
        "blue": ["bob", "eve"],
        "green": ["dan"],
    }


def test_exists_distinct_values_aggregate(people):
    assert Person.filter(color="red").exists() is True
    assert Person.filter(color="nope").exists() is False
    assert sorted(Person.filter(age__gte=30).distinct("color")) == ["blue", "green", "red"]
    assert Person.filter(color="red").order_by("name").values("name") == [{"name": "ann"}, {"name": "cat"}]
    result = Person.filter(age__lt=100).aggregate(
        [{"$group": {"_id": "$color", "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}]
    )
    assert result == [{"_id": "blue", "n": 1}, {"_id": "green", "n": 1}, {"_id": "red", "n": 2}]


def test_seed_music_artist_story(conn):
    MusicArtist.new(name="queen", fans=["jack", "jill"], nested={"field1": 1, "field2": 2})
    MusicArtist.new(
        name="queens of the stone age",
        start=datetime(1996, 1, 1),
        fans=["jack"],
        nested={"field1": 1, "field2": 222},
    )
    MusicArtist.new(name="later band", start=datetime(2005, 1, 1), fans=[])
    assert names(MusicArtist.filter(fans="jack")) == ["queen", "queens of the stone age"]
    MusicArtist.filter(name__regex="^queen").update(new_field="this is a new field")
    assert MusicArtist.filter(new_field="this is a new field").count() == 2
    either = MusicArtist.filter(start__lt=datetime(2000, 1, 1)) | MusicArtist.filter(start__exists=0)
    assert names(either) == ["queen", "queens of the stone age"]
    assert names(MusicArtist.filter(nested__field1=1)) == ["queen", "queens of the stone age"]


def test_array_lookups(conn):
    MusicArtist.new(name="a", tags=["x", "y"], scores=[1, 5, 9], results=[{"p": "k", "s": 8}])
    MusicArtist.new(name="b", tags=["y"], scores=[2], results=[{"p": "k", "s": 3}])
    assert names(MusicArtist.filter(tags__size=2)) == ["a"]
    assert names(MusicArtist.filter(tags__all=["x", "y"])) == ["a"]
    assert names(MusicArtist.filter(tags__0="y")) == ["b"]
    assert names(MusicArtist.filter(scores__elemmatch={"gt": 4, "lt": 6})) == ["a"]
    assert names(MusicArtist.filter(results__elemmatch={"p": "k", "s__gte": 5})) == ["a"]
    assert names(MusicArtist.filter(name__type="string")) == ["a", "b"]
    assert names(MusicArtist.filter(scores__not__size=1)) == ["a"]


@pytest.mark.xfail_backend("mongomock", reason="mongomock 4.3 does not implement $mod")
def test_mod_lookup(conn):
    MusicArtist.new(name="a", n=4)
    MusicArtist.new(name="b", n=5)
    assert names(MusicArtist.filter(n__mod=[2, 0])) == ["a"]


def test_dict_equality_is_literal(conn):
    MusicArtist.new(name="a", meta={"$gt": 1})
    MusicArtist.new(name="b", meta=5)
    assert names(MusicArtist.filter(meta={"$gt": 1})) == ["a"]


def test_iter_maps_options_to_find(conn, monkeypatch):
    seen = []
    coll_type = type(Person.get_collection())
    real = coll_type.find

    def recording(self, *args, **kwargs):
        seen.append((args, kwargs))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(coll_type, "find", recording)
    Person.filter(age__gt=1).order_by("name")[2:5].list(timeout=False, projection={"name": 1})
    assert seen == [
        (
            ({"age": {"$gt": 1}},),
            {"sort": [("name", 1)], "skip": 2, "limit": 3, "no_cursor_timeout": True, "projection": {"name": 1}},
        )
    ]
    seen.clear()
    list(Person.filter().iter(sort="-age", limit=10))
    assert seen == [(({},), {"sort": [("age", -1)], "limit": 10})]
