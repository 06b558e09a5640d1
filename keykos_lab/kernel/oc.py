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
    """Space bank orders and answers (Dom/include/sb.h, Dom/primordial/sbc.ck).

    Every order the bank implements (``programs/primordial/spacebank.py``); the
    page orders are the node orders + 16. Codes the simulator does not implement
    (12 and 28, range limits) answer KT+2 (docs/fidelity.md, System programs).
    """

    CreateNode = 0  # sb.h:61, sbc.ck:548
    DestroyNode = 1  # sb.h:62, sbc.ck:553
    SeverNode = 2  # sb.h:63, sbc.ck:557
    QueryNodeSpace = 5  #: 4 bytes: nodes available (sbc.ck:562-569)
    QueryNodeStatistics = 6  #: 4 + 4 bytes: creates, destroys (sbc.ck:571-578)
    CreateTwoNodes = 7  # sb.h:66, sbc.ck:580
    CreateThreeNodes = 8  # sb.h:67, sbc.ck:589
    DestroyTwoNodes = 9  #: rc = rc1 + 2*rc2 (sbc.ck:605-609)
    DestroyThreeNodes = 10  #: rc = rc1 + 2*rc2 + 4*rc3 (sbc.ck:610-617)
    ChangeSmallNodeLimit = 11  #: signed 4-byte change; answers the 4-byte limit (sbc.ck:618)
    SetNodeRangeLimit = 12  #: range limits: not implemented (KT+2)
    ChangeNodeLimit = 13  #: signed 8-byte change; answers the 8-byte limit (sbc.ck:645)
    QueryNodesAvailable = 14  #: 8 bytes: nodes available (sbc.ck:656-664)
    CreatePage = 16  # sb.h:74, sbc.ck:666
    DestroyPage = 17  # sb.h:75, sbc.ck:671
    SeverPage = 18  # sb.h:76, sbc.ck:675
    QueryPageSpace = 21  # sb.h:77, sbc.ck:680
    QueryPageStatistics = 22  # sb.h:78, sbc.ck:689
    CreateTwoPages = 23  # sb.h:79, sbc.ck:698
    CreateThreePages = 24  # sb.h:80, sbc.ck:707
    DestroyTwoPages = 25  # sb.h:81, sbc.ck:723
    DestroyThreePages = 26  # sb.h:82, sbc.ck:728
    ChangeSmallPageLimit = 27  #: signed 4-byte change (sbc.ck:736)
    SetPageRangeLimit = 28  #: range limits: not implemented (KT+2)
    ChangePageLimit = 29  #: signed 8-byte change (sbc.ck:763)
    QueryPagesAvailable = 30  # sb.h:86, sbc.ck:774
    Forbid = 32  #: + rights bits 1..7 (sb.h:88-94): a weaker key
    ForbidDestroy = 33  # sb.h:88, sbc.ck:784
    ForbidQuery = 34  # sb.h:89, sbc.ck:787
    ForbidDestroyAndQuery = 35  # sb.h:90, sbc.ck:791
    ForbidChangeLimits = 36  # sb.h:91, sbc.ck:795
    ForbidDestroyAndChangeLimits = 37  # sb.h:92, sbc.ck:799
    ForbidQueryAndChangeLimits = 38  # sb.h:93, sbc.ck:803
    ForbidDestroyQueryAndChangeLimits = 39  # sb.h:94, sbc.ck:807
    DestroyBankAndSpace = 64  # sb.h:96, sbc.ck:812 (and KT+4, sbc.ck:533)
    QueryStatistics = 65  #: 4 x 8 bytes: node creates, destroys, page … (sbc.ck:820)
    VerifyBank = 66  # sb.h:98, sbc.ck:840
    CreateBank = 67  # sb.h:99, sbc.ck:856
    AKT = 0x0C  # sb.h:59, sbc.ck:533
    # Rights bits of a bank key, as Forbid adds them (sb.h:88-94).
    NO_DESTROY, NO_QUERY, NO_CHANGE_LIMITS = 1, 2, 4
    # Answers.
    NO_SPACE = 1  #: create: no space (could_not_allocate, sbc.ck:1449-1463); CreateBank (868)
    OVER_LIMIT = 4  #: create: this bank's or an ancestor's limit reached (sbc.ck:1483)
    NOT_GUARDED = 1  #: destroy, sever: not a key this bank sold (sbc.ck:1623, 1736)
    NO_LIMIT_RIGHT = 3  #: change limits through a key without the right (sbc.ck:620)
    UNDERFLOW = 1  #: change limit: the limit would go below 0 (change_limit, sbc.ck:2356-2390)
    OVERFLOW = 2  #: change limit: the limit would pass 2**32 (small) or 2**48
    NOT_A_BANK = 0xFFFFFFFF  #: VerifyBank, SBT Verify: not a bank (sbc.ck:846, 892)
    LIMIT = 0xFFFFFFFF  #: a new bank's limits (sbc.ck:513-516, 1207-1212)


