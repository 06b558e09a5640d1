"""The C release's orders, key type by key type: what ``tests/conformance/`` is checked against.

Each :class:`Order` is one order code (or a run of codes the C handler treats alike, such
as ``Node_Fetch + n``) of one key type, with the lines of the C release that answer it.
A conformance test belongs to an order when a ``file:line`` its docstring cites falls in
one of the order's ranges (:mod:`tests.conformance.table`), so a new test module is
picked up as soon as its tests cite the lines they check. ``tests`` names, by regular
expression over ``module::test``, the few tests that cite no line (the simulator's own
form of an order); ``declared`` names the row of docs/fidelity.md that says why an order
has no test (it is not simulated). Rows marked ``extra`` are not orders of the C release
but behaviours the tests check on the way (the simulator's extensions).

The line numbers are those of the ``void4/KeyKOS`` tree; ``python -m
tests.conformance.table --check-mirror`` checks every range against a local mirror, and
that every order code the C headers define for these key types has a row.

>>> ORDERS[0].key_type, ORDERS[0].ranges[0].file
('data key', 'jdatac.c')
>>> len({o.key_type for o in ORDERS}) == len(KEY_TYPES)
True
"""

from __future__ import annotations

from typing import NamedTuple


class Lines(NamedTuple):
    """``file:first-last`` in the C release (file named as the tests cite it)."""

    file: str
    first: int
    last: int


class Order(NamedTuple):
    """One order code (or run of codes) of one key type."""

    key_type: str
    code: str
    name: str
    ranges: tuple[Lines, ...]
    tests: tuple[str, ...] = ()
    declared: str = ""
    extra: bool = False


#: Key type -> (group, C files, the header that names its orders).
KEY_TYPES: dict[str, tuple[str, str, str]] = {
    "data key": ("kernel", "Base/jdatac.c", ""),
    "hook": ("kernel", "Base/jdatac.c", ""),
    "page": ("kernel", "Base/jpagec.c", "page.h"),
    "node": ("kernel", "Base/jnodec.c", "node.h"),
    "fetch": ("kernel", "Base/jnodec.c", "node.h"),
    "sense": ("kernel", "Base/jsensec.c", "node.h"),
    "segment": ("kernel", "Base/jsegmntc.c", ""),
    "frontend": ("kernel", "Base/jsegmntc.c", ""),
    "meter": ("kernel", "Base/jmeterc.c", ""),
    "domain": ("kernel", "Base/jdomainc.c, Base/sparc_jdomain.c", "domain.h"),
    "start key": ("kernel", "Base/jresumec.c", ""),
    "resume key": ("kernel", "Base/jresumec.c, Base/gatec.c", ""),
    "Returner": ("kernel", "Base/jmiscc.c", ""),
    "domain tool": ("kernel", "Base/jmiscc.c", "domtool.h"),
    "KeyBits": ("kernel", "Base/jmiscc.c", ""),
    "DKC": ("kernel", "Base/jmiscc.c", ""),
    "Discrim": ("kernel", "Base/jmiscc.c", "discrim.h"),
    "other misc keys": ("kernel", "Base/jmiscc.c", ""),
    "system timer": ("kernel", "Base/jmiscc.c", ""),
    "calendar clock": ("kernel", "Base/sparc_time.c", ""),
    "node range": ("kernel", "Base/jnrangec.c", ""),
    "page range": ("kernel", "Base/jprangec.c", ""),
    "space bank": ("system programs", "Dom/primordial/sbc.ck", "sb.h"),
    "SBT": ("system programs", "Dom/primordial/sbc.ck", "sbt.h"),
    "DCC": ("system programs", "Dom/primordial/dccc.ck", "dcc.h"),
    "DC": ("system programs", "Dom/primordial/dccc.ck", "dc.h"),
    "KIDC": ("system programs", "Dom/fundamental/kidc.ck", "kid.h"),
    "KID": ("system programs", "Dom/fundamental/kidc.ck", "kid.h"),
    "FCC": ("system programs", "Dom/fundamental/fcc.ck", "factory.h"),
    "FC": ("system programs", "Dom/fundamental/fcc.ck", "factory.h"),
    "factory builder": ("system programs", "Dom/fundamental/fcc.ck", "factory.h"),
    "factory requestor": ("system programs", "Dom/fundamental/fcc.ck", "factory.h"),
    "factory fetcher": ("system programs", "Dom/fundamental/fcc.ck", "factory.h"),
    "factory copy": ("system programs", "Dom/fundamental/fcc.ck", "factory.h"),
    "VCSF": ("system programs", "Dom/fundamental/vcsf.ck", "vcs.h"),
    "VCS": ("system programs", "Dom/fundamental/vcsf.ck", "vcs.h"),
}

