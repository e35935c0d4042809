"""modelcvd: coordinated disclosure of AI model vulnerabilities."""

# Load the Celery app with Django so that @shared_task sends to the configured broker, never
# to Celery's built-in default (amqp on localhost).
from modelcvd.celery import app as celery_app
from modelcvd.version import __version__

__all__ = ["__version__", "celery_app"]
