"""User-facing errors. The CLI prints these as one line and exits non-zero."""


class FAError(Exception):
    """Base class for errors caused by user input (config, data, files)."""

    exit_code = 2


class ConfigError(FAError):
    """The YAML config or a --set override is invalid."""


class DataError(FAError):
    """The dataset on disk is missing, unreadable or inconsistent."""

    exit_code = 3


class CheckpointError(FAError):
    """A checkpoint file cannot be read or does not fit the model."""

    exit_code = 4
