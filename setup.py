"""Build hook: the wheel carries templates/ and lua/ (plugins included) inside the package.

The repository keeps one copy of each file, in its top-level folders; the build
copies them to ``kongpy/share/`` in the wheel, where ``kongpy.paths`` finds
them. We ship them as package data rather than as wheel data files under
``<prefix>/share/kongpy`` because package data travels with the code: every
install scheme (a virtualenv, ``--user``, ``--target``, a system prefix) puts
it beside ``kongpy/``, while data files land under a prefix that the running
interpreter's ``sys.prefix`` does not always name. Plugins' Python files
(``schema.py``, ``daos.py``, ``migrations.py``) are loaded by path, so they are
copied as plain files of that tree, not as importable modules.

An editable install (``pip install -e .``, what scripts/setup.sh runs) copies
nothing: ``kongpy.paths`` finds the checkout beside the package, so the running
code always uses the tree it is edited in. The sdist lists the same files
through ``get_source_files``, so a wheel built from the sdist has them too.
Everything else is declared in setup.cfg.
"""
from __future__ import annotations

import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

# The repository folders the running node reads, and where the wheel puts them.
SHARED = ("templates", "lua")
TARGET = os.path.join("kongpy", "share")
# Never shipped: bytecode, tests, editor and dot files.
_SKIP_DIRS = {"__pycache__", "tests", "spec"}
_SKIP_SUFFIXES = (".pyc", ".pyo", "~", ".swp", ".orig", ".rej")


def _shipped(name: str) -> bool:
    return not (name.startswith(".") or name.endswith(_SKIP_SUFFIXES)
                or (name.startswith("test_") and name.endswith(".py")))


def shared_files() -> list[str]:
    """The files to ship, relative to the repository root, sorted."""
    found = []
    for top in SHARED:
        for folder, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and not d.startswith(".")]
            found += [os.path.join(folder, name) for name in files if _shipped(name)]
    return sorted(found)


class BuildPyWithShare(build_py):
    """build_py, then the shared folders copied under kongpy/share/."""

    def _mapping(self) -> dict[str, str]:
        return {os.path.join(self.build_lib, TARGET, path): path for path in shared_files()}

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target_root = os.path.join(self.build_lib, TARGET)
        # A previous build's copy may hold files removed since: start clean.
        shutil.rmtree(target_root, ignore_errors=True)
        for target, source in self._mapping().items():
            self.mkpath(os.path.dirname(target))
            self.copy_file(source, target, preserve_mode=True)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if getattr(self, "editable_mode", False):
            return outputs
        return outputs + list(self._mapping())

    def get_source_files(self) -> list[str]:
        return super().get_source_files() + shared_files()


setup(cmdclass={"build_py": BuildPyWithShare})
