"""Node-range and page-range keys: what a space bank creates and destroys with.

The C release's range keys (``Base/jnrangec.c``, ``Base/jprangec.c``) address
a range of disk frames by offset; here they create fresh objects and destroy
or sever the ones they are shown (simulator form, docs/fidelity.md). Object
ids are never reused, so a destroyed object's keys are dead for good.
"""

from __future__ import annotations

from keykos_lab.kernel.domains import AVAILABLE, DomainState
from keykos_lab.kernel.eventlog import C_NONE, EV_CREATE, EV_DESTROY, EV_SEVER, J_NONE, key_code
from keykos_lab.kernel.keys import NODE, NODE_RANGE, PAGE, RO, Key
from keykos_lab.kernel.objects import Node, Page
from keykos_lab.kernel.oc import KT, Range
from keykos_lab.kernel.orders.domain import reset
from keykos_lab.kernel.orders.reply import INVALID, NOT_MINE, OK, Reply, answer, one_key
from keykos_lab.kernel.state import KernelState


def range_key(
    k: KernelState,
    ds: DomainState,
    key: Key,
    _obj: object,
    order: int,
    keys: tuple[Key, ...],
    data: bytes,
) -> Reply:
    """A CALL on a node-range or page-range key."""
    kind = NODE if key.type == NODE_RANGE else PAGE
    if order == Range.Create:
        obj = k.store.new_node() if kind == NODE else k.store.new_page()
        k.log.emit(
            k.tick,
            EV_CREATE,
            J_NONE,
            ds.root,
            key_code(kind, 0),
            obj.id,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            C_NONE,
        )
        return one_key(Key(kind, obj.id, 0, obj.alloc))
    if order in (Range.Destroy, Range.Sever):
        # Only the full key sells or severs: a node key, a read-write page key.
        a = k.live(keys[0])
        if a.type != kind or (kind == PAGE and a.databyte & RO):
            return NOT_MINE  # jnrangec.c / jprangec.c answer -1
        target = k.objs[a.obj]
        assert target is not None, "a live key designates a live object"  # (k.live above)
        if order == Range.Destroy:
            destroy_object(k, target)
            k.log.emit(
                k.tick,
                EV_DESTROY,
                J_NONE,
                ds.root,
                key_code(a.type, 0),
                target.id,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                C_NONE,
            )
            return OK
        sever_object(k, target)
        k.log.emit(
            k.tick,
            EV_SEVER,
            J_NONE,
            ds.root,
            key_code(a.type, 0),
            target.id,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            C_NONE,
        )
        return one_key(Key(kind, target.id, 0, target.alloc))
    if order == KT:
        return answer(Range.NodeAKT if kind == NODE else Range.PageAKT)
    return INVALID


def destroy_object(k: KernelState, obj: Node | Page) -> None:
    """Destroy a page or node; a domain rooted there loses its process."""
    _forget_domain(k, obj.id)
    k.settle_meters()
    k.store.destroy(obj.id)
    k.node_epoch += 1
    k.page_epoch += 1


def sever_object(k: KernelState, obj: Node | Page) -> None:
    """Give the object a new allocation id: every key to it dies."""
    _forget_domain(k, obj.id)
    k.settle_meters()
    k.store.sever(obj.id)
    k.node_epoch += 1


def _forget_domain(k: KernelState, oid: int) -> None:
    tds = k.domains.pop(oid, None)
    if tds is not None:
        reset(k, tds, AVAILABLE)
        k._borrowers.discard(tds)
