"""The registry: lazy loading, loud unavailability, binding and type checks, entry points."""

from __future__ import annotations

import sys
import textwrap
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from device_modules.context import DeviceContext
from device_modules.errors import DeviceError, FunctionUnavailable, InvalidArguments
from device_modules.outcome import execute
from device_modules.registry import CTX_KEY, MODULES, Registry, check_value, matches
from device_modules.spec import Availability, ModuleSpec

GOOD = '''
"""A well-formed module."""
from __future__ import annotations

from device_modules.context import DeviceContext
from device_modules.spec import Availability, ModuleSpec

CHECKS = []


def hello(ctx: DeviceContext, name: str = "world") -> str:
    """Greet ``name``.

    CLI Example::

        fleet '*' good.hello you
    """
    return f"hello {name}"


def add(ctx: DeviceContext, a: int, b: int = 1) -> int:
    """Add two integers."""
    return a + b


def _available(ctx: DeviceContext) -> Availability:
    CHECKS.append(ctx.minion_id)
    return Availability.yes("fake")


MODULE = ModuleSpec(name="good", functions={"hello": hello, "add": add}, available=_available)
'''

BROKEN = {
    "nodriver": "import no_such_driver_xyz\n",
    "nomodule": "VALUE = 1\n",
    "wrongtype": "MODULE = {'name': 'wrongtype'}\n",
    "crashes": "raise RuntimeError('bad config at import')\n",
    "syntax": "def broken(:\n",
    "saysno": textwrap.dedent("""
        from device_modules.spec import Availability, ModuleSpec
        MODULE = ModuleSpec(name="saysno", functions={"f": lambda ctx: 1},
                            available=lambda ctx: Availability.no("no /dev/can0"))
    """),
    "raises": textwrap.dedent("""
        from device_modules.spec import ModuleSpec
        def _available(ctx):
            raise OSError("probe failed")
        MODULE = ModuleSpec(name="raises", functions={"f": lambda ctx: 1}, available=_available)
    """),
    "misnamed": textwrap.dedent("""
        from device_modules.spec import ModuleSpec
        MODULE = ModuleSpec(name="other", functions={})
    """),
    "noctx": textwrap.dedent("""
        from device_modules.spec import ModuleSpec
        def f():
            return 1
        MODULE = ModuleSpec(name="noctx", functions={"f": f})
    """),
}


