"""The registers of a process's keeper, as the system domain sets them up and the
keeper reads them (:mod:`.keeper`, :func:`.server.new_process`).

>>> KK_SYS, KK_DOM, PARENT
(0, 1, 64)
"""

from __future__ import annotations

# Keeper key registers.
KK_SYS, KK_DOM, KK_BANK, KK_FDS, KK_MEM, KK_FAULT, KK_KIDS, KK_FORMAT = range(8)
KK_METER, KK_DC, KK_SELF, KK_THREADS = 8, 9, 10, 11
#: The bank of the process's memory layer (:mod:`.layers`): its address space is bought there.
KK_LAYER = 12
#: Data registers: the pid, the thread id of the trap being served (its databyte, as
#: ``ukeeperf.c:940`` keeps it), then the pids of embryo children (KIDS slot i: R_KIDS + i).
R_PID, R_TID, R_KIDS = 0, 1, 2
MAX_KIDS = 14
PARENT = 0x40  #: the facet of an embryo's keeper its parent's keeper holds
