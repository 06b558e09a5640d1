"""External datasets (real capability-system descriptions): find, fetch and verify them.

Three third-party datasets are used by the readers in :mod:`keykos_lab.readers`; each one's
``PROVENANCE.md`` (upstream repository, pinned commits, SHA-256 of every file) lives in
the shared folder beside the checkout, ``shared/external/<name>/``. Its file list is
embedded here as :data:`MANIFESTS` so that the data can be fetched where that folder is
absent.

:func:`external` finds a dataset's folder, in this order:

1. ``$KEYKOS_LAB_EXTERNAL/<name>`` when the environment variable is set (it then wins:
   a missing folder there is an error, not a reason to look elsewhere);
2. ``<checkout>/../shared/external/<name>`` (:data:`SHARED_EXTERNAL`);
3. the cache, ``${XDG_CACHE_HOME:-~/.cache}/keykos_lab/external/<name>``, when every file
   is there with the right checksum;
4. otherwise every missing or damaged file is downloaded into the cache from its
   upstream at the pinned commit (``raw.githubusercontent.com``), checked against its
   SHA-256 and written atomically (temporary file, then rename).

Tests (or a local mirror) redirect downloads by setting the module attribute
:data:`UPSTREAM_BASE`, which replaces the ``https://raw.githubusercontent.com`` prefix of
every URL; :data:`SHARED_EXTERNAL` may likewise be pointed elsewhere.

>>> sorted(KNOWN)
['fuchsia-cml', 'sel4-capdl', 'sel4-microkit-sdf']
>>> {name: len(manifest(name)) for name in sorted(KNOWN)}
{'fuchsia-cml': 9, 'sel4-capdl': 14, 'sel4-microkit-sdf': 41}
"""

# The embedded manifests keep one file per line; their paths and URLs are long.
# ruff: noqa: E501

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

__all__ = [
    "KNOWN",
    "MANIFESTS",
    "RAW_GITHUB",
    "SHARED_EXTERNAL",
    "UPSTREAM_BASE",
    "DatasetError",
    "cache_dir",
    "external",
    "manifest",
    "parse_provenance",
    "verify",
]


class DatasetError(RuntimeError):
    """An external dataset cannot be found, downloaded or verified."""


#: Environment variable naming a folder that holds ``<name>/`` dataset folders.
ENV_VAR = "KEYKOS_LAB_EXTERNAL"

#: The shared folder beside a checkout (``/work/main`` → ``/work/shared/external``).
SHARED_EXTERNAL: Path = Path(__file__).resolve().parents[2] / "shared" / "external"

#: Canonical prefix of the raw-file URLs stored in :data:`MANIFESTS`.
RAW_GITHUB = "https://raw.githubusercontent.com"

#: Where downloads really go: replaces :data:`RAW_GITHUB` in each URL (tests point it
#: at a local HTTP server, e.g. ``"http://127.0.0.1:8765"``).
UPSTREAM_BASE = RAW_GITHUB

#: Seconds to wait for each download.
TIMEOUT = 60.0

