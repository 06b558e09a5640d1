"""The console: the experimenter's own domain (D6).

The console is a real domain — root, keys node, registers node, a meter — whose
program is the Python code calling it. The keys it holds live in a growable
*key ring* of nodes hanging from its root, so the capability graph sees them.
Python code never touches a Key directly: it holds :class:`KeyHandle` values
that name ring slots. Calls are synchronous: the kernel runs until the reply
arrives, or raises a :class:`KernelError` saying why it cannot.

>>> from keykos_lab.kernel.core import Kernel
>>> con = Kernel().console
>>> r = con.call(con.dkc, 0, data=(42).to_bytes(6, "big"))
>>> r.rc, con.describe(r.keys[0])
(0, 'DK(42)')
"""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic
from typing import NamedTuple

from keykos_lab.kernel import journal
from keykos_lab.kernel.domains import (
    A_RETRY,
    A_SEND,
    A_START,
    BLOCKED,
    KEYS_NODE,
    METER,
    REGS_NODE,
    RUNNING,
    STATE_NAMES,
    WAITING,
    hold,
)
from keykos_lab.kernel.errors import (
    Deadlock,
    KernelError,
    StepLimitExceeded,
    TimeLimitExceeded,
)
from keykos_lab.kernel.journal import Journal
from keykos_lab.kernel.keys import (
    CALCLOCK,
    DATA,
    DISCRIM,
    DK0,
    DKC,
    DOMTOOL,
    FLAVOUR_NAMES,
    KEYBITS,
    MISC,
    NOCALL,
    NODE,
    OBJECT_TYPES,
    RESUME,
    RETURNER,
    RO,
    START,
    SYSTIMER,
    Key,
    misc_key,
)
from keykos_lab.kernel.keys import METER as METER_KEY
from keykos_lab.kernel.ops import describe, describe_exception
from keykos_lab.kernel.orders import reset
from keykos_lab.kernel.orders.segment import SIZE_BITS
from keykos_lab.kernel.process import MAX_ORDER, MAX_STRING, OP_CALL, OP_FORK, SYSTEM_PROGRAMS
from keykos_lab.kernel.state import KernelState
from keykos_lab.kernel.watchdog import Watchdog

RING_SLOT = 10  # root slot holding the first key-ring node
RING_PER_NODE = 15  # slots 0..14 hold keys, slot 15 links the next ring node
DEFAULT_STEP_LIMIT = 1_000_000
#: Seconds of wall clock a console call may wait for the kernel (``con.time_limit``).
DEFAULT_TIME_LIMIT = 5.0


class KeyHandle:
    """A key the console holds: a name for one slot of its key ring."""

    __slots__ = ("console", "index")

    def __init__(self, console: Console, index: int) -> None:
        self.console = console
        self.index = index

    @property
    def key(self) -> Key:
        """The key in the ring slot, as it is now (DK(0) once revoked)."""
        return self.console.key(self)

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, KeyHandle)
            and other.console is self.console
            and other.index == self.index
        )

    def __hash__(self) -> int:
        return hash((id(self.console), self.index))

    def __repr__(self) -> str:
        return f"<{self.console.describe(self)}>"


class Reply(NamedTuple):
    """The answer to a console CALL: return code, four key handles, the string."""

    rc: int
    keys: tuple[KeyHandle, ...]  # always four
    data: bytes


