"""dongo: a Django-ORM inspired MongoDB ODM."""
