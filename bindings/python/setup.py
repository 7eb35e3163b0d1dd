"""Builds the package with the native library inside it.

The library comes from, in order: the file named by STREAMKIT_LIBRARY; the self-contained build of the repository
(.build-dist/lib/libstreamkit.so, made by `make lib`); or, failing both, `make lib` run now (needs the Swift
toolchain, about six minutes the first time).

The wheel is tagged for what it needs: the package is ctypes, so any Python 3 (``py3-none``; pyproject.toml asks
for 3.9 or newer), and its platform is the library's: ``manylinux_X_Y_<arch>``, X.Y read from the library's own
symbol versions (the newest GLIBC_X.Y it needs, raised if its GLIBCXX needs a newer libstdc++ than that glibc's
manylinux policy allows), when it links nothing but what manylinux allows (glibc, libstdc++, libgcc_s). A library
that needs more (the debug build, linked to the Swift toolchain's runtime) gets the plain ``linux_<arch>`` tag,
which says it only works where it was built.
"""

import os
import shutil
import struct
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

try:
    from setuptools.command.bdist_wheel import bdist_wheel  # setuptools 70.1 and newer
except ImportError:
    from wheel.bdist_wheel import bdist_wheel

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


# -- the platform tag, from the library's ELF headers ------------------------------------------------------------

#: What a manylinux wheel may link against (PEP 600: glibc's own libraries, libstdc++, libgcc_s).
MANYLINUX_LIBRARIES = {"libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libpthread.so.0", "libdl.so.2",
                       "librt.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}

#: The newest GLIBCXX_ each manylinux glibc level allows (auditwheel's manylinux-policy.json), oldest first.
GLIBCXX_BY_GLIBC = [((2, 17), (3, 4, 19)), ((2, 24), (3, 4, 22)), ((2, 27), (3, 4, 24)), ((2, 31), (3, 4, 28)),
                    ((2, 34), (3, 4, 29)), ((2, 35), (3, 4, 30)), ((2, 39), (3, 4, 33))]

ELF_MACHINES = {62: "x86_64", 183: "aarch64"}


def elf_needs(path):
    """The ELF machine, the NEEDED libraries and the symbol versions needed ({"GLIBC": {(2, 34), ...}, ...}) of a
    64-bit little-endian shared library, read from its section headers; None for anything else."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    machine = struct.unpack_from("<H", data, 18)[0]
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    # (type, offset, size, link, info) of every section header (Elf64_Shdr).
    sections = [struct.unpack_from("<4xI16xQQII", data, shoff + i * shentsize) for i in range(shnum)]

    def text(offset):
        return data[offset:data.index(b"\0", offset)].decode()

    needed, versions = [], {}
    for kind, offset, size, link, info in sections:
        strings = sections[link][1]
        if kind == 6:  # SHT_DYNAMIC: (d_tag, d_val) pairs; DT_NEEDED = 1, DT_NULL = 0 ends them
            for at in range(offset, offset + size, 16):
                tag, value = struct.unpack_from("<qQ", data, at)
                if tag == 0:
                    break
                if tag == 1:
                    needed.append(text(strings + value))
        elif kind == 0x6FFFFFFE:  # SHT_GNU_verneed: sh_info entries (Elf64_Verneed), each with its Elf64_Vernaux
            at = offset
            for _ in range(info):
                _, count, _, aux, following = struct.unpack_from("<HHIII", data, at)
                entry = at + aux
                for _ in range(count):
                    name, nxt = struct.unpack_from("<8xII", data, entry)
                    prefix, _, number = text(strings + name).partition("_")
                    if number.replace(".", "").isdigit():
                        versions.setdefault(prefix, set()).add(tuple(int(n) for n in number.split(".")))
                    entry += nxt
                at += following
    return ELF_MACHINES.get(machine, str(machine)), needed, versions


def platform_tag(path):
    """``manylinux_X_Y_<arch>`` for a library that keeps to manylinux (see the module's docstring), else
    ``linux_<arch>``, saying why."""
    found = elf_needs(path)
    if found is None:
        raise SystemExit(f"{path} is not a 64-bit little-endian ELF library")
    arch, needed, versions = found
    others = sorted(set(needed) - MANYLINUX_LIBRARIES)
    glibc = max(versions.get("GLIBC", {(2, 17)}))
    glibcxx = max(versions.get("GLIBCXX", {(3, 4)}))
    levels = [level for level, newest in GLIBCXX_BY_GLIBC if glibcxx <= newest]
    if others or not levels:
        why = f"it needs {', '.join(others)}" if others else f"no manylinux policy allows GLIBCXX_{glibcxx}"
        print(f"streamkit: the wheel is tagged linux_{arch}, not manylinux: {why}", file=sys.stderr)
        return f"linux_{arch}"
    floor = max(glibc, levels[0])
    return f"manylinux_{floor[0]}_{floor[1]}_{arch}"


class Wheel(bdist_wheel):
    """``py3-none-<the library's platform>``: the Python side is pure ctypes."""

    def get_tag(self):
        return "py3", "none", platform_tag(native_library())


setup(cmdclass={"build_py": BuildWithLibrary, "bdist_wheel": Wheel}, distclass=BinaryDistribution)
