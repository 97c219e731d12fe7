"""Production job kinds: each subpackage is one kind and registers itself when imported.

Importing this package imports every subpackage (its ``__init__``: the kind's spec, light enough for the
API), so adding a kind is adding a package here; nothing else lists the kinds.
"""

from __future__ import annotations

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    if _module.ispkg:
        importlib.import_module(f"{__name__}.{_module.name}")
