"""The wheel as a Python user without the Swift toolchain gets it (`make test-wheel`; STREAMKIT_WHEEL names it).

Its tag is checked against what the library inside really needs (objdump's symbol versions, readelf's NEEDED
list, auditwheel's verdict); then it is installed into a fresh virtual environment with the toolchain's folder
hidden by a tmpfs in a private mount namespace (as Tests/c/no_toolchain.sh does; root only, skipped saying why
otherwise) and streams prices from the package's simulator.
"""

import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile

import pytest

WHEEL = os.environ.get("STREAMKIT_WHEEL", "")
#: What PEP 600 lets a manylinux wheel link against: glibc's libraries, libstdc++, libgcc_s.
MANYLINUX_LIBRARIES = {"libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libpthread.so.0", "libdl.so.2",
                       "librt.so.1", "ld-linux-x86-64.so.2"}


@pytest.fixture(scope="module")
def wheel():
    if not WHEEL or not os.path.isfile(WHEEL):
        pytest.fail(f"STREAMKIT_WHEEL={WHEEL!r} is not a wheel: run `make test-wheel`")
    return WHEEL


@pytest.fixture(scope="module")
def library(wheel, tmp_path_factory):
    folder = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(wheel) as z:
        return z.extract("streamkit/libstreamkit.so", folder)


def newest(versions, prefix):
    found = [tuple(int(n) for n in v.split(".")) for v in re.findall(rf"\b{prefix}_([0-9][0-9.]*[0-9])\b", versions)]
    return max(found)


def test_tag_is_py3_none_and_the_library_glibc_floor(wheel, library):
    name, version, python, abi, platform = os.path.basename(wheel)[:-len(".whl")].split("-")
    assert (name, python, abi) == ("streamkit", "py3", "none")
    symbols = subprocess.run(["objdump", "-T", library], capture_output=True, text=True, check=True).stdout
    glibc, glibcxx = newest(symbols, "GLIBC"), newest(symbols, "GLIBCXX")
    print(f"{os.path.basename(wheel)}: GLIBC_{'.'.join(map(str, glibc))}, GLIBCXX_{'.'.join(map(str, glibcxx))}")
    assert platform == f"manylinux_{glibc[0]}_{glibc[1]}_x86_64"
    with zipfile.ZipFile(wheel) as z:
        meta = z.read(f"streamkit-{version}.dist-info/WHEEL").decode()
        metadata = z.read(f"streamkit-{version}.dist-info/METADATA").decode()
    assert f"Tag: py3-none-{platform}" in meta and "Root-Is-Purelib: false" in meta
    assert "Requires-Python: >=3.9" in metadata


def test_library_links_only_what_manylinux_allows(library):
    dynamic = subprocess.run(["readelf", "-d", library], capture_output=True, text=True, check=True).stdout
    needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic))
    assert needed and needed <= MANYLINUX_LIBRARIES, sorted(needed - MANYLINUX_LIBRARIES)
    # Nothing found through a path into a toolchain or build folder ($ORIGIN, the library's own folder, is fine).
    paths = [p for found in re.findall(r"\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[([^\]]*)\]", dynamic)
             for p in found.split(":")]
    assert all(p.startswith("$ORIGIN") for p in paths), paths


def test_auditwheel_agrees(wheel):
    auditwheel = os.path.join(os.path.dirname(sys.executable), "auditwheel")
    out = subprocess.run([auditwheel, "show", wheel], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())
    platform = os.path.basename(wheel)[:-len(".whl")].split("-")[-1]
    assert f'consistent with the following platform tag: "{platform}"' in text, text


def isolation_unavailable():
    """Why the toolchain cannot be hidden here, or None."""
    if os.geteuid() != 0:
        return "hiding the Swift toolchain needs root (a private mount namespace: unshare -m); run `sudo make test-wheel`"
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"unshare -m is not allowed here (a container without CAP_SYS_ADMIN?): {probe.stderr.strip()}"
    return None


STREAM = textwrap.dedent("""
    import os, sys, streamkit
    site = os.path.dirname(os.path.dirname(streamkit.__file__))
    assert streamkit.library_path.startswith(site), streamkit.library_path
    with streamkit.Simulator(speed=20) as sim, streamkit.Client(url=sim.url, api_key=sim.api_key) as client:
        client.subscribe("market@crypto_latest_price", crypto_ids=[1, 1027])
        prices = []
        for msg in client:
            if msg.kind == "data":
                prices.append((msg.data.cid, msg.data.price))
            if len(prices) == 4:
                break
    toolchain = os.environ["TOOLCHAIN"]
    mapped = {line.split()[-1] for line in open("/proc/self/maps") if line.split()[-1].startswith("/")}
    foreign = sorted(f for f in mapped if "libswift" in f or "libFoundation" in f or
                     (toolchain and f.startswith(toolchain + "/")))
    print("library:", streamkit.library_path)
    print("prices:", prices)
    assert len(prices) == 4 and all(cid in (1, 1027) and p > 0 for cid, p in prices), prices
    assert not foreign, foreign
""")


def test_installs_and_streams_without_the_toolchain(wheel, tmp_path):
    why = isolation_unavailable()
    if why:
        print(f"SKIPPED: the wheel without the Swift toolchain: {why}")
        pytest.skip(f"the wheel without the Swift toolchain: {why}")
    swift = shutil.which("swift")
    # The toolchain's root: .../usr/bin/swift -> ... (Tests/c/no_toolchain.sh hides the same folder).
    toolchain = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(swift)))) if swift else ""
    python = shutil.which("python3") or sys.executable
    (tmp_path / "stream.py").write_text(STREAM)
    env = {k: v for k, v in os.environ.items() if k not in ("STREAMKIT_LIBRARY", "PYTHONPATH", "VIRTUAL_ENV")}
    env["TOOLCHAIN"] = toolchain
    script = textwrap.dedent(f"""
        set -euo pipefail
        if [ -n '{toolchain}' ]; then
            mount -t tmpfs none '{toolchain}'
            echo "toolchain at {toolchain} hidden ($(ls -A '{toolchain}' | wc -l) entries)"
        fi
        if command -v swift; then echo "swift is still reachable"; exit 1; fi
        '{python}' -m venv '{tmp_path}/venv'
        '{tmp_path}/venv/bin/python' -m pip install -q --disable-pip-version-check --no-index --no-deps '{wheel}'
        cd '{tmp_path}'
        '{tmp_path}/venv/bin/python' stream.py
    """)
    out = subprocess.run(["unshare", "-m", "--propagation", "private", "bash", "-c", script],
                         capture_output=True, text=True, env=env, timeout=300)
    print(out.stdout, out.stderr)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "prices:" in out.stdout