@pytest.fixture
def package(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A throwaway package on sys.path holding GOOD and every BROKEN module."""
    name = f"fakemods_{uuid.uuid4().hex[:8]}"
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "good.py").write_text(GOOD)
    for mod, text in BROKEN.items():
        (root / f"{mod}.py").write_text(text)
    sys.path.insert(0, str(tmp_path))
    yield name, tmp_path
    sys.path.remove(str(tmp_path))
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[key]


def table(pkg: str, *names: str) -> dict[str, str]:
    return {n: f"{pkg}.{n}" for n in names}


@pytest.fixture
def ctx() -> DeviceContext:
    return DeviceContext(minion_id="pi-1")


def test_imports_lazily_and_checks_availability_once(package: tuple[str, Path], ctx: DeviceContext) -> None:
    pkg, _ = package
    registry = Registry(ctx, table(pkg, "good", "nodriver"), entry_points=False)
    assert f"{pkg}.good" not in sys.modules
    assert registry.call("good.hello", ["pi"], {}) == "hello pi"
    assert f"{pkg}.good" in sys.modules and f"{pkg}.nodriver" not in sys.modules
    registry.call("good.add", [1], {})
    registry.list_functions()
    assert sys.modules[f"{pkg}.good"].CHECKS == ["pi-1"]


def test_broken_modules_become_unavailable_with_reasons(package: tuple[str, Path], ctx: DeviceContext) -> None:
    pkg, _ = package
    registry = Registry(ctx, table(pkg, "good", *BROKEN), entry_points=False)
    reasons = registry.unavailable()
    assert set(reasons) == set(BROKEN)
    assert "No module named 'no_such_driver_xyz'" in reasons["nodriver"]
    assert "defines no MODULE" in reasons["nomodule"]
    assert "not a ModuleSpec" in reasons["wrongtype"]
    assert "bad config at import" in reasons["crashes"]
    assert "SyntaxError" in reasons["syntax"]
    assert reasons["saysno"] == "no /dev/can0"
    assert "OSError: probe failed" in reasons["raises"]
    assert "named 'other'" in reasons["misnamed"]
    assert "does not take ctx" in reasons["noctx"]
    assert registry.list_modules() == ["good"]
    assert registry.availability()["good"] == Availability.yes("fake")
    assert registry.availability()["saysno"] == Availability.no("no /dev/can0")


def test_a_missing_module_in_the_table_is_unavailable(ctx: DeviceContext) -> None:
    registry = Registry(ctx, {"ghost": "device_modules.no_such_module"}, entry_points=False)
    assert "No module named 'device_modules.no_such_module'" in registry.unavailable()["ghost"]


def test_function_unavailable_messages(package: tuple[str, Path], ctx: DeviceContext) -> None:
    pkg, _ = package
    registry = Registry(ctx, table(pkg, "good", "saysno"), entry_points=False)
    for fun in ("nosuch.fn", "good.nosuch", "good", "good.", ".hello", "good._available"):
        with pytest.raises(FunctionUnavailable) as info:
            registry.get(fun)
        assert str(info.value) == f"'{fun}' is not available."
    with pytest.raises(FunctionUnavailable) as info:
        registry.call("saysno.f", [], {})
    assert str(info.value) == "'saysno.f' is not available. (no /dev/can0)"


def test_lists_and_docs(package: tuple[str, Path], ctx: DeviceContext) -> None:
    pkg, _ = package
    registry = Registry(ctx, table(pkg, "good", "saysno"), entry_points=False)
    assert registry.list_functions() == ["good.add", "good.hello"]
    assert registry.list_functions("good.h*") == ["good.hello"]
    assert registry.list_functions("good") == ["good.add", "good.hello"]
    assert registry.list_functions("saysno") == []
    docs = registry.doc("good.hello")
    assert list(docs) == ["good.hello"] and docs["good.hello"].startswith("Greet ``name``.")
    assert "CLI Example:" in docs["good.hello"]
    assert registry.doc("*.add") == {"good.add": "Add two integers."}
    assert registry.usage("good.add") == "good.add(a: int, b: int = 1)"


@pytest.mark.parametrize(("fun", "pattern", "expected"), [
    ("test.ping", "test.ping", True),
    ("test.ping", "test", True),
    ("test.ping", "tes", False),
    ("test.ping", "test.*", True),
    ("test.ping", "*.ping", True),
    ("test.ping", "t?st.p[io]ng", True),
    ("test.ping", "cmd", False),
])
def test_matches(fun: str, pattern: str, expected: bool) -> None:
    assert matches(fun, pattern) is expected


def test_registry_puts_itself_in_ctx(ctx: DeviceContext) -> None:
    registry = Registry(ctx, {}, entry_points=False)
    assert ctx.extra[CTX_KEY] is registry


# ---- binding and types ------------------------------------------------------------------

def takes(ctx: DeviceContext, n: int, ratio: float = 1.0, flag: bool = False, label: str | None = None,
          *, items: list[str] | None = None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Echo the bound arguments."""
    return {"n": n, "ratio": ratio, "flag": flag, "label": label, "items": items, "extra": extra}


def many(ctx: DeviceContext, *nums: int, **opts: bool) -> list[Any]:
    return [list(nums), opts]


def untyped(ctx, thing, other=None):  # type: ignore[no-untyped-def]
    return [thing, other]


SPEC = ModuleSpec(name="t", functions={"takes": takes, "many": many, "untyped": untyped})


@pytest.fixture
def typed(ctx: DeviceContext) -> Registry:
    return Registry(ctx, {"t": SPEC}, entry_points=False)


@pytest.mark.parametrize(("args", "kwargs", "expected"), [
    ([1], {}, {"n": 1, "ratio": 1.0, "flag": False, "label": None, "items": None, "extra": None}),
    (["5", "2.5", "True", "x"], {}, {"n": 5, "ratio": 2.5, "flag": True, "label": "x", "items": None, "extra": None}),
    ([5], {"ratio": 2, "items": ["a"], "extra": {"k": 1}},
     {"n": 5, "ratio": 2, "flag": False, "label": None, "items": ["a"], "extra": {"k": 1}}),
    ([5], {"items": "[a, b]", "extra": "{k: v}"},
     {"n": 5, "ratio": 1.0, "flag": False, "label": None, "items": ["a", "b"], "extra": {"k": "v"}}),
    ([5], {"label": 12}, {"n": 5, "ratio": 1.0, "flag": False, "label": "12", "items": None, "extra": None}),
    (["0x10"], {"flag": "off"}, {"n": 16, "ratio": 1.0, "flag": False, "label": None, "items": None, "extra": None}),
])
def test_binding_checks_and_converts(typed: Registry, args: list[Any], kwargs: dict[str, Any],
                                     expected: dict[str, Any]) -> None:
    assert typed.call("t.takes", args, kwargs) == expected


@pytest.mark.parametrize(("args", "kwargs", "needle"), [
    ([], {}, "missing a required argument: 'n'"),
    ([1, 2, 3, 4, 5], {}, "too many positional arguments"),
    ([1], {"nope": 1}, "unexpected keyword argument 'nope'"),
    ([1], {"n": 2}, "multiple values for argument 'n'"),
    (["abc"], {}, "argument 'n' must be int, got str 'abc'"),
    (["1.5"], {}, "argument 'n' must be int, got str '1.5'"),
    ([True], {}, "argument 'n' must be int, got bool True"),
    ([1.0], {}, "argument 'n' must be int, got float 1.0"),
    ([1, "fast"], {}, "argument 'ratio' must be float, got str 'fast'"),
    ([1], {"flag": 1}, "argument 'flag' must be bool, got int 1"),
    ([1], {"label": True}, "argument 'label' must be None | str, got bool True"),
    ([1], {"items": "a, b"}, "argument 'items' must be None | list, got str 'a, b'"),
    ([1], {"extra": [1]}, "argument 'extra' must be None | dict, got list [1]"),
])
def test_binding_errors_name_function_and_signature(typed: Registry, args: list[Any], kwargs: dict[str, Any],
                                                    needle: str) -> None:
    with pytest.raises(InvalidArguments) as info:
        typed.call("t.takes", args, kwargs)
    message = str(info.value)
    assert message.startswith("t.takes: ") and needle in message
    assert message.endswith("Usage: t.takes(n: int, ratio: float = 1.0, flag: bool = False, "
                            "label: str | None = None, *, items: list[str] | None = None, "
                            "extra: dict[str, Any] | None = None)")
    assert isinstance(info.value.__cause__, TypeError)


def test_variadic_parameters_are_checked_per_value(typed: Registry) -> None:
    assert typed.call("t.many", ["1", 2], {"a": "yes", "b": False}) == [[1, 2], {"a": True, "b": False}]
    with pytest.raises(InvalidArguments, match="argument 'b' must be bool, got str 'maybe'"):
        typed.call("t.many", [], {"b": "maybe"})
    with pytest.raises(InvalidArguments, match="argument 'nums' must be int"):
        typed.call("t.many", ["x"], {})


def test_unannotated_parameters_are_not_checked(typed: Registry) -> None:
    assert typed.call("t.untyped", ["7"], {"other": [1]}) == ["7", [1]]


@pytest.mark.parametrize(("annotation", "value", "expected"), [
    (int, "42", 42),
    (float, "42", 42),
    (float, 3, 3),
    (int | None, "None", None),
    (int | None, "null", None),
    (str, 1.5, "1.5"),
    (Any, object, object),
    (Path, "x", "x"),
    (list[int], ["a"], ["a"]),  # element types are not checked
])
def test_check_value(annotation: Any, value: Any, expected: Any) -> None:
    assert check_value("p", annotation, value) == expected


def test_function_exceptions_pass_through_call_with_their_type(ctx: DeviceContext) -> None:
    def fails(ctx: DeviceContext) -> None:
        raise DeviceError("port gone")

    registry = Registry(ctx, {"x": ModuleSpec(name="x", functions={"fails": fails})}, entry_points=False)
    with pytest.raises(DeviceError, match="port gone"):
        registry.call("x.fails")


def test_dict_result_false_sets_retcode_like_salt(ctx: DeviceContext) -> None:
    functions: dict[str, Callable[..., Any]] = {
        "bad": lambda ctx: {"result": False, "comment": "nope"},
        "unsuccessful": lambda ctx: {"success": False},
        "good": lambda ctx: {"result": True},
    }
    registry = Registry(ctx, {"r": ModuleSpec(name="r", functions=functions)}, entry_points=False)
    assert (execute(registry, "r.bad", []).retcode, execute(registry, "r.bad", []).success) == (1, False)
    assert execute(registry, "r.unsuccessful", []).retcode == 1
    assert execute(registry, "r.good", []).retcode == 0


def test_concurrent_first_use_loads_once(package: tuple[str, Path], ctx: DeviceContext) -> None:
    pkg, _ = package
    registry = Registry(ctx, table(pkg, "good"), entry_points=False)
    barrier = threading.Barrier(16)
    results: list[Any] = []

    def use() -> None:
        barrier.wait()
        results.append(registry.call("good.add", [1, 2], {}))

    threads = [threading.Thread(target=use) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [3] * 16
    assert sys.modules[f"{pkg}.good"].CHECKS == ["pi-1"]


# ---- the real table and entry points -------------------------------------------------------

def test_default_table_loads_the_software_modules(ctx: DeviceContext) -> None:
    registry = Registry(ctx)
    assert {"test", "cmd", "grains", "sys", "saltutil"} <= set(registry.list_modules())
    assert set(registry.availability()) >= set(MODULES)
    for name, reason in registry.unavailable().items():
        assert name in MODULES and reason, "every unavailable module says why"
    assert registry.call("test.ping") is True


def test_entry_points_add_modules_and_the_table_wins(package: tuple[str, Path], ctx: DeviceContext) -> None:
    pkg, site = package
    dist = site / "edgefleet_fakeplugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: edgefleet-fakeplugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        f"[edgefleet.device_modules]\ngood = {pkg}.good\nsaysno = {pkg}.saysno:MODULE\ntest = {pkg}.good\n"
    )
    registry = Registry(ctx, {"test": "device_modules.test"})
    assert registry.call("good.hello", [], {}) == "hello world"
    assert registry.unavailable()["saysno"] == "no /dev/can0"
    assert registry.call("test.ping") is True  # the table's test, not the plugin's
    assert "good" not in Registry(DeviceContext("pi-2"), {}, entry_points=False).availability()


def test_plugin_precheck_reads_only_what_importlib_metadata_would(tmp_path: Path) -> None:
    from importlib.machinery import PathFinder

    from device_modules.registry import _may_declare_plugins

    site = tmp_path / "site"
    (site / "other-1.0.dist-info").mkdir(parents=True)
    (site / "other-1.0.dist-info" / "entry_points.txt").write_text("[console_scripts]\nx = y:z\n")
    (site / "legacy-1.0.egg-info").write_text("Metadata-Version: 1.0\n")  # a file, not a directory
    assert not _may_declare_plugins([str(site), str(tmp_path / "missing")], [PathFinder])
    (site / "Plugin-2.0.DIST-INFO").mkdir()
    (site / "Plugin-2.0.DIST-INFO" / "entry_points.txt").write_text("[edgefleet.device_modules]\nx = y\n")
    assert _may_declare_plugins([str(site)], [PathFinder])
    wheel = tmp_path / "bundle.zip"
    wheel.write_bytes(b"PK\x05\x06" + bytes(18))
    assert _may_declare_plugins([str(wheel)], [PathFinder])  # a zip: the full scan decides

    class Finder:
        def find_distributions(self, context: object = None) -> list[object]:
            return []

    assert _may_declare_plugins([], [PathFinder, Finder()])


def test_no_plugins_means_no_importlib_metadata(tmp_path: Path) -> None:
    """The entry-point scan costs an idle minion ~1.5 MiB only when a plugin may be installed."""
    import subprocess

    code = ("import sys\nfrom device_modules.context import DeviceContext\n"
            "from device_modules.registry import Registry, _may_declare_plugins\n"
            "Registry(DeviceContext('pi-1')).availability()\n"
            "print('importlib.metadata' in sys.modules, _may_declare_plugins(sys.path, sys.meta_path))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    imported, may = out.stdout.split()
    assert imported == may, out.stderr  # False False unless a plugin is installed here
