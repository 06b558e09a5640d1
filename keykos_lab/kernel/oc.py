"""Order and return codes by name, from the KeyKOS C release.

The numbers are the C release's (``Dom/include/*.h`` of ``void4/KeyKOS``: ``ocrc.h``,
``page.h``, ``node.h``, ``domain.h``, ``discrim.h``, ``sb.h``; the kernel files in
``Base/`` where a code has no header name). The kernel dispatches on these names;
programs and notebooks may use them or plain integers. docs/fidelity.md lists
the codes that are the simulator's own.

>>> KT, KT + 1 == RC.DATAKEY, SB.CreatePage, Node.Swap + 3
(2147483648, True, 16, 19)
"""

from __future__ import annotations

from typing import Final

KT: Final = 0x80000000
DESTROY: Final = KT + 4


class RC:
    """Return codes (ocrc.h), and the yes/no answers of test orders."""

    OK: Final = 0
    NO: Final = 1  #: a test's "no": Compare found them different, a page not zero …
    DATAKEY: Final = KT + 1  #: a data key, or a dead key, was invoked
    INVALIDOC: Final = KT + 2  #: order code not recognised
    BADSTRING: Final = KT + 3  #: string format wrong
    NOT_MINE: Final = 0xFFFFFFFF  #: "-1": identify failed


class Page:
    """Page key orders (page.h, Base/jpagec.c)."""

    MakeReadOnlyKey: Final = 0
    Clear: Final = 39
    TestForZeroes: Final = 41
    WriteData: Final = 4096  #: + offset
    ReadData: Final = 8192  #: + offset; simulator extension (README, Fidelity)
    AKT: Final = 0x202
    ROAKT: Final = 0x1202
    NOT_ZERO: Final = 1  #: TestForZeroes: the page holds a nonzero byte
    PAST_END: Final = 1  #: WriteData: the string runs past the end of the page (jpagec.c:235)


class Node:
    """Node, fetch and sense key orders (node.h, Base/jnodec.c, Base/jsensec.c)."""

    Fetch: Final = 0  #: + slot
    Swap: Final = 16  #: + slot
    MakeFetchKey: Final = 32
    MakeSegmentKey: Final = 33
    MakeMeterKey: Final = 34
    MakeNodeKey: Final = 35
    MakeSenseKey: Final = 36
    MakeFrontendKey: Final = 37
    Compare: Final = 38
    Clear: Final = 39
    DataByte: Final = 40
    WriteData: Final = 45
    AKT: Final = 3
    FetchAKT: Final = 4
    SenseAKT: Final = 1
    BAD_SLOT: Final = 1  #: WriteData: the first or last slot is past 15
    NOT_ZERO_PAD: Final = 2  #: WriteData: a slot's five leading bytes were not zero


class Segment:
    """Black segment key orders (Base/jsegmntc.c, format_black).

    A red segment key (or a frontend key) with a keeper forwards every order to
    the keeper (``jsegment``'s ``format_red``); only a black one answers these.
    """

    MakeReadOnly: Final = 0
    AKT: Final = 5  #: | (databyte & 15) << 8, | RO_AKT for a read-only key
    RO_AKT: Final = 0x1000
    # The red node's format key (slot 15), as jsegmntc.c:33 check_format_key reads it.
    FORMAT_KEEPER_SHIFT: Final = 12  #: bits 12-15: the keeper slot (15: none, the key is black)
    FORMAT_NO_PASS_NODE: Final = 0x10000000  #: bit 28: do not pass a node key as the third key
    FORMAT_SUPERNODE: Final = 0x40000000  #: bit 30: a kernel supernode (not simulated)
    FRONTEND_DEPTH: Final = 20  #: jsegmntc.c:220: frontend keepers followed, at most


class Meter:
    """Meter key orders (Base/jmeterc.c): only the alleged key type."""

    AKT: Final = 6


