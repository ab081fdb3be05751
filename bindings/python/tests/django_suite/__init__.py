"""Django's own cache test suite run against nycache.django (see conftest.py)."""