class Console:
    """The experimenter's domain; ``kernel.console``."""

    def __init__(self, kernel: KernelState) -> None:
        self.kernel = kernel
        store = kernel.store
        root, keys_node, regs_node = store.new_node(), store.new_node(), store.new_node()
        root.slots[KEYS_NODE] = Key(NODE, keys_node.id, 0, keys_node.alloc)
        root.slots[REGS_NODE] = Key(NODE, regs_node.id, 0, regs_node.alloc)
        prime = kernel.node(kernel.prime_meter)
        root.slots[METER] = Key(METER_KEY, prime.id, 0, prime.alloc)
        self.root = root.id
        store.labels[root.id] = "console"
        self.state = kernel.domain_state(root.id)
        self.state.state = RUNNING
        self.state.program = "console"
        self._ring: list = []  # ring nodes
        self._where: dict[Key, int] = {}  # key -> ring index (dedupe)
        self._count = 0
        self._names: dict[str, KeyHandle] = {}
        self._woken = False
        self._result = None
        #: The inputs since the last quiescent state (:mod:`~keykos_lab.kernel.journal`):
        #: what lets a checkpoint be taken at any moment.
        self.journal = Journal(type(kernel), kernel.seed)
        # Set by _fail, _wait and run when an input fails: (error name, what), steps.
        self._failure: tuple[str, str] | None = None
        self._failed_steps = 0
        # Replay (checkpoint.replay): the failure the next _fail must be, as recorded.
        self._forced: tuple[type[KernelError], str] | None = None
        # What the time limit is checked against, each scheduler step (replay counts).
        self._clock = monotonic
        #: Called after each input from outside (``checkpoint_every`` sets it).
        self.after_input: Callable[[], None] | None = None
        self.step_limit = DEFAULT_STEP_LIMIT
        #: Seconds a console call (``call``, ``fork``, ``run``) may take; None: no limit.
        #: Past it, or past ``step_limit`` scheduler steps, the call raises and every
        #: domain still runnable is stopped (parked, with the reason in ``k.objects()``),
        #: so that a runaway does not go on in the next call.
        self.time_limit: float | None = DEFAULT_TIME_LIMIT
        for name, sub in (
            ("returner", RETURNER),
            ("discrim", DISCRIM),
            ("dkc", DKC),
            ("keybits", KEYBITS),
            ("domtool", DOMTOOL),
            ("systimer", SYSTIMER),
            ("calclock", CALCLOCK),
        ):
            self.name(name, self.hold(misc_key(sub)))

    # ------------------------------------------------------------- key ring
    def hold(self, key: Key) -> KeyHandle:
        """Put ``key`` in the key ring (kernel use: boot and replies)."""
        j = self.journal
        if j.depth:
            return self._hold(key)
        j.depth += 1
        try:
            handle = self._hold(key)
        finally:
            j.depth -= 1
        self._recorded(("hold", tuple(key)))
        return handle

    def _hold(self, key: Key) -> KeyHandle:
        idx = self._where.get(key)
        if idx is not None and self._slot(idx) == key:
            return KeyHandle(self, idx)
        idx = self._count
        node_no, slot = divmod(idx, RING_PER_NODE)
        if node_no == len(self._ring):
            self._grow()
        self._ring[node_no].slots[slot] = key
        self._count += 1
        self._where[key] = idx
        hold(self.state, (key,))
        return KeyHandle(self, idx)

    def _grow(self) -> None:
        store = self.kernel.store
        node = store.new_node()
        store.labels[node.id] = f"console key ring {len(self._ring)}"
        link = Key(NODE, node.id, 0, node.alloc)
        if self._ring:
            self._ring[-1].slots[RING_PER_NODE] = link
        else:
            self.kernel.node(self.root).slots[RING_SLOT] = link
        self._ring.append(node)
        history = self.kernel.history
        if history is not None:
            history.ring(node.id)

    def _slot(self, idx: int) -> Key:
        node_no, slot = divmod(idx, RING_PER_NODE)
        return self._ring[node_no].slots[slot]

    @property
    def ring_nodes(self) -> list[int]:
        """Ids of the nodes of the key ring."""
        return [n.id for n in self._ring]

    def key(self, handle: KeyHandle) -> Key:
        """The live key a handle names."""
        return self.kernel.live(self._slot(self._check(handle)))

    def _check(self, handle: object) -> int:
        if type(handle) is not KeyHandle:
            raise TypeError(
                f"the console uses key handles it holds, not {describe(handle)}"
                " (keys come from replies and con[name])"
            )
        if handle.console is not self:
            raise ValueError("that key handle belongs to another kernel's console")
        index = handle.index
        if type(index) is not int or not 0 <= index < self._count:
            raise ValueError(f"no key handle {describe(index)} in this console's key ring")
        return index

    def _unwrap(self, handle) -> Key:
        return self._slot(self._check(handle))

    # ---------------------------------------------------------------- names
    def __getitem__(self, name: str) -> KeyHandle:
        try:
            return self._names[name]
        except KeyError:
            raise KeyError(
                f"the console holds no key named {name!r}; names: {', '.join(sorted(self._names))}"
            ) from None

    def __contains__(self, name: str) -> bool:
        return name in self._names

    def name(self, name: str, handle: KeyHandle, *, label: bool = True) -> KeyHandle:
        """Give a held key a well-known name: ``con[name]`` afterwards. With ``label`` (the
        default) the object the key designates takes the name as its label too, unless it
        has one already, so graphs, frames and analyses' witnesses show it.

        >>> import keykos_lab as kl
        >>> k = kl.Kernel(); con = k.console
        >>> _ = con.name("d", con["discrim"]); con["d"] == con["discrim"]
        True
        >>> echo = con.name("echo", kl.start_key(con, kl.build_domain(con, "echo")))
        >>> k.capability_graph().nodes[con.target(echo)]["label"]
        'echo'
        """
        self._check(handle)
        if not isinstance(name, str) or not name or len(name) > journal.MAX_TEXT:
            raise ValueError(
                f"a key name is a non-empty string of at most {journal.MAX_TEXT} "
                f"characters, not {name!r:.60}"
            )
        self._names[name] = handle
        target = self.target(handle)
        labels = self.kernel.store.labels
        if label and target is not None and target not in labels:
            labels[target] = name
        if not self.journal.depth:
            self._recorded(("name", name, handle.index, bool(label)))
        return handle

    def label(self, handle: KeyHandle, text: str) -> None:
        """Label the object a held key designates: graphs, frames and the analyses'
        witnesses show it (an input the journal records).

        >>> import keykos_lab as kl
        >>> k = kl.Kernel(); con = k.console
        >>> page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
        >>> con.label(page, "diary"); k.store.labels[con.target(page)]
        'diary'
        """
        self._check(handle)
        if not isinstance(text, str) or not text or len(text) > journal.MAX_TEXT:
            raise ValueError(
                f"a label is a non-empty string of at most {journal.MAX_TEXT} "
                f"characters, not {text!r:.60}"
            )
        target = self.target(handle)
        if target is None:
            raise ValueError(f"{self.describe(handle)} designates no object to label")
        self.kernel.store.labels[target] = text
        if not self.journal.depth:
            self._recorded(("label", handle.index, text))

    def names(self) -> list[str]:
        """The well-known names, sorted.

        >>> from keykos_lab.kernel.core import Kernel
        >>> Kernel().console.names()[:2]
        ['calclock', 'discrim']
        """
        return sorted(self._names)

    def __getattr__(self, name: str) -> KeyHandle:
        names = self.__dict__.get("_names", {})
        if name in names:
            return names[name]
        raise AttributeError(name)

    # ----------------------------------------------------------- invocation
    def call(self, key: KeyHandle, order: int = 0, *keys: KeyHandle, data: bytes = b"") -> Reply:
        """CALL ``key`` with up to 3 keys; run the kernel until the reply comes.

        >>> from keykos_lab.kernel.core import Kernel
        >>> con = Kernel().console
        >>> con.call(con.discrim, 0x80000000).rc == 0x409
        True
        """
        op = self._op(OP_CALL, key, order, keys, data, 3)
        if self.journal.depth:
            return self._reply(self._run_op(op))
        reply = self._input(("call", key.index, order, tuple([h.index for h in keys]), op[4]), op)
        assert reply is not None, "a CALL gives a reply"
        return reply

    def fork(self, key: KeyHandle, order: int = 0, *keys: KeyHandle, data: bytes = b"") -> None:
        """FORK: send without waiting for a reply; ``run()`` lets the others work.

        >>> import keykos_lab as kl
        >>> k = kl.Kernel(); con = k.console
        >>> echo = kl.start_key(con, kl.build_domain(con, "echo"))
        >>> con.fork(echo, 5); con.run() > 0
        True
        >>> list(k.events()["jump"].iloc[-3:].astype(str))  # FORK, its delivery, echo's RETURN
        ['fork', 'fork', 'return']
        """
        op = self._op(OP_FORK, key, order, keys, data, 4)
        if self.journal.depth:
            self._run_op(op)
            return
        self._input(("fork", key.index, order, tuple([h.index for h in keys]), op[4]), op)

    def run(self, max_steps: int | None = None) -> int:
        """Run domains until none is runnable (or ``max_steps``); the steps taken.

        >>> from keykos_lab.kernel.core import Kernel
        >>> Kernel().console.run()
        0
        """
        k = self.kernel
        steps = 0
        limit = self.step_limit if max_steps is None else max_steps
        deadline = self._deadline()
        j = self.journal
        outer = not j.depth
        if outer:
            j.depth += 1
            self._failure, step_limit = None, self.step_limit
        clock = self._clock
        try:
            with Watchdog(k, k.handler_time_limit):
                while steps < limit and k._step():
                    steps += 1
                    if deadline is not None and clock() > deadline:
                        self._failed_steps = steps
                        raise self._fail(
                            TimeLimitExceeded,
                            f"still running after {self.time_limit} s (con.time_limit)",
                        )
        except BaseException as exc:
            failure: BaseException = exc
            if isinstance(exc, Exception) and not isinstance(exc, KernelError):
                # a kernel bug must not leave the console wedged
                failure = self._fail(
                    KernelError,
                    f"the kernel failed while running domains: {describe_exception(exc)}",
                )
            elif not isinstance(exc, Exception):  # Ctrl-C: stop the runaways, let it go on
                self._fail(KernelError, "interrupted")
            if outer:
                j.depth -= 1
                self._recorded(("run", max_steps, step_limit, steps, self._outcome(failure)))
            if failure is exc:
                raise
            raise failure from exc
        if outer:
            j.depth -= 1
            self._recorded(("run", max_steps, step_limit, steps, None))
        return steps

    # -------------------------------------------------------------- the journal
    def _input(self, head: tuple, op: tuple) -> Reply | None:
        """Run a CALL or FORK from outside and record it in the journal."""
        j = self.journal
        j.depth += 1
        self._failure = None
        step_limit = self.step_limit
        try:
            result = self._run_op(op)
            reply = self._reply(result) if head[0] == "call" else None
        except BaseException as exc:
            j.depth -= 1
            self._recorded(head + (step_limit, self._outcome(exc)))
            raise
        j.depth -= 1
        self._recorded(head + (step_limit, None))
        return reply

    def _outcome(self, exc: BaseException) -> tuple[str, tuple[str, int] | None]:
        """How an input from outside ended, as the journal records it."""
        failure = self._failure
        if not isinstance(exc, Exception) or (failure is not None and failure[1] == "interrupted"):
            self.journal.broken = "an input was interrupted (Ctrl-C) part way"
        if isinstance(exc, TimeLimitExceeded) and failure is not None:
            return (type(exc).__name__, (failure[1], self._failed_steps))
        return (type(exc).__name__, None)

    def _recorded(self, entry: tuple) -> None:
        """Append an input (with the event log's length now) to the journal; move the
        journal's base when it is due and nothing is mid-flight; then ``after_input``."""
        k = self.kernel
        j = self.journal
        inputs = j.inputs
        inputs.append(entry + (len(k.log),))
        if len(inputs) >= j.next_rebase and j.due(len(k.objs)):
            self.rebase()
        hook = self.after_input
        if hook is not None:
            hook()

    def rebase(self) -> bool:
        """Make the state as it is now the journal's base, if nothing is mid-flight
        (then the inputs before it are dropped); whether it did."""
        encode = journal.ENCODER  # set by keykos_lab.kernel.checkpoint.save
        body = None if encode is None else encode(self.kernel)
        if body is None:
            return False
        self.journal.rebase(body, len(self.kernel.log), len(self.kernel.objs))
        return True

    def _deadline(self) -> float | None:
        """When this call must give up; both budgets checked before anything runs."""
        steps = self.step_limit
        if type(steps) is not int or steps < 1:
            raise ValueError(f"con.step_limit is an int ≥ 1, not {describe(steps)}")
        limit = self.time_limit
        if limit is None:
            return None
        if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit > 0:
            raise ValueError(
                f"con.time_limit is a positive number of seconds or None, not {limit!r}"
            )
        return monotonic() + limit

    def _fail(self, error: type[KernelError], what: str) -> KernelError:
        """Give up: name the domain that was running, stop every runaway (unless nothing
        could run: a deadlock leaves every domain as it is, a stopped meter's domains
        waiting for a refill), and make the console usable again; the error to raise."""
        if self._forced is not None:  # replaying: the failure the recording had
            error, what = self._forced
            self._forced = None
        self._failure = (error.__name__, what)
        k = self.kernel
        if issubclass(error, Deadlock):
            self._give_up()
            return error(what)
        running = k.running
        # Runaways are stopped; the system's own domains (a bank serving a runaway's
        # last request …) finish what they are doing in the next call.
        stopped = [d for d in k.runnable() if d.program not in SYSTEM_PROGRAMS]
        stopped += [
            d
            for d in k.domains.values()  # and whatever they had in flight
            if d.proc is not None
            and d is not self.state
            and d not in stopped
            and d.program not in SYSTEM_PROGRAMS
        ]
        named = (
            ""
            if running is None or running is self.state
            else f"; domain #{running.root} ({running.program or '?'}) was running"
        )
        why = f"{what}{named}"
        if stopped:
            shown = ", ".join(f"#{d.root} ({d.program or '?'})" for d in stopped[:8])
            more = f" and {len(stopped) - 8} more" if len(stopped) > 8 else ""
            why += f"; stopped {len(stopped)} runnable domain(s): {shown}{more}"
        for ds in stopped:
            k._stop(ds, f"stopped by the console: {what}")
        self._give_up()
        return error(why)

    def _op(self, code, key, order, keys, data, max_keys):
        if type(order) is not int or not 0 <= order <= MAX_ORDER:
            raise ValueError(f"an order code is an int in [0, 2**32), not {order!r}")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data is bytes, not {type(data).__name__}")
        data = bytes(data)
        if len(data) > MAX_STRING:
            raise ValueError(f"a message string holds at most {MAX_STRING} bytes, not {len(data)}")
        if len(keys) > max_keys:
            raise ValueError(f"this jump passes at most {max_keys} keys, not {len(keys)}")
        return (code, self._unwrap(key), order, tuple(self._unwrap(h) for h in keys), data)

    def _run_op(self, op):
        k = self.kernel
        ds = self.state
        if ds.state != RUNNING or ds.next is not None:
            raise KernelError("the console is not running; it cannot invoke keys now")
        dog = Watchdog(k, k.handler_time_limit)  # bad limits are refused before the jump
        deadline = self._deadline()
        k.running = None
        try:
            r = k._execute(ds, op)
            if r is not BLOCKED:
                return r
            self._woken = False
            with dog:
                return self._wait(k, deadline)
        except KernelError as exc:
            if self.state.state != RUNNING or self.state.next is not None:
                raise self._fail(type(exc), str(exc)) from exc
            raise
        except Exception as exc:  # a kernel bug must not leave the console wedged
            raise self._fail(
                KernelError, f"the kernel failed while running domains: {describe_exception(exc)}"
            ) from exc
        except BaseException:  # Ctrl-C: the console stays usable, the interrupt goes on
            self._fail(KernelError, "interrupted")
            raise

    def _wait(self, k: KernelState, deadline: float | None) -> object:
        step = k._step
        clock = self._clock
        steps = 0
        while not self._woken:
            if steps >= self.step_limit:
                raise self._fail(
                    StepLimitExceeded,
                    f"no reply after {steps} scheduler "
                    f"steps (con.step_limit): {self._why_waiting()}",
                )
            if deadline is not None and clock() > deadline:
                self._failed_steps = steps
                raise self._fail(
                    TimeLimitExceeded,
                    f"no reply after {self.time_limit} s (con.time_limit): {self._why_waiting()}",
                )
            if not step():
                raise self._fail(
                    Deadlock, f"no domain can run, so no reply can come: {self._why_waiting()}"
                )
            steps += 1
        return self._result

    def _wake(self) -> None:
        """The scheduler reached the console: a reply arrived or a stalled jump may go."""
        ds = self.state
        assert ds.next is not None, "the console was woken with nothing to do"
        kind, value = ds.next
        ds.next = None
        if kind == A_RETRY:
            value = self.kernel.retry(ds, value)
            if value is BLOCKED:
                return
        elif kind == A_START:
            pass  # a message through a start key to the console: hand it over as is
        elif kind != A_SEND:
            value = None
        self._result = value
        self._woken = True

    def _give_up(self) -> None:
        reset(self.kernel, self.state, RUNNING)
        self.state.held = set(self._where)

    def _why_waiting(self) -> str:
        k = self.kernel
        ds = self.state
        parts = []
        if ds.stalled_on is not None:
            t = ds.stalled_on
            parts.append(
                f"the console is stalled on busy domain #{t.root} "
                f"({t.program or '?'}, {STATE_NAMES[t.state]})"
            )
        else:
            parts.append("the console waits for a reply")
        for p in k.parked:
            parts.append(
                f"domain #{p.root} ({p.program or '?'}) is parked: {p.parked}"
                + (f" [{p.error}]" if p.error else "")
            )
        for stopped in k.meter_stopped.values():
            for p, _ in stopped:
                if p.parked is not None:
                    parts.append(f"domain #{p.root} ({p.program or '?'}) is {p.parked}")
        waiting = [
            d for d in k.domains.values() if d is not ds and d.state == WAITING and not d.parked
        ]
        if waiting:
            parts.append(
                "waiting: " + ", ".join(f"#{d.root} ({d.program or '?'})" for d in waiting[:8])
            )
        return "; ".join(parts)

    def _reply(self, msg) -> Reply:
        hold = self._hold  # (inside an input: not one of its own for the journal)
        if msg is None:
            return Reply(0, tuple([hold(DK0) for _ in range(4)]), b"")
        return Reply(msg.order, tuple([hold(key) for key in msg.keys]), msg.data)

    # ------------------------------------------------------------- reading
    def target(self, handle: KeyHandle) -> int | None:
        """The object id the key designates (its vertex in the graph), or None.

        >>> import keykos_lab as kl
        >>> k = kl.Kernel(); con = k.console
        >>> page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
        >>> con.target(page) in k.capability_graph(), con.target(con["dkc"])
        (True, None)
        """
        key = self.key(handle)
        return key.obj if key.type in OBJECT_TYPES else None

    def describe(self, handle: KeyHandle) -> str:
        """A readable description of a held key (also its repr).

        >>> from keykos_lab.kernel.core import Kernel
        >>> con = Kernel().console
        >>> con.describe(con["discrim"])
        'discrim key (kernel)'
        """
        return describe_key(self.kernel, self.key(handle))

    def _repr_html_(self) -> str:
        """The console in a notebook: its state, its key ring, its names and the keys
        they name, as plain HTML (every text escaped: names and labels come from users).

        >>> from keykos_lab.kernel.core import Kernel
        >>> con = Kernel().console
        >>> _ = con.name("<script>x</script>", con["dkc"])
        >>> html = con._repr_html_()
        >>> "&lt;script&gt;x&lt;/script&gt;" in html and "<script>" not in html
        True
        >>> import keykos_lab as kl      # a booted system: a meter key and start keys
        >>> html = kl.Kernel().console._repr_html_()
        >>> "meter key → meter #" in html, "(DCC): available" in html, "()" in html
        (True, True, False)
        """
        import html

        def esc(text: object) -> str:
            return html.escape(str(text), quote=True)

        def show(handle: KeyHandle) -> str:
            """The key as ``describe`` says it, tidied for a table: no empty ``()``,
            a domain's program only where its label does not already say it."""
            key = self.key(handle)
            text = self.describe(handle).replace(" key () → ", " key → ")
            if key.type not in (START, RESUME, 8):
                return text
            head = text.partition(" → ")[0]
            ds = self.kernel.domains.get(key.obj)
            label = self.kernel.store.labels.get(key.obj) or ""
            where = f"#{key.obj}" + (f" ({label})" if label else "")
            what = [STATE_NAMES[ds.state] if ds else "available"]
            if ds and ds.program and ds.program.lower() != label.lower():
                what.insert(0, ds.program)
            return f"{head} → domain {where}: {', '.join(what)}"

        rows = "".join(
            f"<tr><td><code>{esc(name)}</code></td><td>{esc(show(self._names[name]))}</td></tr>"
            for name in self.names()
        )
        state = STATE_NAMES.get(self.state.state, self.state.state)
        return (
            '<div class="keykos-console">'
            f"<b>Console</b> (domain #{esc(self.root)}, {esc(state)}): "
            f"{esc(self._count)} keys held in {esc(len(self._ring))} key-ring nodes, "
            f"{esc(len(self._names))} named"
            '<table><thead><tr><th style="text-align:left">name</th>'
            '<th style="text-align:left">key</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></div>"
        )