class Domain:
    """Domain key orders (domain.h, Base/jdomainc.c; 68-71, 74, 75 machine-dependent:
    Base/sparc_jdomain.c, and the simulator's own form, docs/fidelity.md)."""

    Get: Final = 0  #: + special slot (1 meter, 2 keeper, 3 memory, 10, 11: jdomainc.c:207)
    GetMeter: Final = 1
    GetKeeper: Final = 2
    GetMemory: Final = 3
    GetKey: Final = 16  #: + key register
    Swap: Final = 32  #: + special slot
    SwapMeter: Final = 33
    SwapKeeper: Final = 34
    SwapMemory: Final = 35
    SwapKey: Final = 48  #: + key register
    MakeStart: Final = 64
    MakeAvailable: Final = 65
    MakeFaultKey: Final = 66
    MakeBusy: Final = 67
    GetControl: Final = 68
    PutControl: Final = 69
    GetRegs: Final = 70
    PutRegs: Final = 71
    MakeReturnKey: Final = 73
    ReplaceMemory: Final = 74
    PutStuff: Final = 75
    Compare: Final = 80
    AKT: Final = 7
    WAS_BUSY: Final = 1  #: MakeAvailable, MakeBusy: the domain was not available
    MALFORMED: Final = 2  #: the domain has no keys node or registers node


class Discrim:
    """Discrim orders (discrim.h, Base/jmiscc.c discrimmisckey)."""

    Type: Final = 0
    Discreet: Final = 1
    Compare: Final = 2
    AKT: Final = 0x409
    # Type's answers: the class of the key.
    DATA: Final = 1  #: a data key (or a hook)
    RESUME: Final = 2  #: a resume key
    MEMORY: Final = 3  #: a page, segment, node or sense key
    METER: Final = 4  #: a meter key
    OTHER: Final = 5  #: anything else (start, domain, fetch, misc …)


class DKC:
    """Data key creator (Base/jmiscc.c datamisckey)."""

    Create6: Final = 0
    Create11: Final = 1  #: a 16-byte string is read as jmiscc.c:344 reads it (docs/fidelity.md)
    AKT: Final = 0x309
    PAD_ZERO: Final = 1  #: Create11, 16-byte form: the five leading bytes were zero (jmiscc.c:349)


class KeyBits:
    """KeyBits (Base/jmiscc.c keybitsmisckey): order 0 only; KT too answers KT+2."""

    Get: Final = 0


class DomTool:
    """The domain tool (Base/jmiscc.c domtoolmisckey)."""

    MakeDomainKey: Final = 0
    IdentifyStart: Final = 1
    IdentifyResume: Final = 2
    IdentifyDomain: Final = 3
    IdentifySegmentStart: Final = 5  #: … keeper of a segment, by its key type
    IdentifySegmentResume: Final = 6
    IdentifySegmentDomain: Final = 7
    IdentifyMeterStart: Final = 9  #: … keeper of a meter, by its key type
    IdentifyMeterResume: Final = 10
    IdentifyMeterDomain: Final = 11
    AKT: Final = 0x109


class Range:
    """The closely held node-range and page-range keys (simulator form)."""

    Create: Final = 0
    Destroy: Final = 1
    Sever: Final = 2
    NodeAKT: Final = 0x303
    PageAKT: Final = 0x302


