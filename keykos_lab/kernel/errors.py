"""Exceptions the kernel raises at its Python surface."""


class KernelError(Exception):
    """The kernel could not do what the Python caller asked."""


class Deadlock(KernelError):
    """The console waits for a reply, but no domain can run to send it."""


class StepLimitExceeded(KernelError):
    """The console waited more scheduler steps than its ``step_limit``."""
