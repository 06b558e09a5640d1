"""The datasets' two exceptions."""


class DatasetError(RuntimeError):
    """A dataset cannot be found, downloaded, verified or read; the message says which
    file and why."""


class UnknownDataset(DatasetError, ValueError):
    """No dataset (or dataset item) has that name; the message lists the known ones."""