class SB:
    """Space bank orders and answers (Dom/include/sb.h, Dom/primordial/sbc.ck).

    Every order the bank implements (``programs/primordial/spacebank.py``); the
    page orders are the node orders + 16. Codes the simulator does not implement
    (12 and 28, range limits) answer KT+2 (docs/fidelity.md, System programs).
    """

    CreateNode: Final = 0  # sb.h:61, sbc.ck:548
    DestroyNode: Final = 1  # sb.h:62, sbc.ck:553
    SeverNode: Final = 2  # sb.h:63, sbc.ck:557
    QueryNodeSpace: Final = 5  #: 4 bytes: nodes available (sbc.ck:562-569)
    QueryNodeStatistics: Final = 6  #: 4 + 4 bytes: creates, destroys (sbc.ck:571-578)
    CreateTwoNodes: Final = 7  # sb.h:66, sbc.ck:580
    CreateThreeNodes: Final = 8  # sb.h:67, sbc.ck:589
    DestroyTwoNodes: Final = 9  #: rc = rc1 + 2*rc2 (sbc.ck:605-609)
    DestroyThreeNodes: Final = 10  #: rc = rc1 + 2*rc2 + 4*rc3 (sbc.ck:610-617)
    ChangeSmallNodeLimit: Final = 11  #: signed 4-byte change; answers the 4-byte limit (sbc.ck:618)
    SetNodeRangeLimit: Final = 12  #: range limits: not implemented (KT+2)
    ChangeNodeLimit: Final = 13  #: signed 8-byte change; answers the 8-byte limit (sbc.ck:645)
    QueryNodesAvailable: Final = 14  #: 8 bytes: nodes available (sbc.ck:656-664)
    CreatePage: Final = 16  # sb.h:74, sbc.ck:666
    DestroyPage: Final = 17  # sb.h:75, sbc.ck:671
    SeverPage: Final = 18  # sb.h:76, sbc.ck:675
    QueryPageSpace: Final = 21  # sb.h:77, sbc.ck:680
    QueryPageStatistics: Final = 22  # sb.h:78, sbc.ck:689
    CreateTwoPages: Final = 23  # sb.h:79, sbc.ck:698
    CreateThreePages: Final = 24  # sb.h:80, sbc.ck:707
    DestroyTwoPages: Final = 25  # sb.h:81, sbc.ck:723
    DestroyThreePages: Final = 26  # sb.h:82, sbc.ck:728
    ChangeSmallPageLimit: Final = 27  #: signed 4-byte change (sbc.ck:736)
    SetPageRangeLimit: Final = 28  #: range limits: not implemented (KT+2)
    ChangePageLimit: Final = 29  #: signed 8-byte change (sbc.ck:763)
    QueryPagesAvailable: Final = 30  # sb.h:86, sbc.ck:774
    Forbid: Final = 32  #: + rights bits 1..7 (sb.h:88-94): a weaker key
    ForbidDestroy: Final = 33  # sb.h:88, sbc.ck:784
    ForbidQuery: Final = 34  # sb.h:89, sbc.ck:787
    ForbidDestroyAndQuery: Final = 35  # sb.h:90, sbc.ck:791
    ForbidChangeLimits: Final = 36  # sb.h:91, sbc.ck:795
    ForbidDestroyAndChangeLimits: Final = 37  # sb.h:92, sbc.ck:799
    ForbidQueryAndChangeLimits: Final = 38  # sb.h:93, sbc.ck:803
    ForbidDestroyQueryAndChangeLimits: Final = 39  # sb.h:94, sbc.ck:807
    DestroyBankAndSpace: Final = 64  # sb.h:96, sbc.ck:812 (and KT+4, sbc.ck:533)
    QueryStatistics: Final = 65  #: 4 x 8 bytes: node creates, destroys, page … (sbc.ck:820)
    VerifyBank: Final = 66  # sb.h:98, sbc.ck:840
    CreateBank: Final = 67  # sb.h:99, sbc.ck:856
    AKT: Final = 0x0C  # sb.h:59, sbc.ck:533
    # Rights bits of a bank key, as Forbid adds them (sb.h:88-94).
    NO_DESTROY: Final = 1
    NO_QUERY: Final = 2
    NO_CHANGE_LIMITS: Final = 4
    # Answers.
    NO_SPACE: Final = (
        1  #: create: no space (could_not_allocate, sbc.ck:1449-1463); CreateBank (868)
    )
    OVER_LIMIT: Final = 4  #: create: this bank's or an ancestor's limit reached (sbc.ck:1483)
    NOT_GUARDED: Final = 1  #: destroy, sever: not a key this bank sold (sbc.ck:1623, 1736)
    NO_LIMIT_RIGHT: Final = 3  #: change limits through a key without the right (sbc.ck:620)
    UNDERFLOW: Final = (
        1  #: change limit: the limit would go below 0 (change_limit, sbc.ck:2356-2390)
    )
    OVERFLOW: Final = 2  #: change limit: the limit would pass 2**32 (small) or 2**48
    NOT_A_BANK: Final = 0xFFFFFFFF  #: VerifyBank, SBT Verify: not a bank (sbc.ck:846, 892)
    LIMIT: Final = 0xFFFFFFFF  #: a new bank's limits (sbc.ck:513-516, 1207-1212)


