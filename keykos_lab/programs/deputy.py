"""The confused deputy (Hardy, 1988) as two compilers (docs/analyses.md#analyses-deputy).

Both compile a caller's source into an output file and add a record to the billing page
they hold in key register :data:`BILL_REG`, which only they may write.

``compiler_by_name``
    the design of Hardy's story: the caller *names* the output file in its string, and the
    compiler looks the name up in its own directory (a node in :data:`DIRECTORY_REG` whose
    slots hold page keys, :data:`FILES`) and writes there with its own authority. Naming
    ``BILL`` overwrites the billing page.
``compiler_by_key``
    the capability design: the caller passes a page key for the output as key 0, and the
    compiler writes the output only through it. It has no way to name a file.

Either answers rc 0 when the output was written, :data:`NO_SUCH_FILE` for a name or key it
cannot use. The output is :data:`OBJECT_CODE`, at offset 0; a billing record is the 8-byte
count of compilations, at offset :data:`BILL_AT` of the billing page.

>>> sorted(FILES)
[b'BILL', b'out']
"""

from __future__ import annotations

from keykos_lab.kernel import oc
from keykos_lab.kernel.process import program

BILL_REG, DIRECTORY_REG = 5, 6
#: The directory of ``compiler_by_name``: file name -> slot of its directory node.
FILES = {b"out": 0, b"BILL": 1}
OBJECT_CODE = b"\x7fELF object code"
NO_SUCH_FILE = 1
COUNT_REG = 0  # data register: compilations so far
BILL_AT = 64


def bill(dom):
    """Sub-generator: add one compilation to the billing page (through key register 5)."""
    dom.regs[COUNT_REG] = count = dom.regs[COUNT_REG] + 1
    yield dom.call(dom.keys[BILL_REG], oc.Page.WriteData + BILL_AT, data=count.to_bytes(8, "big"))


@program("compiler_by_name")
def compiler_by_name(dom, msg):
    slot = FILES.get(bytes(msg.data))
    if slot is None:
        yield dom.return_(msg.resume, rc=NO_SUCH_FILE)
        return
    out = (yield dom.call(dom.keys[DIRECTORY_REG], oc.Node.Fetch + slot)).keys[0]
    yield dom.call(out, oc.Page.WriteData, data=OBJECT_CODE)
    yield from bill(dom)
    yield dom.return_(msg.resume, rc=0)


@program("compiler_by_key")
def compiler_by_key(dom, msg):
    r = yield dom.call(msg.keys[0], oc.Page.WriteData, data=OBJECT_CODE)
    if r.rc != 0:
        yield dom.return_(msg.resume, rc=NO_SUCH_FILE)
        return
    yield from bill(dom)
    yield dom.return_(msg.resume, rc=0)


@program("deputy_user")
def deputy_user(dom, msg):
    """The compiler's client: calls key register 0 with the string it is sent (a file name)
    and, when it holds one, its own output page (key register 1) as key 0."""
    r = yield dom.call(dom.keys[0], 0, dom.keys[1], data=msg.data)
    yield dom.return_(msg.resume, rc=r.rc)
