"""Builds the package with the native library inside it.

The library comes from, in order: the file named by STREAMKIT_LIBRARY; the self-contained build of the repository
(.build-dist/lib/libstreamkit.so, made by `make lib`); or, failing both, `make lib` run now (needs the Swift
toolchain, about six minutes the first time). The wheel is platform-specific because of it.
"""

import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def native_library() -> str:
    given = os.environ.get("STREAMKIT_LIBRARY")
    if given:
        if not os.path.exists(given):
            raise SystemExit(f"STREAMKIT_LIBRARY={given} does not exist")
        return given
    built = os.path.join(REPO, ".build-dist", "lib", "libstreamkit.so")
    if not os.path.exists(built):
        if not os.path.exists(os.path.join(REPO, "Package.swift")):
            raise SystemExit("libstreamkit.so not found: set STREAMKIT_LIBRARY, or build from a StreamKit checkout")
        print("streamkit: building the native library (make lib)...", flush=True)
        subprocess.run(["make", "-C", REPO, "lib"], check=True)
    return built


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        target = os.path.join(self.build_lib, "streamkit", "libstreamkit.so")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(native_library(), target)
        os.chmod(target, 0o755)


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