class SBT:
    """Space bank transformer (Dom/include/sbt.h; sbc.ck's databyte 1)."""

    Verify: Final = 0  #: 0 for a bank, -1 otherwise (sbc.ck:888-899)
    CreateSubrange: Final = 1  #: range limits: not implemented (KT+2)
    Create: Final = 2  #: a sub-bank of the bank passed (sbc.ck:923-930)
    CreateLimited: Final = 5  #: … with node and page limits, 4 bytes each (sbc.ck:931-951)
    AKT: Final = 0x40C  # sbt.h:22, sbc.ck:881
    NOT_A_BANK: Final = 3  #: Create*: the key passed is not a bank (sbc.ck:1295)


class Trap:
    """Trap codes set in root slot 5 (370 program-interrupt style, simulator table)."""

    SVC: Final = 0x100  #: a program's explicit trap (system call), + code
    ILLEGAL: Final = 0x201  #: no runnable program image at address 0
    EXCEPTION: Final = 0x202  #: the program raised a Python exception
    BADKEY: Final = 0x203  #: named a key it does not hold
    BADJUMP: Final = 0x204  #: malformed jump (too many keys, string too long, bad order)
    SELFCALL: Final = 0x300  #: jump to itself through a start key while busy
    MEMORY: Final = 0x400  #: + fault code: memory fault no segment keeper handled


class Keeper:
    """Order codes of the calls the kernel makes to segment and meter keepers.

    Both are the simulator's (docs/fidelity.md): a segment keeper gets the
    fault code and address in its string, a meter keeper the tick count.
    """

    Segment: Final = 0xFFFFFFFF
    Meter: Final = 0xFFFFFFFF


class Fault:
    """Address-translation fault codes (MAN m/28; ``Base/memoryc.c``, ``searchportion``
    and ``checkmkey``)."""

    READONLY: Final = 1  #: memoryc.c:308-312: a write below a read-only key or window
    INVALID: Final = 2  #: memoryc.c:301-304: a key of another type in the tree
    OUTSIDE: Final = 3  #: memoryc.c:448-450, 541-543: past a node's initial slots, or a page
    DATA: Final = 5  #: memoryc.c:219-222, 236-240, 272-276: a data key (an empty slot), a dead key
    DEPTH: Final = 6  #: memoryc.c:398: the tree is too deep
    FORMAT_TYPE: Final = 7  #: memoryc.c:405-407: a red node's slot 15 is not a data key
    FORMAT: Final = 8  #: memoryc.c:411-413: bad format key bits
    LSS: Final = 9  #: memoryc.c:434-436: a slot size (lss) outside 3..12
    WINDOW_OFFSET: Final = 10  #: memoryc.c:494-496: a window's offset is not a multiple of the slot
    NO_BACKGROUND: Final = 13  #: memoryc.c:503-506: a background window with no background key
    WINDOW_RANGE: Final = 14  #: memoryc.c:479-483: a window's offset is 256**6 or more


class Systimer:
    """The system timer (Base/jmiscc.c:613-642 ``systimermisckey``; the names are
    Dom/include/primekeys.h's ``Systimer_*``). Its time is the kernel's logical clock,
    in ticks (docs/fidelity.md, Other misc keys)."""

    ReadSystemTime: Final = 7  #: jmiscc.c:615: rc 0, the time in 8 bytes
    ReadIdleTime: Final = 8  #: jmiscc.c:626: rc 0, the idle time in 8 bytes
    AKT: Final = 0x509  #: jmiscc.c:638


class Calclock:
    """The calendar clock (Base/jmiscc.c:643-644 ``calclockmisckey``, handled by
    ``jcalclock``, Base/sparc_time.c:238-278; ``Calclock_AKT``, Dom/include/primekeys.h)."""

    Read: Final = 8  #: sparc_time.c:246: rc 0, 8 BCD bytes: century, year, month, day, weekday,
    #: hour, minute, second (``struct CalClock``, Base/timemdh.h)
    Set: Final = 9  #: sparc_time.c:255-257: "not implemented yet", answers KT+2
    ReadWithSystemTime: Final = 10  #: sparc_time.c:260: rc 0, the 8 bytes, then the system time
    AKT: Final = 0x609  #: sparc_time.c:272
