"""The watchdog: a program that computes without invoking anything is stopped.

The simulator's clock is the invocation (D4): a meter counts a domain's jumps,
so a program that loops forever *invoking* keys is stopped by its meter. A
handler that loops in Python without yielding would never reach the kernel
again and hang the console. In KeyKOS its meter would run dry on CPU time; here
a wall-clock watchdog plays that part: while the console waits, an interval
timer ticks every ``limit / 2`` seconds; when two ticks in a row find the same
handler running its own code (the running domain's handler, or one being closed,
executing with its frame on the interrupted stack) and the kernel's tick (one per invocation)
unchanged, the tick raises
:class:`ProgramTimeLimit` *inside that handler*. The kernel's ordinary path for
a program's exception then traps the domain (``Trap.EXCEPTION``, its keeper
called or the domain parked), exactly as for any other bug of the program.

Only the handler's frame is ever interrupted — a tick that finds kernel code
running does nothing — so the kernel's own state is never torn.

What the watchdog cannot stop (pure Python has no way to): a program that catches
:class:`ProgramTimeLimit` — ``except BaseException`` — and loops on, in its body or
in a ``finally``, and a program stuck in one long call into C (a huge ``**``, a
catastrophic regular expression). The console call then does not come back; such a
program is hostile to the Python process itself, outside the program interface
(docs/reliability.md#reliability-trust). The timer needs
``signal.setitimer`` and the main thread (as in a notebook or a script); where
either is missing the watchdog is off, and says so in ``Watchdog.active``.

>>> import keykos_lab as kl
>>> @kl.program("doc-spin-in-python")
... def spin(dom, msg):
...     while True:
...         pass
...     yield
>>> k = kl.Kernel(); con = k.console
>>> k.handler_time_limit = 0.2
>>> spinner = kl.start_key(con, kl.build_domain(con, "doc-spin-in-python"))
>>> try:
...     con.call(spinner, 0)
... except kl.Deadlock as stuck:
...     print("ProgramTimeLimit" in str(stuck))
True
"""

from __future__ import annotations

import signal
import threading

from keykos_lab.kernel.domains import CLOSING
from keykos_lab.kernel.errors import KernelError


class ProgramTimeLimit(Exception):
    """Raised inside a handler that ran too long without invoking a key."""


class Watchdog:
    """Context manager: the timer runs while the console waits for the kernel."""

    def __init__(self, kernel, limit: float | None) -> None:
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit > 0
        ):
            raise KernelError(
                f"handler_time_limit must be a positive number of seconds or None, not {limit!r}"
            )
        self.kernel, self.limit = kernel, limit
        self.active = (
            bool(limit)
            and hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
        )
        self._seen: tuple | None = None

    def __enter__(self) -> Watchdog:
        if self.active and self.limit is not None:
            self._old_handler = signal.signal(signal.SIGALRM, self._tick)
            tick = self.limit / 2
            self._old_timer = signal.setitimer(signal.ITIMER_REAL, tick, tick)
        return self

    def __exit__(self, *exc) -> None:
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, *self._old_timer)
            signal.signal(signal.SIGALRM, self._old_handler)

    def _tick(self, signum, frame) -> None:
        running = _handler_frame(frame, self.kernel)
        now = (running, self.kernel.tick) if running is not None else None
        if now is not None and now == self._seen:
            self._seen = None
            raise ProgramTimeLimit(
                f"the program ran more than {self.limit} s without "
                f"invoking a key (k.handler_time_limit)"
            )
        self._seen = now


def _handler_frame(frame, kernel):
    """The frame of the handler the kernel is resuming (the running domain's) or closing,
    if the interrupted code runs inside it; else None (kernel code is running).

    Read from the generators themselves (``gi_running``, ``gi_frame``), not from the
    kernel's own frames: a compiled kernel (``keykos_lab.compiled``) has none."""
    handlers = [getattr(kernel.running, "proc", None), *CLOSING]
    frames = [
        g.gi_frame
        for g in handlers
        if getattr(g, "gi_running", False) and getattr(g, "gi_frame", None) is not None
    ]
    if not frames:
        return None
    while frame is not None:
        if any(frame is f for f in frames):
            return frame
        frame = frame.f_back
    return None
