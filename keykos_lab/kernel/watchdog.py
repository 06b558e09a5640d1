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

Only the handler's own code is ever interrupted, so the kernel's state is never torn: a
tick that finds no handler running does nothing, and one that finds the handler inside
kernel code it called (a register write, the history recording it: code under
``keykos_lab/kernel``, or the standard library's at the top of the stack, for at most
:data:`LIBRARY_WAITS` tries) comes back a millisecond later, until it finds the handler
in its own code.

What the watchdog cannot stop (pure Python has no way to): a program that catches
:class:`ProgramTimeLimit` — ``except BaseException`` — and loops on, in its body or
in a ``finally``, and a program stuck in one long call into C (a huge ``**``, a
catastrophic regular expression), and program code that runs where no handler does, a
finalizer (``__del__``) the kernel triggers by dropping a program's object. The console
call then does not come back (Ctrl-C stops it); such a
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

import os
import signal
import sysconfig
import threading

from keykos_lab.kernel.domains import CLOSING
from keykos_lab.kernel.errors import KernelError

#: Where the kernel's code lives: a tick that lands in it waits (``_in_kernel_code``).
_KERNEL_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
#: The standard library's code: a tick that lands there waits too (the kernel calls it).
_STDLIB = os.path.realpath(sysconfig.get_paths()["stdlib"]) + os.sep
#: Where a tick found the handler (``_in_kernel_code``).
KERNEL, LIBRARY = "kernel", "library"
#: A tick that finds standard-library code puts off the interrupt this many times at most
#: (RETRY apart): the kernel's calls into the library are short, and a program looping in
#: one (``statistics.mean(itertools.count())``) must still be stopped.
LIBRARY_WAITS = 100
#: How soon a tick that landed in kernel code tries again, in seconds.
RETRY = 0.001


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
        self._waited = 0  # ticks put off in a row because the kernel's code was running

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
            where = _in_kernel_code(frame, running)
            if where == KERNEL or (where == LIBRARY and self._waited < LIBRARY_WAITS):
                self._waited += 1  # the handler called the kernel: not here; soon
                signal.setitimer(signal.ITIMER_REAL, RETRY, (self.limit or 0) / 2)
                return
            self._seen, self._waited = None, 0
            raise ProgramTimeLimit(
                f"the program ran more than {self.limit} s without "
                f"invoking a key (k.handler_time_limit)"
            )
        self._seen, self._waited = now, 0


def _in_kernel_code(frame, handler) -> str:
    """Whose code the interrupt found above the handler's frame: :data:`KERNEL` (a frame
    of kernel code on the way), :data:`LIBRARY` (standard-library code at the top, which
    the kernel may have called: a compiled kernel has no frames, the Python it calls,
    ``typing.cast``, has), or ``""`` (the program's own)."""
    top = frame
    while frame is not None and frame is not handler:
        if frame.f_code.co_filename.startswith(_KERNEL_DIR):
            return KERNEL
        frame = frame.f_back
    return LIBRARY if top is not None and top.f_code.co_filename.startswith(_STDLIB) else ""


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