def describe_key(kernel, key: Key) -> str:
    """``'page key (rw) → page #12'`` and the like."""
    t = key.type
    if t == DATA:
        return f"DK({key.obj})"
    if t == MISC:
        return f"{key.type_name} key (kernel)"
    if t not in OBJECT_TYPES:
        return f"{key.type_name} key"
    label = kernel.store.labels.get(key.obj)
    where = f"#{key.obj}" + (f" ({label})" if label else "")
    if t == 1:
        return f"page key ({'ro' if key.databyte & RO else 'rw'}) → page {where}"
    if t in (START, RESUME, 8):
        ds = kernel.domains.get(key.obj)
        state = STATE_NAMES[ds.state] if ds else "available"
        prog = f"{ds.program}, " if ds and ds.program else ""
        extra = (
            f"databyte {key.databyte}"
            if t == START
            else FLAVOUR_NAMES.get(key.databyte, str(key.databyte))
            if t == RESUME
            else ""
        )
        head = f"{key.type_name} key" + (f" ({extra})" if extra else "")
        return f"{head} → domain {where} ({prog}{state})"
    bits = []
    if key.databyte & RO:
        bits.append("ro")
    if key.databyte & NOCALL:
        bits.append("nocall")
    if t != METER_KEY:
        bits.append(f"lss {key.databyte & SIZE_BITS}")
    kind = "meter" if t == METER_KEY else "node"
    return f"{key.type_name} key ({', '.join(bits)}) → {kind} {where}"


__all__ = [
    "Console",
    "KeyHandle",
    "Reply",
    "KernelError",
    "Deadlock",
    "StepLimitExceeded",
    "describe_key",
]
