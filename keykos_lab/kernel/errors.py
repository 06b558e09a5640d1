"""Exceptions the kernel raises at its Python surface."""


class KernelError(Exception):
    """The kernel could not do what the Python caller asked."""


class Deadlock(KernelError):
    """The console waits for a reply, but no domain can run to send it."""


class StepLimitExceeded(KernelError):
    """The console waited more scheduler steps than its ``step_limit``."""


class TimeLimitExceeded(StepLimitExceeded):
    """The console waited longer than its ``time_limit`` (seconds of wall clock)."""


class CheckpointError(KernelError):
    """A checkpoint could not be written (domains mid-flight) or read back (not a
    checkpoint, a newer or unknown version, truncated, corrupt, dangling references,
    programs not registered). The message says which."""