# Generated from shared/external/*/PROVENANCE.md with parse_provenance();
# tests/test_datasets.py checks that it still matches those files.
MANIFESTS: dict[str, dict[str, dict[str, str]]] = {
    "sel4-capdl": {
        "files": {
            "capDL-tool/camkes-adder-arm.cdl": "a59fe0cfba6af0174efe4377448926bab87671a652a828a6a836c2eeb3b5acaa",
            "capDL-tool/camkes-adder-arm.right": "999ad9e81e30ceefe689dcb622eab276397924d070bc7e61a9bb4e6a6fc15ab8",
            "capDL-tool/cap-dist-elf-simpleserver.cdl": "58aa6cd40a367116dc2344078ccf5a8add178a526b0e1a1175d3c2719a1a098c",
            "capDL-tool/cap-dist-elf-simpleserver.right": "f49092673dbdd1fe8a959b41873a915b66b1ea335f77be1a774250c270433c41",
            "capDL-tool/example-aarch64.cdl": "ce29befcd06a31e21d08935be551a17eefee2175dd3330f49a9c021642605a23",
            "capDL-tool/example-aarch64.right": "ef27999a2e06e185992d7ac4951e025122de14107890475a3ee3d5bbd8b94d59",
            "capDL-tool/example-arm.cdl": "0c3e2fb5fb5190c65899a2f4c47dc567cd97b9de9e0d010ab72e492f965bc710",
            "capDL-tool/example-arm.right": "3bbc95ef81eae3bce740d2aabdae811f25b0ea304913f18c371bda3143b112f7",
            "capDL-tool/example-ia32.cdl": "c6c5857c7468789e3f43a10d0dbb953a98e9a27df49bf2f67f5d400a85de5b32",
            "capDL-tool/example-ia32.right": "abca11d654dbc24da1b2df1bddfde6b254d5fdb8db43e226b0a7864c62f399ea",
            "capDL-tool/example.cdl": "0f9172c8167aad8c9339e462effdd8b3f4d9a3f55bf54dcc58df9dc16d98fc84",
            "capDL-tool/hello-dump.cdl": "6aab59cbbdf104fa55e22894e2f9499986774c367976854c9a5c68352ae32c58",
            "capDL-tool/hello-dump.right": "2a8a76dbbc33edbbf0445feae386aaf0ccb1a6c48ac15df8500ce34e2d1289b6",
            "capDL-tool/iwana-ia32.cdl": "7360cb77a71ae074d2b677e6a6a680dfe147322f7118f6f49942e5260e9282a5",
        },
        "url": {
            "capDL-tool/camkes-adder-arm.cdl": "https://raw.githubusercontent.com/seL4/capdl/01b3bd48dd0097ed15f4737c8134d47b66e780a2/capDL-tool/camkes-adder-arm.cdl",
            "capDL-tool/camkes-adder-arm.right": "https://raw.githubusercontent.com/seL4/capdl/01b3bd48dd0097ed15f4737c8134d47b66e780a2/capDL-tool/camkes-adder-arm.right",
            "capDL-tool/cap-dist-elf-simpleserver.cdl": "https://raw.githubusercontent.com/seL4/capdl/01b3bd48dd0097ed15f4737c8134d47b66e780a2/capDL-tool/cap-dist-elf-simpleserver.cdl",
            "capDL-tool/cap-dist-elf-simpleserver.right": "https://raw.githubusercontent.com/seL4/capdl/01b3bd48dd0097ed15f4737c8134d47b66e780a2/capDL-tool/cap-dist-elf-simpleserver.right",
            "capDL-tool/example-aarch64.cdl": "https://raw.githubusercontent.com/seL4/capdl/01b3bd48dd0097ed15f4737c8134d47b66e780a2/capDL-tool/example-aarch64.cdl",
            "capDL-tool/example-aarch64.right": "https://raw.githubusercontent.com/seL4/capdl/01b3bd48dd0097ed15f4737c8134d47b66e780a2/capDL-tool/example-aarch64.right",
            "capDL-tool/example-arm.cdl": "https://raw.githubusercontent.com/seL4/capdl/01b3bd48dd0097ed15f4737c8134d47b66e780a2/capDL-tool/example-arm.cdl",
            "capDL-tool/example-arm.right": "https://raw.githubusercontent.com/seL4/capdl/01b3bd48dd0097ed15f4737c8134d47b66e780a2/capDL-tool/example-arm.right",
            "capDL-tool/example-ia32.cdl": "https://raw.githubusercontent.com/seL4/capdl/01b3bd48dd0097ed15f4737c8134d47b66e780a2/capDL-tool/example-ia32.cdl",
            "capDL-tool/example-ia32.right": "https://raw.githubusercontent.com/seL4/capdl/01b3bd48dd0097ed15f4737c8134d47b66e780a2/capDL-tool/example-ia32.right",
            "capDL-tool/example.cdl": "https://raw.githubusercontent.com/seL4/capdl/01b3bd48dd0097ed15f4737c8134d47b66e780a2/capDL-tool/example.cdl",
            "capDL-tool/hello-dump.cdl": "https://raw.githubusercontent.com/seL4/capdl/01b3bd48dd0097ed15f4737c8134d47b66e780a2/capDL-tool/hello-dump.cdl",
            "capDL-tool/hello-dump.right": "https://raw.githubusercontent.com/seL4/capdl/01b3bd48dd0097ed15f4737c8134d47b66e780a2/capDL-tool/hello-dump.right",
            "capDL-tool/iwana-ia32.cdl": "https://raw.githubusercontent.com/seL4/capdl/01b3bd48dd0097ed15f4737c8134d47b66e780a2/capDL-tool/iwana-ia32.cdl",
        },
    },
    "sel4-microkit-sdf": {
        "files": {
            "lionsos/examples/fileio/board/maaxboard/fileio.system": "73acf08b70733527950aa4ae27e52ad95dcf69cdcf332ccdb18cff73158799aa",
            "lionsos/examples/fileio/board/qemu_virt_aarch64/fileio.system": "2997a359435cf3ac81bc916583cceec2868be0824b54f34a9019050954859f15",
            "lionsos/examples/kitty/board/odroidc4/kitty.system": "73ea55c0c90bf4a588491282f5c17bca8eb64f1336dbb7b368b439531eb6f860",
            "lionsos/examples/kitty/board/qemu_virt_aarch64/kitty.system": "2e87caa1708fdc06a83092c5d37c3e81603d71f5ffea17201eb1283816bfe641",
            "lionsos/examples/webserver/board/odroidc4/webserver.system": "8042084007d3f47aefcdac8fa6316a8d2df40166a102d5dc39470a64d54e2ee2",
            "lionsos/examples/webserver/board/qemu_virt_aarch64/webserver.system": "446e54115bfd096efb57c57adfac3af3923e10d0b01fae18535a02f57d1829b8",
            "microkit/example/arm_smc/arm_smc.system": "483721161af9f32d4b955a64888508f7a3c7240e718325189b4d4af0a2e942da",
            "microkit/example/bootinfo/bootinfo.system": "1127746d53b7da6ab271d0a52f7918da930787a9075fe1c9bdac2fb6b40559c5",
            "microkit/example/cap_sharing/cap_sharing.system": "7824684615eb89e475cc486633165a44263fb6821ecbc4c464a42486b918e5a6",
            "microkit/example/domains/domains.system": "b80405bfe0bfaa028698672efc5898f7d4757cda01ec2c108a2f160df6f67ae1",
            "microkit/example/ethernet/ethernet.system": "cf2a6c6ff5671b2af7d8888b337046ff03781d78c3df7e71a3f1340587f5dd63",
            "microkit/example/hello/hello.system": "49d3c496f8dd92061d4cba5c48af1855c9084fac3dacbf80cb087dceb0608426",
            "microkit/example/hierarchy/hierarchy.system": "16f2809a1bfbb4e4318239deb017ba5ffc5e416ca34b7c2a992414bceb0d518e",
            "microkit/example/mr_prefill/mr_prefill.system": "b9de79a47ff5eb1372005cca21cdc6d94241bd6d6dc96d142f434727a1b7f568",
            "microkit/example/passive_server/passive_server.system": "3c97c07511fd7eebe3c01288ad2cf9b4bd7282b4eacf881db7c63c8b3614b75a",
            "microkit/example/rust/rust.system": "49d3c496f8dd92061d4cba5c48af1855c9084fac3dacbf80cb087dceb0608426",
            "microkit/example/setvar/setvar.system": "ed7f30e93136ac3dd1bc365685dd9a10548d316996f26898222df03dd669a415",
            "microkit/example/timer/timer.system": "56ae3ea8ace7e04bff8d3873dc9f2f5bb7c8c5f51b429a68b260281533be778b",
            "microkit/example/x86_64_iommu_dma_test/x86_64_iommu_dma_test.system": "7465f573efd3b690ba5a22758529d8c3844768b45798fd62913e01bca835d20c",
            "microkit/example/x86_64_ioport/x86_64_ioport.system": "cc26603411dae90d9566f3e2c0a25eba6415aa9fc2b910bb64e8b3c58d35da63",
            "microkit/tests/capfault/capfault.system": "bc7992ba2145439801fa3e6dcf6b278029769fff756cb30d66dd9115c35af0b5",
            "microkit/tests/overlapping_pages/overlapping_pages.system": "cfd55653b2bed268b71f58abeed88693413c55462dc409ac1fd905fdf6940cca",
            "microkit/tests/simplemrs/simplemrs.system": "7e9772f9ab8715ed95f61a0d6b16a6a12e53ae56274a73386f6da1f23739e34f",
            "sddf/examples/blk/board/qemu_virt_aarch64/blk.system": "3b372c0af292063fdb368b00045301bbe72b80d7aca866230181ceaaa4ec6984",
            "sddf/examples/echo_server/board/imx8mm_evk/echo_server.system": "cf679755da8a0b7d10bffd32be7c03ec98c9e7faa46d57fc06f25c1234786c37",
            "sddf/examples/echo_server/board/imx8mp_evk/echo_server.system": "cf679755da8a0b7d10bffd32be7c03ec98c9e7faa46d57fc06f25c1234786c37",
            "sddf/examples/echo_server/board/maaxboard/echo_server.system": "9753e3193346ef0cc21261fa216a10d48b39ee30f79a064d84df4d369b309a4b",
            "sddf/examples/echo_server/board/odroidc4/echo_server.system": "1c065eb3f17d844d949f3820c74fe203eab6e52ff28d41fdaa49b61e84e39d83",
            "sddf/examples/echo_server/board/qemu_virt_aarch64/echo_server.system": "e5ab3c1b104bb8ac182fa47efd6fda253007f089582dffbcef846e398092dfcb",
            "sddf/examples/gpu/board/qemu_virt_aarch64/gpu.system": "77bd9baa0950a5b6553f953b70e4cf5db57137e7e5a0ae603de67ced10a1b28b",
            "sddf/examples/i2c/board/odroidc4/i2c.system": "ffcd43013b8d78b6729fa87895a58515be2a33a88d09c2279534e79944ff263b",
            "sddf/examples/mmc/board/imx8mm_evk/mmc.system": "65cf463c54370979d85e799ecf5f8e97e98e5491cae9a2a300811a2e3cc329cd",
            "sddf/examples/mmc/board/maaxboard/mmc.system": "c4bdbd00e5d25ec18cfd828f42cee383465e198ee4eec6aa1ff85945a82b6119",
            "sddf/examples/serial/board/imx8mm_evk/serial.system": "748f43033ad64aa6f2d524057c6093505ed8b92cb5e488a123e3220846699048",
            "sddf/examples/serial/board/maaxboard/serial.system": "5f748cbd677e19c5c56bfa3c7dc289ddee2bdc99b5d215058f1b2eed6cd4de25",
            "sddf/examples/serial/board/odroidc4/serial.system": "d29c3c83d22c4b0b6f0567d64ba15048bb73b28c4d9e38552da5b723e13dc9c4",
            "sddf/examples/serial/board/qemu_virt_aarch64/serial.system": "cb389529e49cb8fc655c8f2389840da1b2d49e2fde43ec357a4580335280a480",
            "sddf/examples/serial/board/star64/serial.system": "8b81966d48ff3635f5ada6183a63d998d0596e92ad966050f7c7349a1433e366",
            "sddf/examples/timer/board/odroidc4/timer.system": "e300abd73efe8b81195c90577ed37dd0f741cf090452cc944277077bba68a5bd",
            "sddf/examples/timer/board/qemu_virt_aarch64/timer.system": "cc9202eca2ef79cec259777fea0a3ffeaa9c02d77fa5ae8037b05c73ca186745",
            "sddf/examples/timer/board/star64/timer.system": "de25337b430e924bc1e1efb17250ee8c02de2232c669f3f4b9524295ea54f6b3",
        },
        "url": {
            "lionsos/examples/fileio/board/maaxboard/fileio.system": "https://raw.githubusercontent.com/au-ts/lionsos/a58b07db4d5910b6b9078f4636a5f4d9f34082e1/examples/fileio/board/maaxboard/fileio.system",
            "lionsos/examples/fileio/board/qemu_virt_aarch64/fileio.system": "https://raw.githubusercontent.com/au-ts/lionsos/a58b07db4d5910b6b9078f4636a5f4d9f34082e1/examples/fileio/board/qemu_virt_aarch64/fileio.system",
            "lionsos/examples/kitty/board/odroidc4/kitty.system": "https://raw.githubusercontent.com/au-ts/lionsos/eb1cddee0045e915212a88509898daeeb27835c7/examples/kitty/board/odroidc4/kitty.system",
            "lionsos/examples/kitty/board/qemu_virt_aarch64/kitty.system": "https://raw.githubusercontent.com/au-ts/lionsos/eb1cddee0045e915212a88509898daeeb27835c7/examples/kitty/board/qemu_virt_aarch64/kitty.system",
            "lionsos/examples/webserver/board/odroidc4/webserver.system": "https://raw.githubusercontent.com/au-ts/lionsos/79c6be53ee3274ed4fb1eab330e835ffe9267a84/examples/webserver/board/odroidc4/webserver.system",
            "lionsos/examples/webserver/board/qemu_virt_aarch64/webserver.system": "https://raw.githubusercontent.com/au-ts/lionsos/79c6be53ee3274ed4fb1eab330e835ffe9267a84/examples/webserver/board/qemu_virt_aarch64/webserver.system",
            "microkit/example/arm_smc/arm_smc.system": "https://raw.githubusercontent.com/seL4/microkit/cfd521630a52f718b8140d504c695edbaf27a915/example/arm_smc/arm_smc.system",
            "microkit/example/bootinfo/bootinfo.system": "https://raw.githubusercontent.com/seL4/microkit/cfd521630a52f718b8140d504c695edbaf27a915/example/bootinfo/bootinfo.system",
            "microkit/example/cap_sharing/cap_sharing.system": "https://raw.githubusercontent.com/seL4/microkit/cfd521630a52f718b8140d504c695edbaf27a915/example/cap_sharing/cap_sharing.system",
            "microkit/example/domains/domains.system": "https://raw.githubusercontent.com/seL4/microkit/cfd521630a52f718b8140d504c695edbaf27a915/example/domains/domains.system",
            "microkit/example/ethernet/ethernet.system": "https://raw.githubusercontent.com/seL4/microkit/cfd521630a52f718b8140d504c695edbaf27a915/example/ethernet/ethernet.system",
            "microkit/example/hello/hello.system": "https://raw.githubusercontent.com/seL4/microkit/cfd521630a52f718b8140d504c695edbaf27a915/example/hello/hello.system",
            "microkit/example/hierarchy/hierarchy.system": "https://raw.githubusercontent.com/seL4/microkit/cfd521630a52f718b8140d504c695edbaf27a915/example/hierarchy/hierarchy.system",
            "microkit/example/mr_prefill/mr_prefill.system": "https://raw.githubusercontent.com/seL4/microkit/cfd521630a52f718b8140d504c695edbaf27a915/example/mr_prefill/mr_prefill.system",
            "microkit/example/passive_server/passive_server.system": "https://raw.githubusercontent.com/seL4/microkit/cfd521630a52f718b8140d504c695edbaf27a915/example/passive_server/passive_server.system",
            "microkit/example/rust/rust.system": "https://raw.githubusercontent.com/seL4/microkit/cfd521630a52f718b8140d504c695edbaf27a915/example/rust/rust.system",
            "microkit/example/setvar/setvar.system": "https://raw.githubusercontent.com/seL4/microkit/cfd521630a52f718b8140d504c695edbaf27a915/example/setvar/setvar.system",
            "microkit/example/timer/timer.system": "https://raw.githubusercontent.com/seL4/microkit/cfd521630a52f718b8140d504c695edbaf27a915/example/timer/timer.system",
            "microkit/example/x86_64_iommu_dma_test/x86_64_iommu_dma_test.system": "https://raw.githubusercontent.com/seL4/microkit/cfd521630a52f718b8140d504c695edbaf27a915/example/x86_64_iommu_dma_test/x86_64_iommu_dma_test.system",
            "microkit/example/x86_64_ioport/x86_64_ioport.system": "https://raw.githubusercontent.com/seL4/microkit/cfd521630a52f718b8140d504c695edbaf27a915/example/x86_64_ioport/x86_64_ioport.system",
            "microkit/tests/capfault/capfault.system": "https://raw.githubusercontent.com/seL4/microkit/cfd521630a52f718b8140d504c695edbaf27a915/tests/capfault/capfault.system",
            "microkit/tests/overlapping_pages/overlapping_pages.system": "https://raw.githubusercontent.com/seL4/microkit/cfd521630a52f718b8140d504c695edbaf27a915/tests/overlapping_pages/overlapping_pages.system",
            "microkit/tests/simplemrs/simplemrs.system": "https://raw.githubusercontent.com/seL4/microkit/cfd521630a52f718b8140d504c695edbaf27a915/tests/simplemrs/simplemrs.system",
            "sddf/examples/blk/board/qemu_virt_aarch64/blk.system": "https://raw.githubusercontent.com/au-ts/sddf/94e63068b766f8359a78a5b05e038ccda855fe4f/examples/blk/board/qemu_virt_aarch64/blk.system",
            "sddf/examples/echo_server/board/imx8mm_evk/echo_server.system": "https://raw.githubusercontent.com/au-ts/sddf/94e63068b766f8359a78a5b05e038ccda855fe4f/examples/echo_server/board/imx8mm_evk/echo_server.system",
            "sddf/examples/echo_server/board/imx8mp_evk/echo_server.system": "https://raw.githubusercontent.com/au-ts/sddf/94e63068b766f8359a78a5b05e038ccda855fe4f/examples/echo_server/board/imx8mp_evk/echo_server.system",
            "sddf/examples/echo_server/board/maaxboard/echo_server.system": "https://raw.githubusercontent.com/au-ts/sddf/94e63068b766f8359a78a5b05e038ccda855fe4f/examples/echo_server/board/maaxboard/echo_server.system",
            "sddf/examples/echo_server/board/odroidc4/echo_server.system": "https://raw.githubusercontent.com/au-ts/sddf/94e63068b766f8359a78a5b05e038ccda855fe4f/examples/echo_server/board/odroidc4/echo_server.system",
            "sddf/examples/echo_server/board/qemu_virt_aarch64/echo_server.system": "https://raw.githubusercontent.com/au-ts/sddf/94e63068b766f8359a78a5b05e038ccda855fe4f/examples/echo_server/board/qemu_virt_aarch64/echo_server.system",
            "sddf/examples/gpu/board/qemu_virt_aarch64/gpu.system": "https://raw.githubusercontent.com/au-ts/sddf/94e63068b766f8359a78a5b05e038ccda855fe4f/examples/gpu/board/qemu_virt_aarch64/gpu.system",
            "sddf/examples/i2c/board/odroidc4/i2c.system": "https://raw.githubusercontent.com/au-ts/sddf/94e63068b766f8359a78a5b05e038ccda855fe4f/examples/i2c/board/odroidc4/i2c.system",
            "sddf/examples/mmc/board/imx8mm_evk/mmc.system": "https://raw.githubusercontent.com/au-ts/sddf/94e63068b766f8359a78a5b05e038ccda855fe4f/examples/mmc/board/imx8mm_evk/mmc.system",
            "sddf/examples/mmc/board/maaxboard/mmc.system": "https://raw.githubusercontent.com/au-ts/sddf/94e63068b766f8359a78a5b05e038ccda855fe4f/examples/mmc/board/maaxboard/mmc.system",
            "sddf/examples/serial/board/imx8mm_evk/serial.system": "https://raw.githubusercontent.com/au-ts/sddf/94e63068b766f8359a78a5b05e038ccda855fe4f/examples/serial/board/imx8mm_evk/serial.system",
            "sddf/examples/serial/board/maaxboard/serial.system": "https://raw.githubusercontent.com/au-ts/sddf/94e63068b766f8359a78a5b05e038ccda855fe4f/examples/serial/board/maaxboard/serial.system",
            "sddf/examples/serial/board/odroidc4/serial.system": "https://raw.githubusercontent.com/au-ts/sddf/94e63068b766f8359a78a5b05e038ccda855fe4f/examples/serial/board/odroidc4/serial.system",
            "sddf/examples/serial/board/qemu_virt_aarch64/serial.system": "https://raw.githubusercontent.com/au-ts/sddf/94e63068b766f8359a78a5b05e038ccda855fe4f/examples/serial/board/qemu_virt_aarch64/serial.system",
            "sddf/examples/serial/board/star64/serial.system": "https://raw.githubusercontent.com/au-ts/sddf/94e63068b766f8359a78a5b05e038ccda855fe4f/examples/serial/board/star64/serial.system",
            "sddf/examples/timer/board/odroidc4/timer.system": "https://raw.githubusercontent.com/au-ts/sddf/94e63068b766f8359a78a5b05e038ccda855fe4f/examples/timer/board/odroidc4/timer.system",
            "sddf/examples/timer/board/qemu_virt_aarch64/timer.system": "https://raw.githubusercontent.com/au-ts/sddf/94e63068b766f8359a78a5b05e038ccda855fe4f/examples/timer/board/qemu_virt_aarch64/timer.system",
            "sddf/examples/timer/board/star64/timer.system": "https://raw.githubusercontent.com/au-ts/sddf/94e63068b766f8359a78a5b05e038ccda855fe4f/examples/timer/board/star64/timer.system",
        },
    },
    "fuchsia-cml": {
        "files": {
            "src/sys/bootstrap/meta/bootstrap.cml": "4c2e9564dd417f7038c396581028465fcfcc04c3e9da3cb122c2113d2a514245",
            "src/sys/bootstrap/meta/console.cml": "c11e9d8a5d51bb6ae23d33cc54f4d0008bc1f61f64a02355ffb6f342d36fc7a9",
            "src/sys/bootstrap/meta/driver_manager.cml": "b465fbd006fa62796c90130ca2c478d9a4e316e77a6b7bdfaa8f129b496e1259",
            "src/sys/bootstrap/meta/fshost.cml": "4a1d50e1f88abd2ab1dfd2919ef19fa9174654ae9407b034daf3f44876e043d2",
            "src/sys/bootstrap/meta/ptysvc.cml": "43a9a337fcc1e653b2a03fe8934df02f6b70065d5bd6baca4d0f52a66e4d2c28",
            "src/sys/bootstrap/meta/pwrbtn-monitor.cml": "6e710aea9e9e9a751caa513ae6167c1489f93e8ff2fbff0da0b7e22724c8d441",
            "src/sys/bootstrap/meta/root.cml": "0a0c5a597b76e0bebbe9a04e9be7897e1f84f77c2605a307814985d3677a2527",
            "src/sys/bootstrap/meta/sysinfo.cml": "f77246d000cfc2fba3c1c0e6f9dc78329162f103d134bd2dfcb28d9a615ea701",
            "src/sys/core/meta/core.cml": "cab3c3fdf6842ff2aaab1440526ef93b7cfebc1cd60958330575a19c7bfb7222",
        },
        "url": {
            "src/sys/bootstrap/meta/bootstrap.cml": "https://raw.githubusercontent.com/vsrinivas/fuchsia/012f8a650c88d3ee2e98327d7b85c3f1584d925b/src/sys/bootstrap/meta/bootstrap.cml",
            "src/sys/bootstrap/meta/console.cml": "https://raw.githubusercontent.com/vsrinivas/fuchsia/69a5b86ef570493136f523ea84c94fa2e0d3d4f6/src/sys/bootstrap/meta/console.cml",
            "src/sys/bootstrap/meta/driver_manager.cml": "https://raw.githubusercontent.com/vsrinivas/fuchsia/570b55e26dfcddc015aae5a2cb8125410c5b3177/src/sys/bootstrap/meta/driver_manager.cml",
            "src/sys/bootstrap/meta/fshost.cml": "https://raw.githubusercontent.com/vsrinivas/fuchsia/1b186dcb245602b5c80ccfa5d0fbfa45dbd8754a/src/sys/bootstrap/meta/fshost.cml",
            "src/sys/bootstrap/meta/ptysvc.cml": "https://raw.githubusercontent.com/vsrinivas/fuchsia/53ffd2fa7af2f61c707d280424332b202aaf4a1c/src/sys/bootstrap/meta/ptysvc.cml",
            "src/sys/bootstrap/meta/pwrbtn-monitor.cml": "https://raw.githubusercontent.com/vsrinivas/fuchsia/b1bec50758aae2f8b7efc350a71b0fad991a7c99/src/sys/bootstrap/meta/pwrbtn-monitor.cml",
            "src/sys/bootstrap/meta/root.cml": "https://raw.githubusercontent.com/vsrinivas/fuchsia/124f955ae0d1db1c7e991684c7e8a9b4528d6806/src/sys/bootstrap/meta/root.cml",
            "src/sys/bootstrap/meta/sysinfo.cml": "https://raw.githubusercontent.com/vsrinivas/fuchsia/53ffd2fa7af2f61c707d280424332b202aaf4a1c/src/sys/bootstrap/meta/sysinfo.cml",
            "src/sys/core/meta/core.cml": "https://raw.githubusercontent.com/vsrinivas/fuchsia/124f955ae0d1db1c7e991684c7e8a9b4528d6806/src/sys/core/meta/core.cml",
        },
    },
}

