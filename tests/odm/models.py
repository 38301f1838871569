"""Models shared by the ODM tests, declared before any connect() (as apps do)."""

from datetime import datetime

from dongo import DongoCollection


class MusicArtist(DongoCollection):
    collection = "odm_music_artists"


class Person(DongoCollection):
    collection = "odm_persons"

    def print_name(self):
        print(self.get("name", "unknown"))

    @classmethod
    def start_new_year(cls):
        cls.filter(age__exists=1).inc(age=1)
        cls.filter(age__gte=110).delete()

    @classmethod
    def first_10(cls):
        return cls.filter().iter(limit=10, sort="name")

    @classmethod
    def sort_by_oldest_first_then_alphabetically(cls):
        return cls.filter().iter(sort=[("age", -1), ("name", 1)])


class Base(DongoCollection):
    abstract = True
    use_uuid = True
    database = None


class Tagged(Base):
    collection = "odm_tagged"


class Other(DongoCollection):
    collection = "odm_others"


START = datetime(1996, 1, 1)