OTHER = "any other"
MISC_NOT_YET = "Other misc keys"
BANK_NOT_YET = "Bank range limits"
DOMAIN_FORM = "Domain orders 68–71, 75; ReplaceMemory's string"
RANGE_FORM = "Range keys and object ids"
VCS_NOT_YET = "Virtual copy segment"


def _o(kt, code, name, *spans, tests=(), declared="", extra=False):
    """An :class:`Order`; each span is ``"file.c:first-last"`` or ``"file.c:line"``."""
    ranges = []
    for span in spans:
        file, _, lines = span.partition(":")
        first, _, last = lines.partition("-")
        ranges.append(Lines(file, int(first), int(last or first)))
    return Order(kt, code, name, tuple(ranges), tuple(tests), declared, extra)


def _misc(kt, where, *orders):
    return [_o(kt, c, n, f"{where}:{s}", declared=MISC_NOT_YET) for c, n, s in orders]


ORDERS: tuple[Order, ...] = (
    # ------------------------------------------------------------------ kernel
    _o("data key", "any", "answer KT+1 and the value", "jdatac.c:17-29"),
    _o("hook", "any", "answer as DK(0) or DK(1)", "jdatac.c:33"),
    _o("page", "0", "MakeReadOnlyKey", "jpagec.c:143-148"),
    _o("page", "39", "Clear", "jpagec.c:151-187"),
    _o("page", "41", "TestForZeroes", "jpagec.c:190-208"),
    _o("page", "4096+n", "WriteData", "jpagec.c:210-240"),
    _o("page", "KT", "alleged type", "jpagec.c:242-244"),
    _o("page", OTHER, "KT+2", "jpagec.c:246"),
    _o("page", "8192+n", "ReadData", tests=(r"test_page::test_read_data",), extra=True),
    _o("node", "0+n", "Fetch", "jnodec.c:100-121"),
    _o("node", "16+n", "Swap", "jnodec.c:122-199"),
    _o("node", "32", "MakeFetchKey", "jnodec.c:283-291"),
    _o("node", "33", "MakeSegmentKey", "jnodec.c:292-300"),
    _o("node", "34", "MakeMeterKey", "jnodec.c:310-318"),
    _o("node", "35", "MakeNodeKey", "jnodec.c:319-327"),
    _o("node", "36", "MakeSenseKey", "jnodec.c:328-336"),
    _o("node", "37", "MakeFrontendKey", "jnodec.c:301-309"),
    _o("node", "38", "Compare", "jnodec.c:225-245"),
    _o("node", "39", "Clear", "jnodec.c:246-278"),
    _o("node", "40", "DataByte", "jnodec.c:279-281"),
    _o("node", "45", "WriteData", "jnodec.c:337-419"),
    _o("node", "KT", "alleged type", "jnodec.c:421"),
    _o("node", OTHER, "KT+2", "jnodec.c:422"),
    _o("fetch", "0+n", "Fetch", "jnodec.c:206-207"),
    _o("fetch", "40", "DataByte", "jnodec.c:208-210"),
    _o("fetch", "KT", "alleged type", "jnodec.c:212"),
    _o("fetch", OTHER, "KT+2", "jnodec.c:213"),
    _o("sense", "0+n", "Fetch (sensory)", "jsensec.c:17-67"),
    _o("sense", "40", "DataByte", "jsensec.c:95-97"),
    _o("sense", "KT", "alleged type", "jsensec.c:99"),
    _o("sense", OTHER, "KT+2", "jsensec.c:100"),
    _o("segment", "0", "MakeReadOnly (black)", "jsegmntc.c:391-397"),
    _o("segment", "KT", "alleged type (black)", "jsegmntc.c:399-403"),
    _o("segment", OTHER, "KT+2 (black)", "jsegmntc.c:405"),
    _o("segment", "any", "black or red: the format key", "jsegmntc.c:33-50"),
    _o("segment", "any", "red: to the keeper slot's key", "jsegmntc.c:346-388"),
    _o("frontend", "any", "to the keeper, a start key", "jsegmntc.c:201-268"),
    _o("frontend", "any", "a chain of frontend keepers", "jsegmntc.c:158-200"),
    _o("meter", "KT", "alleged type", "jmeterc.c:14"),
    _o("meter", OTHER, "KT+2", "jmeterc.c:15"),
    _o("domain", "0+n", "Get (1, 2, 3, 10, 11)", "jdomainc.c:207-214"),
    _o("domain", "16+n", "GetKey", "jdomainc.c:36-64"),
    _o("domain", "32+n", "Swap (1, 2, 10, 11)", "jdomainc.c:217-223"),
    _o("domain", "35", "SwapMemory", "sparc_jdomain.c:57-79"),
    _o("domain", "48+n", "SwapKey", "jdomainc.c:67-95"),
    _o("domain", "64", "MakeStart", "jdomainc.c:226-235"),
    _o("domain", "65", "MakeAvailable", "jdomainc.c:98-127"),
    _o("domain", "66", "MakeFaultKey", "jdomainc.c:130-153"),
    _o("domain", "67", "MakeBusy", "jdomainc.c:156-180"),
    _o("domain", "68", "GetControl", tests=(r"test_domain::test_control_and_reg",)),
    _o("domain", "69", "PutControl", tests=(r"test_domain::test_control_and_reg",)),
    _o("domain", "70", "GetRegs", tests=(r"test_domain::test_control_and_reg",)),
    _o("domain", "71", "PutRegs", tests=(r"test_domain::test_control_and_reg",)),
    _o("domain", "73", "MakeReturnKey", "jdomainc.c:183-204"),
    _o("domain", "74", "ReplaceMemory", "sparc_jdomain.c:81-112"),
    _o("domain", "75", "PutStuff", tests=(r"test_domain::test_put_stuff",)),
    _o("domain", "80", "Compare", "jdomainc.c:237-255"),
    _o("domain", "150–161", "88K register orders", declared=DOMAIN_FORM),
    _o(
        "domain",
        "201–213",
        "SPARC register orders",
        "sparc_jdomain.c:122-570",
        declared=DOMAIN_FORM,
    ),
    _o("domain", "KT", "alleged type", "jdomainc.c:257"),
    _o("domain", OTHER, "KT+2", "sparc_jdomain.c:572"),
    _o("start key", "any", "CALL, RETURN, FORK: the message goes", "jresumec.c:228-297"),
    _o(
        "start key",
        "any",
        "FORK: the jumpee runs, the forker queues",
        "jresumec.c:304-311",
        tests=("test_console_fork",),
    ),
    _o("start key", "any", "to a busy domain: stall", "jresumec.c:199-227"),
    _o("start key", "any", "to itself: trap 0x300", "jresumec.c:96-101"),
    _o("start key", "any", "to a malformed domain", "jresumec.c:123-143"),
    _o("start key", "any", "a CALL's fourth key", "jresumec.c:298-303"),
    _o(
        "resume key",
        "any",
        "return key: deliver, void the others",
        "jresumec.c:161-191",
        "jresumec.c:193-198",
    ),
    _o("resume key", "any", "restart key: no message", "jresumec.c:61-71", tests=("test_restart",)),
    _o("resume key", "any", "fault key: order 0 resumes, else trap", "gatec.c:268-275"),
    _o("Returner", "any", "CALL: the keys, order and string back", "jmiscc.c:211-216"),
    _o("Returner", "any", "RETURN, FORK: to key 4", "jmiscc.c:218-233"),
    _o("Returner", "any", "no resume key as key 4", "jmiscc.c:236-238"),
    _o("domain tool", "0", "MakeDomainKey", "jmiscc.c:245-262"),
    *(
        _o("domain tool", str(c), n, f"jmiscc.c:{s}", "jmiscc.c:116-160")
        for c, n, s in (
            (1, "IdentifyStart", "263-266"),
            (2, "IdentifyResume", "267-270"),
            (3, "IdentifyDomain", "271-274"),
        )
    ),
    *(
        _o("domain tool", str(c), n, f"jmiscc.c:{s}", "jmiscc.c:34-113")
        for c, n, s in (
            (5, "IdentifySegment", "275-283"),
            (6, "IdentifySegmentWithResumeKeyKeeper", "284-292"),
            (7, "IdentifySegmentWithDomainKeyKeeper", "293-299"),
            (9, "IdentifyMeter", "300-303"),
            (10, "IdentifyMeterWithResumeKeyKeeper", "304-307"),
            (11, "IdentifyMeterWithDomainKeyKeeper", "308-311"),
        )
    ),
    _o("domain tool", "KT", "alleged type", "jmiscc.c:313"),
    _o("domain tool", OTHER, "KT+2", "jmiscc.c:314"),
    _o("KeyBits", "0", "the key's bits", "jmiscc.c:319-329"),
    _o("KeyBits", OTHER, "KT+2 (KT too)", "jmiscc.c:330"),
    _o("DKC", "0", "Create6", "jmiscc.c:335-342"),
    _o("DKC", "1", "Create11", "jmiscc.c:344-353"),
    _o("DKC", "KT", "alleged type", "jmiscc.c:356"),
    _o("DKC", OTHER, "KT+2", "jmiscc.c:357"),
    _o("Discrim", "0", "Type", "jmiscc.c:365-398"),
    _o("Discrim", "1", "Discreet", "jmiscc.c:400-414"),
    _o("Discrim", "2", "Compare", "jmiscc.c:416-430"),
    _o("Discrim", "KT", "alleged type", "jmiscc.c:433"),
    _o("Discrim", OTHER, "KT+2", "jmiscc.c:434"),
    _o("other misc keys", "any", "a misc key not implemented: KT+2", "jmiscc.c:650-653"),
    *_misc(
        "other misc keys",
        "jmiscc.c",
        ("any", "bwait key", "438-440"),
        ("any", "take-checkpoint key", "442-444"),
        ("any", "resync tool", "446-448"),
        ("any", "error key", "450-492"),
        ("1, 2, 3+", "peek key", "494-570"),
        ("0–2", "Fpeek, Fpoke keys", "572-594"),
        ("any", "migrate key", "605-607"),
        ("any", "dat2inst key", "646-647"),
        ("any", "copy key", "648-649"),
    ),
    *_misc(
        "system timer",
        "jmiscc.c",
        ("7", "system time", "615-625"),
        ("8", "idle time", "626-636"),
        ("KT", "alleged type", "637-639"),
        (OTHER, "KT+2", "640"),
    ),
    *_misc(
        "calendar clock",
        "sparc_time.c",
        ("8", "read the clock", "246-254"),
        ("9", "set the clock (KT+2 there too)", "255-259"),
        ("10", "calendar time and system time", "260-270"),
        ("KT", "alleged type", "271-273"),
        (OTHER, "KT+2", "274-276"),
    ),
    _o("node range", "0, 5, 9", "create a node", "jnrangec.c:260-336", declared=RANGE_FORM),
    _o("node range", "1", "Get CDA", "jnrangec.c:337-346", declared=RANGE_FORM),
    _o("node range", "2", "Sever", "jnrangec.c:347-351", declared=RANGE_FORM),
    _o("node range", "3, 4", "gratis, non-gratis", "jnrangec.c:352-361", declared=RANGE_FORM),
    _o("node range", "8", "sever and clear", "jnrangec.c:362-447", declared=RANGE_FORM),
    _o("node range", "any", "a key the range does not cover: -1", "jnrangec.c:48-126"),
    _o("node range", "KT", "alleged type", "jnrangec.c:448"),
    _o("node range", OTHER, "KT+2", "jnrangec.c:449"),
    _o("page range", "0, 5, 9", "create a page", "jprangec.c:233-305", declared=RANGE_FORM),
    _o("page range", "1", "Get CDA", "jprangec.c:306-320", declared=RANGE_FORM),
    _o("page range", "2", "Sever", "jprangec.c:321-341", declared=RANGE_FORM),
    _o("page range", "3, 4", "gratis, non-gratis", "jprangec.c:342-399", declared=RANGE_FORM),
    _o("page range", "42", "diskless kernel only", "jprangec.c:196-225", declared=RANGE_FORM),
    _o("page range", "any", "a key the range does not cover: -1", "jprangec.c:48-67"),
    _o("page range", "KT", "alleged type", "jprangec.c:409"),
    _o("page range", OTHER, "KT+2", "jprangec.c:410"),
    # --------------------------------------------------------- system programs
    _o("space bank", "KT", "alleged type", "sbc.ck:532-535"),
    _o("space bank", "KT+4", "destroy the bank", "sbc.ck:536-544"),
    *(
        _o("space bank", str(c), n, f"sbc.ck:{s}", declared=BANK_NOT_YET if c in (12, 28) else "")
        for c, n, s in (
            (0, "CreateNode", "548-552"),
            (1, "DestroyNode", "553-556"),
            (2, "SeverNode", "557-561"),
            (5, "QueryNodeSpace", "562-570"),
            (6, "QueryNodeStatistics", "571-579"),
            (7, "CreateTwoNodes", "580-588"),
            (8, "CreateThreeNodes", "589-604"),
            (9, "DestroyTwoNodes", "605-609"),
            (10, "DestroyThreeNodes", "610-617"),
            (11, "ChangeSmallNodeLimit", "618-631"),
            (12, "SetNodeRangeLimit", "632-644"),
            (13, "ChangeNodeLimit", "645-655"),
            (14, "QueryNodesAvailable", "656-665"),
            (16, "CreatePage", "666-670"),
            (17, "DestroyPage", "671-674"),
            (18, "SeverPage", "675-679"),
            (21, "QueryPageSpace", "680-688"),
            (22, "QueryPageStatistics", "689-697"),
            (23, "CreateTwoPages", "698-706"),
            (24, "CreateThreePages", "707-722"),
            (25, "DestroyTwoPages", "723-727"),
            (26, "DestroyThreePages", "728-735"),
            (27, "ChangeSmallPageLimit", "736-749"),
            (28, "SetPageRangeLimit", "750-762"),
            (29, "ChangePageLimit", "763-773"),
            (30, "QueryPagesAvailable", "774-783"),
            (33, "ForbidDestroy", "784-786"),
            (34, "ForbidQuery", "787-790"),
            (35, "ForbidDestroyAndQuery", "791-794"),
            (36, "ForbidChangeLimits", "795-798"),
            (37, "ForbidDestroyAndChangeLimits", "799-802"),
            (38, "ForbidQueryAndChangeLimits", "803-806"),
            (39, "ForbidDestroyQueryAndChangeLimits", "807-811"),
            (64, "DestroyBankAndSpace", "812-819"),
            (65, "QueryStatistics", "820-839"),
            (66, "VerifyBank", "840-855"),
            (67, "CreateBank", "856-869"),
        )
    ),
    _o("space bank", OTHER, "KT+2", "sbc.ck:870-874"),
    _o("SBT", "KT", "alleged type", "sbc.ck:879-885"),
    _o("SBT", "0", "Verify", "sbc.ck:888-900"),
    _o("SBT", "1", "CreateSubrange", "sbc.ck:901-922", declared=BANK_NOT_YET),
    _o("SBT", "2", "Create", "sbc.ck:923-930", declared=BANK_NOT_YET),
    _o("SBT", "5", "CreateLimited", "sbc.ck:931-952", declared=BANK_NOT_YET),
    _o("DCC", "KT", "alleged type", "dccc.ck:84-87"),
    _o("DCC", "1", "Identify", "dccc.ck:89-93"),
    _o("DCC", "0", "Create", "dccc.ck:95-119"),
    _o("DC", "KT", "alleged type", "dccc.ck:140-143"),
    _o("DC", "KT+4", "destroy the DC", "dccc.ck:145-149"),
    _o("DC", "0x40000000+rc", "old DestroyMe", "dccc.ck:150-159"),
    *(
        _o("DC", str(c), n, f"dccc.ck:{s}")
        for c, n, s in (
            (0, "old CreateDomain", "162-166"),
            (1, "DestroyDomain", "167-172"),
            (2, "IdentifyStart", "173-180"),
            (3, "IdentifyResume", "181-188"),
            (4, "old DestroyMe", "189-192"),
            (5, "IdentifySegment", "193-196"),
            (6, "IdentifySegmentWithResumeKeyKeeper", "197-201"),
            (7, "IdentifySegmentWithDomainKeyKeeper", "202-206"),
            (8, "DestroyMe", "207-213"),
            (9, "IdentifyMeter", "214-217"),
            (10, "IdentifyMeterWithResumeKeyKeeper", "218-222"),
            (11, "IdentifyMeterWithDomainKeyKeeper", "223-227"),
            (12, "CreateDomain", "228-233"),
            (13, "Weaken", "234-238"),
            (14, "SeverDomain", "239-253"),
            (15, "SeverMe", "254-266"),
        )
    ),
    _o("DC", OTHER, "KT+2", "dccc.ck:267-269"),
    _o("KIDC", "KT", "alleged type", "kidc.ck:155-159"),
    _o("KIDC", "any but KT", "Create", "kidc.ck:160-176"),
    _o("KID", "KT", "alleged type", "kidc.ck:184-187"),
    _o("KID", "KT+4", "destroy", "kidc.ck:188-212"),
    *(
        _o("KID", str(c), n, f"kidc.ck:{s}")
        for c, n, s in (
            (1, "AddEntry", "217-220"),
            (2, "Identify", "221-225"),
            (3, "DeleteEntry", "226-228"),
            (4, "TestInclusion", "229-231"),
            (5, "PerformIntersection", "232-233"),
            (6, "MakeUnion", "234-236"),
        )
    ),
    _o("KID", OTHER, "KT+2", "kidc.ck:237-239"),
    _o("FCC", "KT", "alleged type", "fcc.ck:189"),
    _o("FCC", "0", "Create an FC", "fcc.ck:191-258"),
    _o("FCC", OTHER, "KT+2", "fcc.ck:190"),
    _o("FC", "KT+4", "destroy the FC", "fcc.ck:289-295"),
    _o("FC", "KT", "alleged type", "fcc.ck:296"),
    _o("FC", "4", "DisableFetcher", "fcc.ck:297-303"),
    _o("FC", "5", "DisableBuilder", "fcc.ck:304-310"),
    _o("FC", "6, 7", "RecallFetcher, RecallBuilder", "fcc.ck:311-331"),
    _o("FC", "0–3", "Create, CreateDC, CreateMHF, CreateDCMHF", "fcc.ck:332-470"),
    _o("factory builder", "KT", "alleged type", "fcc.ck:565-568"),
    _o("factory builder", "KT+4", "destroy the factory", "fcc.ck:569-572"),
    _o("factory builder", "0+n", "InstallSensory", "fcc.ck:573-587", "fcc.ck:733-750"),
    _o("factory builder", "32+n", "InstallFactory", "fcc.ck:588-617", "fcc.ck:753-792"),
    _o("factory builder", "128+n", "InstallHole", "fcc.ck:618-635"),
    _o("factory builder", "96+n", "GetMiscellaneous", "fcc.ck:636-652"),
    _o("factory builder", "64", "AssignKT", "fcc.ck:653-658"),
    _o("factory builder", "65", "AssignOrdinal", "fcc.ck:659-664"),
    _o("factory builder", "66", "MakeRequestor", "fcc.ck:665-674"),
    _o("factory builder", "67", "MakeCopy", "fcc.ck:675-681"),
    _o("factory builder", "69", "GetDC", "fcc.ck:682-691"),
    _o("factory requestor", "-1", "Compare", "fcc.ck:815-823"),
    _o("factory requestor", "KT", "alleged type", "fcc.ck:825-828"),
    _o("factory requestor", "n < 0xC0000000", "build a yield", "fcc.ck:832-918"),
    _o("factory requestor", "above 0xC0000000", "KT+2", "fcc.ck:830"),
    _o("factory fetcher", "KT", "alleged type", "fcc.ck:928"),
    _o("factory fetcher", "-1", "Compare", "fcc.ck:930-931"),
    _o("factory fetcher", "66", "MakeRequestor", "fcc.ck:932-933"),
    _o("factory fetcher", "0+n", "Fetch", "fcc.ck:934-939"),
    _o("factory fetcher", "96+n", "GetMiscellaneous", "fcc.ck:940-942"),
    _o("factory copy", "KT", "alleged type", "fcc.ck:966"),
    _o("factory copy", "96+n", "GetMiscellaneous", "fcc.ck:968-971"),
    _o("factory copy", "0, 1", "Copy", "fcc.ck:972-1030"),
    _o("VCSF", "0", "Create a VCS", "vcsf.ck:94-149"),
    _o("VCS", "KT", "alleged type", "vcsf.ck:156-158"),
    _o("VCS", "KT+4", "destroy", "vcsf.ck:161-176", "vcsf.ck:310"),
    _o("VCS", "KT and above", "segment fault", "vcsf.ck:178-195", "vcsf.ck:319-464"),
    _o("VCS", "0", "CreateROSegmentKey", "vcsf.ck:199-203"),
    _o("VCS", "2", "CreateNCSegmentKey", "vcsf.ck:205-209"),
    _o("VCS", "3", "CreateRONCSegmentKey", "vcsf.ck:211-215"),
    _o("VCS", "6", "ReturnBaseSegmentKey", "vcsf.ck:217-220"),
    _o("VCS", "5", "TruncateSegment", "vcsf.ck:222-238", "vcsf.ck:566-617"),
    _o("VCS", "1", "ReturnLength", "vcsf.ck:240-254"),
    _o("VCS", "17", "Freeze", "vcsf.ck:256-303", declared=VCS_NOT_YET),
    _o("VCS", OTHER, "KT+2", "vcsf.ck:305-307"),
)