#: Names of the known datasets.
KNOWN: tuple[str, ...] = tuple(MANIFESTS)


def _check_name(name: str) -> dict[str, dict[str, str]]:
    try:
        return MANIFESTS[name]
    except KeyError:
        known = ", ".join(sorted(MANIFESTS))
        raise ValueError(f"unknown external dataset {name!r}; known: {known}") from None


def manifest(name: str) -> list[tuple[str, str, str]]:
    """``(relative path, sha256, upstream raw URL)`` for each file of dataset ``name``.

    >>> path, sha, url = manifest("sel4-capdl")[0]
    >>> path, sha[:12]
    ('capDL-tool/camkes-adder-arm.cdl', 'a59fe0cfba6a')
    >>> url
    'https://raw.githubusercontent.com/seL4/capdl/01b3bd48.../capDL-tool/camkes-adder-arm.cdl'
    >>> manifest("fuchsia-cml")[-1][2].split("/")[3:5]
    ['vsrinivas', 'fuchsia']
    >>> manifest("nope")
    Traceback (most recent call last):
    ...
    ValueError: unknown external dataset 'nope'; known: fuchsia-cml, sel4-capdl, sel4-microkit-sdf
    """
    data = _check_name(name)
    return [(path, sha, data["url"][path]) for path, sha in sorted(data["files"].items())]


