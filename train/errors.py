"""Errors the trainer raises on purpose. The CLI prints each as one line and exits non-zero."""


class TrainError(Exception):
    """Base class: a problem the user can fix (config, data, paths), reported before training starts."""


class ConfigError(TrainError):
    """A bad value in the YAML config; `key` is its dotted path (`mix.sources[1].weight`)."""

    def __init__(self, key: str, message: str):
        self.key = key
        self.message = message
        super().__init__(f"{key}: {message}" if key else message)

    def under(self, prefix: str) -> "ConfigError":
        """The same error with its key nested under `prefix`."""
        if not prefix:
            return self
        key = f"{prefix}{self.key}" if self.key.startswith("[") else f"{prefix}.{self.key}" if self.key else prefix
        return ConfigError(key, self.message)


class DataError(TrainError):
    """A curated run directory that cannot feed training: missing, empty, or a `where` that selects nothing."""
