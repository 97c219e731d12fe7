"""Production job kinds: each subpackage is one kind and registers itself when imported.

``import_all`` imports every subpackage (its ``__init__``: the kind's spec, light enough for the API), so
adding a kind is adding a package here; nothing else lists the kinds. The processes that run jobs call it
(``actors.registry.load_kind_modules``); importing one kind's module (as the llms.txt extraction pool's
processes do) does not import the others.
"""

from __future__ import annotations

import importlib
import pkgutil


def import_all() -> None:
    """Import (and so register) every kind in this package."""
    for module in pkgutil.iter_modules(__path__):
        if module.ispkg:
            importlib.import_module(f"{__name__}.{module.name}")
