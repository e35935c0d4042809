"""Put on PYTHONPATH, makes the ml extra unimportable, as on a base install (`pip install .`).

A finder first on sys.meta_path refuses the packages, so `import torch` raises
ModuleNotFoundError while sys.modules stays free of them (scipy and others look there).
"""

import sys
from importlib.abc import MetaPathFinder

ML_PACKAGES = ("torch", "transformers", "safetensors", "gguf", "accelerate", "tokenizers")


class RefuseMlExtra(MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):  # type: ignore[no-untyped-def]
        if fullname.split(".")[0] in ML_PACKAGES:
            raise ModuleNotFoundError(f"No module named {fullname!r} (base install)", name=fullname)
        return None


sys.meta_path.insert(0, RefuseMlExtra())