def cache_dir(name: str) -> Path:
    """The cache folder of dataset ``name``.

    That is ``${XDG_CACHE_HOME:-~/.cache}/keykos_lab/external/<name>``.

    A relative ``XDG_CACHE_HOME`` is ignored, as the XDG specification says.

    >>> cache_dir("sel4-capdl").parts[-3:]
    ('keykos_lab', 'external', 'sel4-capdl')
    """
    _check_name(name)
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "keykos_lab" / "external" / name


def _sha256(path: Path) -> str | None:
    """SHA-256 of a file, ``None`` if it is not a readable regular file."""
    h = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 16), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


def _bad_files(name: str, folder: Path) -> list[str]:
    return [path for path, sha, _ in manifest(name) if _sha256(folder / path) != sha]


def _target(folder: Path, relpath: str) -> Path:
    parts = Path(relpath).parts
    if Path(relpath).is_absolute() or ".." in parts:
        raise DatasetError(f"{relpath}: unsafe path in manifest")
    return folder.joinpath(*parts)


def _fetch(relpath: str, sha: str, url: str, dest: Path) -> None:
    """Download ``url``, check it against ``sha`` and move it into place at ``dest``."""
    if url.startswith(RAW_GITHUB):
        url = UPSTREAM_BASE.rstrip("/") + url[len(RAW_GITHUB) :]
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            data = response.read()
    except urllib.error.HTTPError as e:
        raise DatasetError(f"{relpath}: download failed: HTTP {e.code} {e.reason} ({url})") from e
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise DatasetError(f"{relpath}: download failed: {e} ({url})") from e
    got = hashlib.sha256(data).hexdigest()
    if got != sha:
        raise DatasetError(
            f"{relpath}: SHA-256 mismatch: expected {sha}, got {got} ({len(data)} bytes from {url})"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise DatasetError(f"{relpath}: cannot write {dest}: {e}") from e
        raise


def external(name: str, *, download: bool = True) -> Path | None:
    """The folder holding external dataset ``name``, downloading it to the cache if needed
    (with ``download=False``: None instead of downloading, for callers that would rather
    skip than wait on the network).

    See the module docstring for where it looks. Raises :class:`ValueError` for an
    unknown name and :class:`DatasetError` when ``$KEYKOS_LAB_EXTERNAL/<name>`` is
    missing, or a download fails or has the wrong SHA-256 (files already fetched and
    checked stay in the cache; the failing one is not written).

    >>> external("nope")
    Traceback (most recent call last):
    ...
    ValueError: unknown external dataset 'nope'; known: fuchsia-cml, sel4-capdl, sel4-microkit-sdf
    """
    _check_name(name)
    env = os.environ.get(ENV_VAR)
    if env:
        folder = Path(env) / name
        if not folder.is_dir():
            raise DatasetError(f"${ENV_VAR} is set but {folder} is not a folder")
        return folder
    shared = Path(SHARED_EXTERNAL) / name
    if shared.is_dir():
        return shared
    cache = cache_dir(name)
    todo = set(_bad_files(name, cache))
    if todo and not download:
        return None
    for relpath, sha, url in manifest(name):
        if relpath in todo:
            _fetch(relpath, sha, url, _target(cache, relpath))
    return cache


def verify(name: str) -> list[str]:
    """Relative paths (sorted) of files in ``external(name)`` that are missing or whose
    SHA-256 differs from the manifest; ``[]`` when the dataset is intact."""
    return _bad_files(name, external(name))


# --- PROVENANCE.md parsing (used to generate MANIFESTS and to test it) -----------------

_SHA_LINE = re.compile(r"^\s*([0-9a-fA-F]{64})\s+\*?(\S.*?)\s*$", re.MULTILINE)
_COMMIT = re.compile(r"\b[0-9a-f]{40}\b")
_GITHUB = re.compile(r"https?://github\.com/([\w.-]+)/([\w-]+(?:\.(?!git\b)[\w-]+)*)")
_MIRROR = re.compile(r"mirror\W+`([\w.-]+/[\w.-]+)`", re.IGNORECASE)
_TICKED = re.compile(r"`([^`]+)`")
_BRACES = re.compile(r"\{([^{}]*)\}")


def _expand_braces(pattern: str) -> list[str]:
    """``a/{b,c}/d`` → ``['a/b/d', 'a/c/d']``."""
    m = _BRACES.search(pattern)
    if m is None:
        return [pattern]
    head, tail = pattern[: m.start()], pattern[m.end() :]
    return [x for alt in m.group(1).split(",") for x in _expand_braces(head + alt + tail)]


def parse_provenance(text: str) -> dict[str, dict[str, str]]:
    """Parse a ``PROVENANCE.md`` into ``{"files": {path: sha256}, "url": {path: raw_url}}``.

    Checksums are the ``<sha256>  <relative path>`` lines (in the "Files and checksums"
    fenced block). Each file's upstream repository and commit come from, most specific
    first: a table row holding a 40-hex commit and the file's path or a glob matching it
    (``*``, ``**``, ``{a,b}``), under an optional sub-folder cell (`` `microkit/` ``,
    stripped from the upstream path) and repository URL cell, both inherited by the
    following rows when blank; else the only 40-hex commit of the document. The
    repository defaults to a GitHub ``mirror `owner/name``` when the text names one,
    else the first ``https://github.com/owner/name`` URL.

    >>> text = '''Upstream: https://github.com/o/r, commit `''' + "ab" * 20 + '''`
    ... ```
    ... ''' + "0" * 64 + '''  x/y.txt
    ... ```'''
    >>> parse_provenance(text)["url"]["x/y.txt"]
    'https://raw.githubusercontent.com/o/r/abab.../x/y.txt'
    """
    files = {path: sha.lower() for sha, path in _SHA_LINE.findall(text)}
    if not files:
        raise ValueError("no '<sha256>  <path>' lines found")
    mirror = _MIRROR.search(text)
    repos = [f"{owner}/{repo}" for owner, repo in _GITHUB.findall(text)]
    default_repo = mirror.group(1) if mirror else (repos[0] if repos else None)
    commits = set(_COMMIT.findall(text))
    default_commit = next(iter(commits)) if len(commits) == 1 else None

    rules: list[tuple[str, str | None, str, list[str]]] = []
    folder, repo = "", default_repo
    for line in text.splitlines():
        if not line.lstrip().startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        found = [m.group(0) for c in cells for m in [_COMMIT.search(c)] if m]
        if not found:
            continue
        patterns: list[str] = []
        for cell in cells:
            gh = _GITHUB.search(cell)
            ticked = [t for t in _TICKED.findall(cell) if not _COMMIT.fullmatch(t)]
            if gh:
                repo = f"{gh.group(1)}/{gh.group(2)}"
            elif len(ticked) == 1 and ticked[0].endswith("/"):
                folder = ticked[0]
            else:
                patterns += [p for t in ticked for p in _expand_braces(t)]
        rules.append((folder, repo, found[0], patterns))

    urls: dict[str, str] = {}
    for path in files:
        hits = {
            (f, r, c)
            for f, r, c, pats in rules
            if path.startswith(f) and any(fnmatch.fnmatchcase(path[len(f) :], p) for p in pats)
        }
        if len(hits) > 1:
            raise ValueError(f"{path}: several commits match: {sorted(h[2] for h in hits)}")
        if hits:
            f, r, c = hits.pop()
        elif default_commit is not None:
            f, r, c = "", default_repo, default_commit
        else:
            raise ValueError(f"{path}: no commit found for it")
        if r is None:
            raise ValueError(f"{path}: no GitHub repository found for it")
        urls[path] = f"{RAW_GITHUB}/{r}/{c}/{path[len(f) :]}"
    return {"files": dict(sorted(files.items())), "url": dict(sorted(urls.items()))}
