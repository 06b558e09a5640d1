"""Order and return codes by name, from the KeyKOS C release (KEYKOS.md §2–§4).

Plain integers always work; these names only make calls readable.

>>> KT, KT + 1 == RC.DATAKEY, SB.CreatePage, Node.Swap + 3
(2147483648, True, 16, 19)
"""

from __future__ import annotations

KT = 0x80000000
DESTROY = KT + 4


class RC:
    """Return codes (ocrc.h)."""

    OK = 0
    DATAKEY = KT + 1     #: a data key, or a dead key, was invoked
    INVALIDOC = KT + 2   #: order code not recognised
    BADSTRING = KT + 3   #: string format wrong
    NOT_MINE = 0xFFFFFFFF  #: "-1": identify failed


class Page:
    MakeReadOnlyKey = 0
    Clear = 39
    TestForZeroes = 41
    WriteData = 4096     #: + offset
    ReadData = 8192      #: + offset; simulator extension (README, Fidelity)
    AKT = 0x202
    ROAKT = 0x1202


class Node:
    Fetch = 0            #: + slot
    Swap = 16            #: + slot
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


class Segment:
    MakeReadOnly = 0
    AKT = 5


class Meter:
    AKT = 6


class Domain:
    Get = 0              #: + special slot (1 meter, 2 keeper, 3 memory, 10, 11, 13)
    GetMeter = 1
    GetKeeper = 2
    GetMemory = 3
    GetKey = 16          #: + key register
    Swap = 32            #: + special slot
    SwapMeter = 33
    SwapKeeper = 34
    SwapMemory = 35
    SwapKey = 48         #: + key register
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


class Discrim:
    Type = 0
    Discreet = 1
    Compare = 2
    AKT = 0x409


class DKC:
    Create6 = 0
    Create11 = 1
    AKT = 0x309


class KeyBits:
    Get = 0


class DomTool:
    MakeDomainKey = 0
    IdentifyStart = 1
    IdentifyResume = 2
    IdentifyDomain = 3
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

    SVC = 0x100          #: a program's explicit trap (system call), + code
    ILLEGAL = 0x201      #: no runnable program image at address 0
    EXCEPTION = 0x202    #: the program raised a Python exception
    BADKEY = 0x203       #: named a key it does not hold
    BADJUMP = 0x204      #: malformed jump (too many keys, string too long, bad order)
    SELFCALL = 0x300     #: jump to itself through a start key while busy
    MEMORY = 0x400       #: + fault code: memory fault no segment keeper handled


class Fault:
    """Address-translation fault codes (MAN m/28, memoryc.c)."""

    READONLY = 1
    INVALID = 2
    OUTSIDE = 3
    DEPTH = 6
    FORMAT_TYPE = 7
    FORMAT = 8
    LSS = 9
