"""scripts/test-deps.sh, the set-up `make test` runs first: what it does when something is missing.

- A Debian package missing, not root (or no apt-get): one line naming the packages and the command, and failure.
- The Python packages missing: a virtual environment made with that python3 (the one on PATH, and Debian's own
  /usr/bin/python3), the packages installed into it and not into the interpreter; a second run installs nothing.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(os.path.dirname(os.path.dirname(HERE)), "scripts", "test-deps.sh")
NOBODY = 65534


def path_without(hidden, python):
    """A folder for PATH holding every command of the system's bin folders but ``hidden``, and ``python`` as
    python3; readable by anyone (the script may run as nobody)."""
    folder = tempfile.mkdtemp(prefix="sk-deps-path-")
    os.chmod(folder, 0o755)
    for bin_dir in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        if not os.path.isdir(bin_dir):
            continue
        for name in os.listdir(bin_dir):
            target = os.path.join(folder, name)
            if name in hidden or name.startswith("python") or os.path.lexists(target):
                continue
            os.symlink(os.path.join(bin_dir, name), target)
    if python:
        os.symlink(python, os.path.join(folder, "python3"))
    return folder


def interpreter_on_path():
    """The interpreter `python3` on PATH really runs (through pyenv shims or a venv's links)."""
    return subprocess.run(["python3", "-c", "import sys; print(sys.executable)"], capture_output=True, text=True,
                          check=True).stdout.strip()


def run(env_path, venv, as_nobody=False):
    command = [SCRIPT, venv]
    if as_nobody:
        command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] + command
    env = {"PATH": env_path, "HOME": tempfile.gettempdir(), "LANG": "C.UTF-8"}
    for name in ("PIP_FIND_LINKS", "PIP_CERT", "PIP_DEFAULT_TIMEOUT", "PIP_INDEX_URL", "HTTPS_PROXY", "https_proxy",
                 "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        if name in os.environ:
            env[name] = os.environ[name]
    started = time.monotonic()
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    return out, time.monotonic() - started


def test_missing_debian_package_is_named_with_the_command_and_fails():
    hidden = {"g++"}
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv (util-linux) is needed to run the script as a user other than root")
        as_nobody = True
    else:
        as_nobody = False
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else None
    folder = path_without(hidden, python)
    try:
        out, _ = run(folder, "/nonexistent/venv", as_nobody=as_nobody)
    finally:
        shutil.rmtree(folder)
    lines = out.stderr.strip().splitlines()
    assert out.returncode != 0 and out.stdout == "", out
    assert len(lines) == 1, lines
    assert "g++" in lines[0] and "sudo apt-get install -y" in lines[0] and "g++" in lines[0].split("install -y")[1]


def test_missing_debian_package_without_apt_get_fails_naming_it():
    """As root but on a system without apt-get, nothing can be installed: the same one line, and failure."""
    if os.geteuid() != 0:
        pytest.skip("the root path needs root (the non-root path is the test above)")
    folder = path_without({"g++", "apt-get"}, "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else None)
    try:
        out, _ = run(folder, "/nonexistent/venv")
    finally:
        shutil.rmtree(folder)
    lines = out.stderr.strip().splitlines()
    assert out.returncode != 0 and len(lines) == 1 and "g++" in lines[0], out


def pythons():
    found = {"python3 on PATH": interpreter_on_path()}
    debian = "/usr/bin/python3"
    if os.path.exists(debian) and os.path.realpath(debian) != os.path.realpath(found["python3 on PATH"]):
        found["Debian's /usr/bin/python3"] = debian
    return list(found.items())


@pytest.mark.parametrize("label,python", pythons(), ids=[label for label, _ in pythons()])
def test_python_packages_go_into_a_fresh_venv_not_the_interpreter(label, python, tmp_path):
    if subprocess.run([python, "-c", "import ensurepip, venv"], capture_output=True).returncode != 0:
        pytest.skip(f"{python} cannot make a venv (Debian: python3-venv missing), which `make deps` installs as "
                    "root; the non-root message is tested above")
    probe = "import importlib.util as u; print([m for m in ('pytest', 'websockets') if u.find_spec(m)])"
    before = subprocess.run([python, "-I", "-c", probe], capture_output=True, text=True, check=True).stdout
    folder = tempfile.mkdtemp(prefix="sk-deps-python-")
    os.symlink(python, os.path.join(folder, "python3"))
    venv = str(tmp_path / "venv")
    try:
        env_path = folder + os.pathsep + os.environ["PATH"]
        out, first = run(env_path, venv)
        assert out.returncode == 0, out.stdout + out.stderr
        assert f"into {venv}" in out.stdout, out.stdout
        check = subprocess.run([os.path.join(venv, "bin", "python"), "-c",
                                "import sys, pytest, websockets, auditwheel; print(sys.prefix != sys.base_prefix)"],
                               capture_output=True, text=True)
        assert check.stdout.strip() == "True", check.stderr
        after = subprocess.run([python, "-I", "-c", probe], capture_output=True, text=True, check=True).stdout
        assert after == before, "the script installed into the interpreter itself"
        again, second = run(env_path, venv)
        assert again.returncode == 0 and again.stdout == "" and again.stderr == "", again
    finally:
        shutil.rmtree(folder)
    print(f"{label} ({python}): first run {first:.1f} s, second {second:.2f} s")
    assert second < 10