class SBT:
    """Space bank transformer (Dom/include/sbt.h; sbc.ck's databyte 1)."""

    Verify = 0  #: 0 for a bank, -1 otherwise (sbc.ck:888-899)
    CreateSubrange = 1  #: range limits: not implemented (KT+2)
    Create = 2  #: a sub-bank of the bank passed (sbc.ck:923-930)
    CreateLimited = 5  #: … with node and page limits, 4 bytes each (sbc.ck:931-951)
    AKT = 0x40C  # sbt.h:22, sbc.ck:881
    NOT_A_BANK = 3  #: Create*: the key passed is not a bank (sbc.ck:1295)


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
    """Address-translation fault codes (MAN m/28; ``Base/memoryc.c``, ``searchportion``
    and ``checkmkey``)."""

    READONLY = 1  #: memoryc.c:308-312: a write below a read-only key or window
    INVALID = 2  #: memoryc.c:301-304: a key of another type in the tree
    OUTSIDE = 3  #: memoryc.c:448-450, 541-543: past a node's initial slots, or a page
    DATA = 5  #: memoryc.c:219-222, 236-240, 272-276: a data key (an empty slot), a dead key
    DEPTH = 6  #: memoryc.c:398: the tree is too deep
    FORMAT_TYPE = 7  #: memoryc.c:405-407: a red node's slot 15 is not a data key
    FORMAT = 8  #: memoryc.c:411-413: bad format key bits
    LSS = 9  #: memoryc.c:434-436: a slot size (lss) outside 3..12
    WINDOW_OFFSET = 10  #: memoryc.c:494-496: a window's offset is not a multiple of the slot
    NO_BACKGROUND = 13  #: memoryc.c:503-506: a background window with no background key
    WINDOW_RANGE = 14  #: memoryc.c:479-483: a window's offset is 256**6 or more


class Systimer:
    """The system timer (Base/jmiscc.c:613-642 ``systimermisckey``; the names are
    Dom/include/primekeys.h's ``Systimer_*``). Its time is the kernel's logical clock,
    in ticks (docs/fidelity.md, Other misc keys)."""

    ReadSystemTime = 7  #: jmiscc.c:615: rc 0, the time in 8 bytes
    ReadIdleTime = 8  #: jmiscc.c:626: rc 0, the idle time in 8 bytes
    AKT = 0x509  #: jmiscc.c:638


class Calclock:
    """The calendar clock (Base/jmiscc.c:643-644 ``calclockmisckey``, handled by
    ``jcalclock``, Base/sparc_time.c:238-278; ``Calclock_AKT``, Dom/include/primekeys.h)."""

    Read = 8  #: sparc_time.c:246: rc 0, 8 BCD bytes: century, year, month, day, weekday,
    #: hour, minute, second (``struct CalClock``, Base/timemdh.h)
    Set = 9  #: sparc_time.c:255-257: "not implemented yet", answers KT+2
    ReadWithSystemTime = 10  #: sparc_time.c:260: rc 0, the 8 bytes, then the system time
    AKT = 0x609  #: sparc_time.c:272
