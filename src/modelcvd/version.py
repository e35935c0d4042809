"""The release, in a module of its own so pure code can name it without loading Celery."""

__version__ = "0.1.0"
