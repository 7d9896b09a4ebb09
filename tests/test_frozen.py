"""Frozen firmware: each ESP32 board's boards/<board>/manifest.py freezes exactly the modules the
node imports on that board, nothing missing, nothing extra; `make firmware` without a MicroPython
checkout and ESP-IDF stops with a one-line instruction.

What the node imports is derived, never listed here:
  - dynamically: the host node boots on the unix port (tests/mpy/bootmods.py records every module
    an import brings in, including code loaded and dropped again) with a real broker and commands
    waiting for it; modules from boards/host other than board.py (emulators, simulator, machine,
    network, hostboot, ...) are the host's hardware and are mapped out, the host's board.py stands
    for the device board's;
  - statically: every import statement (module level or inside functions) reachable from main.py
    over the device board's tree (tools/build.py's layout: vibenode, lib/*, boardcommon, board).
The manifest is evaluated with stand-ins for MicroPython's manifest functions (include, package,
module, require) that list the files each call would freeze."""
import ast
import json
import os
import subprocess
import sys
import time

import paho.mqtt.client as mqtt
import pytest

from conftest import BUILD, MPY, ROOT, Subscriber, mpy_env, node_config, write_fs

sys.path.insert(0, os.path.join(ROOT, "tools"))
import build as buildmod  # noqa: E402

FROZEN_BOARDS = [b for b in buildmod.boards() if b != "host"]


def modname(rel):
    """'lib/vibenode/app.mpy' / 'vibenode/app.py' / 'main.py' -> module name."""
    rel = rel.replace(os.sep, "/")
    if rel.startswith("lib/"):
        rel = rel[4:]
    rel = rel.rsplit(".", 1)[0]
    if rel.endswith("/__init__"):
        rel = rel[:-9]
    return rel.replace("/", ".")


def device_tree(board):
    """module name -> source file, as on the board (tools/build.py's layout)."""
    return {modname(rel): src for src, rel in buildmod.sources(board)}


def imports_of(src):
    """Every module an import statement in src names (absolute imports; `from p import x` names
    p and p.x, x may be a submodule)."""
    out = set()
    for node in ast.walk(ast.parse(open(src).read(), src)):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
            out.update(node.module + "." + a.name for a in node.names)
    return out


def static_closure(board):
    """The device board's modules reachable by imports from main.py (with their parent packages);
    names outside the tree are the firmware's built-in modules (machine, network, json, ...)."""
    tree = device_tree(board)
    todo, seen = ["main"], set()
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        for name in imports_of(tree[m]):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                n = ".".join(parts[:i])
                if n in tree and n not in seen:
                    todo.append(n)
    return seen


@pytest.fixture(scope="module")
def booted(tmp_path_factory):
    """Modules a boot of the host node imports: a real broker, retained commands waiting (ping,
    a waveform capture, get_config), a few cycles. {module: file}."""
    from conftest import Broker
    b = Broker()
    try:
        fs = str(tmp_path_factory.mktemp("node"))
        write_fs(fs, node_config(b.port))
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="frozen-test-cmd")
        c.connect("127.0.0.1", b.port)
        c.loop_start()
        base = "vibenode/plant1/sim-0001/cmd"
        c.publish(base, json.dumps({"id": "f1", "cmd": "capture", "kind": "waveform", "axis": "x"}),
                  qos=1, retain=True).wait_for_publish(5)
        c.loop_stop()
        c.disconnect()
        sub = Subscriber(b.port)
        r = subprocess.run([MPY, os.path.join(ROOT, "tests", "mpy", "bootmods.py"), "4"], cwd=fs, env=mpy_env(),
                           capture_output=True, text=True, timeout=180)
        time.sleep(0.3)
        acks = [json.loads(p) for t, p, _ in sub.msgs if t.endswith("/cmd/ack")]
        sub.close()
    finally:
        b.stop()
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    mods = {}
    for line in r.stdout.splitlines():
        if line.startswith("MOD "):
            _, name, path = line.split(" ", 2)
            mods[name] = None if path == "-" else os.path.normpath(os.path.join(fs, path))
    assert "vibenode.app" in mods, sorted(mods)
    assert acks, "the waiting command was not answered: command handling did not run"
    return mods


def node_modules_from_boot(mods):
    """Map a host boot's modules to the node's: the host board's hardware out, builtins out."""
    host_src = {os.path.normpath(os.path.join(BUILD, rel)): src for src, rel in buildmod.sources("host")}
    node, host_only = set(), set()
    for name, path in mods.items():
        if path is None:
            continue  # built into the firmware
        src = host_src.get(path)
        assert src is not None, "%s was imported from %s, outside the build tree" % (name, path)
        if os.path.dirname(src) == os.path.join(ROOT, "boards", "host") and name == "board" \
                or not src.startswith(os.path.join(ROOT, "boards", "host") + os.sep):
            node.add(name)
        else:
            host_only.add(name)
    assert host_only, "the host board's emulated world should have been imported"
    assert "board" in node
    return node


