"""Errors the trainer raises on purpose. The CLI prints each as one line and exits non-zero."""


class TrainError(Exception):
    """Base class: a problem the user can fix (config, data, paths), reported before training starts."""


class ConfigError(TrainError):
    """A bad value in the YAML config; `key` is its dotted path (`mix.sources[1].weight`)."""

    def __init__(self, key: str, message: str, where: str = ""):
        self.key, self.message, self.where = key, message, where
        text = f"{key}: {message}" if key else message
        super().__init__(f"{where}: {text}" if where else text)

    def at(self, where: str) -> "ConfigError":
        """The same error, prefixed by where the key is (`mix.yaml:12`, or the `--set` that gave its value)."""
        return ConfigError(self.key, self.message, where)

    def under(self, prefix: str) -> "ConfigError":
        """The same error with its key nested under `prefix`."""
        if not prefix:
            return self
        key = f"{prefix}{self.key}" if self.key.startswith("[") else f"{prefix}.{self.key}" if self.key else prefix
        return ConfigError(key, self.message, self.where)

    @property
    def errors(self) -> list["ConfigError"]:
        """Every error this one stands for (one per bad key)."""
        return [self]


class ConfigErrors(ConfigError):
    """Several bad keys in one config, found in one pass so a user fixes them all at once: `key` and `message` are
    the first one's (what code that expects one error reads), str() gives them all, one a line."""

    def __init__(self, errors: list[ConfigError]):
        flat = [e for error in errors for e in error.errors]
        super().__init__(flat[0].key, flat[0].message)
        self._errors = flat
        Exception.__init__(self, "\n".join(str(e) for e in flat))

    @property
    def errors(self) -> list[ConfigError]:
        return self._errors

    def under(self, prefix: str) -> ConfigError:
        return ConfigErrors([e.under(prefix) for e in self._errors])

    @staticmethod
    def of(errors: list[ConfigError]) -> ConfigError:
        """One error as itself, several as a ConfigErrors."""
        return errors[0] if len(errors) == 1 else ConfigErrors(errors)


class DataError(TrainError):
    """A curated run directory that cannot feed training: missing, empty, or a `where` that selects nothing."""
