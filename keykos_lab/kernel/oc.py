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

KT = 0x80000000
DESTROY = KT + 4


class RC:
    """Return codes (ocrc.h), and the yes/no answers of test orders."""

    OK = 0
    NO = 1  #: a test's "no": Compare found them different, a page not zero …
    DATAKEY = KT + 1  #: a data key, or a dead key, was invoked
    INVALIDOC = KT + 2  #: order code not recognised
    BADSTRING = KT + 3  #: string format wrong
    NOT_MINE = 0xFFFFFFFF  #: "-1": identify failed


class Page:
    """Page key orders (page.h, Base/jpagec.c)."""

    MakeReadOnlyKey = 0
    Clear = 39
    TestForZeroes = 41
    WriteData = 4096  #: + offset
    ReadData = 8192  #: + offset; simulator extension (README, Fidelity)
    AKT = 0x202
    ROAKT = 0x1202
    NOT_ZERO = 1  #: TestForZeroes: the page holds a nonzero byte
    PAST_END = 1  #: WriteData: the string runs past the end of the page (jpagec.c:235)


class Node:
    """Node, fetch and sense key orders (node.h, Base/jnodec.c, Base/jsensec.c)."""

    Fetch = 0  #: + slot
    Swap = 16  #: + slot
    MakeFetchKey = 32
    MakeSegmentKey = 33
    MakeMeterKey = 34
    MakeNodeKey = 35
    MakeSenseKey = 36
    MakeFrontendKey = 37
    Compare = 38
    Clear = 39
    DataByte = 40
    WriteData = 45
    AKT = 3
    FetchAKT = 4
    SenseAKT = 1
    BAD_SLOT = 1  #: WriteData: the first or last slot is past 15
    NOT_ZERO_PAD = 2  #: WriteData: a slot's five leading bytes were not zero


class Segment:
    """Black segment key orders (Base/jsegmntc.c, format_black).

    A red segment key (or a frontend key) with a keeper forwards every order to
    the keeper (``jsegment``'s ``format_red``); only a black one answers these.
    """

    MakeReadOnly = 0
    AKT = 5  #: | (databyte & 15) << 8, | RO_AKT for a read-only key
    RO_AKT = 0x1000
    # The red node's format key (slot 15), as jsegmntc.c:33 check_format_key reads it.
    FORMAT_KEEPER_SHIFT = 12  #: bits 12-15: the keeper slot (15: none, the key is black)
    FORMAT_NO_PASS_NODE = 0x10000000  #: bit 28: do not pass a node key as the third key
    FORMAT_SUPERNODE = 0x40000000  #: bit 30: a kernel supernode (not simulated)
    FRONTEND_DEPTH = 20  #: jsegmntc.c:220: frontend keepers followed, at most


class Meter:
    """Meter key orders (Base/jmeterc.c): only the alleged key type."""

    AKT = 6


class Domain:
    """Domain key orders (domain.h, Base/jdomainc.c; 68-71, 74, 75 machine-dependent:
    Base/sparc_jdomain.c, and the simulator's own form, docs/fidelity.md)."""

    Get = 0  #: + special slot (1 meter, 2 keeper, 3 memory, 10, 11: jdomainc.c:207)
    GetMeter = 1
    GetKeeper = 2
    GetMemory = 3
    GetKey = 16  #: + key register
    Swap = 32  #: + special slot
    SwapMeter = 33
    SwapKeeper = 34
    SwapMemory = 35
    SwapKey = 48  #: + key register
    MakeStart = 64
    MakeAvailable = 65
    MakeFaultKey = 66
    MakeBusy = 67
    GetControl = 68
    PutControl = 69
    GetRegs = 70
    PutRegs = 71
    MakeReturnKey = 73
    ReplaceMemory = 74
    PutStuff = 75
    Compare = 80
    AKT = 7
    WAS_BUSY = 1  #: MakeAvailable, MakeBusy: the domain was not available
    MALFORMED = 2  #: the domain has no keys node or registers node


class Discrim:
    """Discrim orders (discrim.h, Base/jmiscc.c discrimmisckey)."""

    Type = 0
    Discreet = 1
    Compare = 2
    AKT = 0x409
    # Type's answers: the class of the key.
    DATA = 1  #: a data key (or a hook)
    RESUME = 2  #: a resume key
    MEMORY = 3  #: a page, segment, node or sense key
    METER = 4  #: a meter key
    OTHER = 5  #: anything else (start, domain, fetch, misc …)


class DKC:
    """Data key creator (Base/jmiscc.c datamisckey)."""

    Create6 = 0
    Create11 = 1  #: a 16-byte string is read as jmiscc.c:344 reads it (docs/fidelity.md)
    AKT = 0x309
    PAD_ZERO = 1  #: Create11, 16-byte form: the five leading bytes were zero (jmiscc.c:349)


class KeyBits:
    """KeyBits (Base/jmiscc.c keybitsmisckey): order 0 only; KT too answers KT+2."""

    Get = 0


class DomTool:
    """The domain tool (Base/jmiscc.c domtoolmisckey)."""

    MakeDomainKey = 0
    IdentifyStart = 1
    IdentifyResume = 2
    IdentifyDomain = 3
    IdentifySegmentStart = 5  #: … keeper of a segment, by its key type
    IdentifySegmentResume = 6
    IdentifySegmentDomain = 7
    IdentifyMeterStart = 9  #: … keeper of a meter, by its key type
    IdentifyMeterResume = 10
    IdentifyMeterDomain = 11
    AKT = 0x109


class Range:
    """The closely held node-range and page-range keys (simulator form)."""

    Create = 0
    Destroy = 1
    Sever = 2
    NodeAKT = 0x303
    PageAKT = 0x302


class SB:
    """Space bank (sb.h); the full bank arrives with the system programs."""

    CreateNode = 0
    DestroyNode = 1
    SeverNode = 2
    CreatePage = 16
    DestroyPage = 17
    SeverPage = 18
    AKT = 0x0C


class Trap:
    """Trap codes set in root slot 5 (370 program-interrupt style, simulator table)."""

    SVC = 0x100  #: a program's explicit trap (system call), + code
    ILLEGAL = 0x201  #: no runnable program image at address 0
    EXCEPTION = 0x202  #: the program raised a Python exception
    BADKEY = 0x203  #: named a key it does not hold
    BADJUMP = 0x204  #: malformed jump (too many keys, string too long, bad order)
    SELFCALL = 0x300  #: jump to itself through a start key while busy
    MEMORY = 0x400  #: + fault code: memory fault no segment keeper handled


class Keeper:
    """Order codes of the calls the kernel makes to segment and meter keepers.

    Both are the simulator's (docs/fidelity.md): a segment keeper gets the
    fault code and address in its string, a meter keeper the tick count.
    """

    Segment = 0xFFFFFFFF
    Meter = 0xFFFFFFFF


class Fault:
    """Address-translation fault codes (MAN m/28, memoryc.c)."""

    READONLY = 1
    INVALID = 2
    OUTSIDE = 3
    DEPTH = 6
    FORMAT_TYPE = 7
    FORMAT = 8
    LSS = 9