class Manifest:
    """Stand-ins for the functions MicroPython's tools/manifestfile.py gives a manifest.py
    (include, package, module, require, options, metadata): each records what it would freeze."""

    def __init__(self, path_vars):
        self.vars = path_vars
        self.frozen = {}  # module name -> source file
        self.includes = []

    def resolve(self, p):
        for k, v in self.vars.items():
            p = p.replace("$(%s)" % k, v)
        return os.path.abspath(p)

    def add(self, target, full):
        assert os.path.exists(full), full
        name = modname(target)
        assert name not in self.frozen, "%s frozen twice" % name
        self.frozen[name] = full

    def include(self, path, **kw):
        self.includes.append(path)
        if path.startswith("$(PORT_DIR)"):
            return  # the port's own manifest (not on this machine)
        path = self.resolve(path)
        if os.path.isdir(path):
            path = os.path.join(path, "manifest.py")
        prev = os.getcwd()
        os.chdir(os.path.dirname(path))
        try:
            exec(compile(open(path).read(), path, "exec"), self.api())
        finally:
            os.chdir(prev)

    def package(self, package_path, files=None, base_path=".", opt=None):
        base = self.resolve(base_path)
        if files is not None:
            for f in files:
                self.add(os.path.join(package_path, f), os.path.join(base, package_path, f))
            return
        for dp, _, fns in os.walk(os.path.join(base, package_path)):
            for fn in fns:
                if fn.endswith(".py"):
                    full = os.path.join(dp, fn)
                    self.add(os.path.relpath(full, base), full)

    def module(self, module_path, base_path=".", opt=None):
        assert module_path.endswith(".py")
        self.add(module_path, os.path.join(self.resolve(base_path), module_path))

    def require(self, name, **kw):
        raise AssertionError("require(%r): micropython-lib's newest, not the copy the tests run" % name)

    def api(self):
        return {"include": self.include, "package": self.package, "module": self.module,
                "require": self.require, "metadata": lambda **kw: None, "options": None}


def frozen(board):
    m = Manifest({"MPY_DIR": "/nonexistent/micropython", "PORT_DIR": "/nonexistent/micropython/ports/esp32",
                  "BOARD_DIR": "/nonexistent/board"})
    m.include(os.path.join(ROOT, "boards", board, "manifest.py"))
    return m


@pytest.mark.parametrize("board", FROZEN_BOARDS)
def test_manifest_freezes_exactly_what_the_node_imports(board, booted):
    assert os.path.exists(os.path.join(ROOT, "boards", board, "manifest.py")), "no manifest for " + board
    m = frozen(board)
    assert m.includes[1] == "$(PORT_DIR)/boards/manifest.py", "the port's default manifest comes first"
    boot = node_modules_from_boot(booted)
    static = static_closure(board)
    # the static graph sees everything a boot loads (else it misses a kind of import)
    assert boot <= static, "imported at boot but not found by the import graph: %s" % sorted(boot - static)
    need = static | boot
    have = set(m.frozen)
    assert not need - have, "%s: imported by the node but not frozen: %s" % (board, sorted(need - have))
    assert not have - need, "%s: frozen but never imported: %s" % (board, sorted(have - need))
    # frozen from the right sources: the board's own board.py, boards/common as boardcommon
    tree = device_tree(board)
    for name, src in m.frozen.items():
        assert open(src, "rb").read() == open(tree[name], "rb").read(), "%s frozen from %s" % (name, src)
    assert m.frozen["board"] == os.path.join(ROOT, "boards", board, "board.py")


def test_import_graph_covers_lazy_paths():
    """The static graph follows imports inside functions: the portal, TLS, command handling, the
    sensor drivers detect loads by name are all reachable from main.py."""
    static = static_closure("esp32_devkitc")
    tree = device_tree("esp32_devkitc")
    lazy = set()
    for name in static:
        src = open(tree[name]).read()
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.FunctionDef):
                for sub in ast.walk(node):
                    if isinstance(sub, (ast.Import, ast.ImportFrom)):
                        lazy.update(n for n in imports_of_node(sub) if n in tree)
    assert lazy and lazy <= static
    assert "machine" not in static and "board" in static and "boardcommon.esp32" in static


def imports_of_node(node):
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    return [node.module] + [node.module + "." + a.name for a in node.names] if node.module else []


def test_firmware_without_toolchain_says_what_it_needs():
    env = {k: v for k, v in os.environ.items() if k not in ("MPY_DIR", "IDF_PATH")}
    r = subprocess.run(["make", "-s", "firmware", "BOARD=esp32_devkitc"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    lines = [l for l in r.stderr.splitlines() if l.startswith("firmware:")]
    assert len(lines) == 1 and "MPY_DIR=" in lines[0] and "IDF_PATH=" in lines[0], r.stdout + r.stderr
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "firmware.py"), "host"], env=env,
                       capture_output=True, text=True)
    assert r.returncode != 0 and "no boards/host/manifest.py" in r.stderr
