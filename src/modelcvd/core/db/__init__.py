"""modelcvd's database backends (named by ENGINE in settings.DATABASES)."""
