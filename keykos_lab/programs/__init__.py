"""Domain code: programs that run on the simulated kernel and hold only keys.

============== ===============================================================
``primordial`` the space bank and SBT, the domain creator (DCC, DC), KIDs
``factories``  the factory creator creator, factory creators and factories
``keynix``     a miniature Unix: the Unix keeper, its file system and commands
``examples``   small programs (echo, counter, proxy, pager, trojan, …)
``deputy``     the confused deputy's two compilers (by name, by key)
``fork``       the fork idiom (``cfstart.s``); ``keychain``, key rings
``vcs``        the virtual copy segment (``vcsf.ck``): a copy-on-write segment keeper
============== ===============================================================

Importing this package registers every program it ships.
"""

from keykos_lab.programs import deputy, examples, factories, keynix, primordial, vcs  # noqa: F401  (registers the programs)
