"""Packaging promises: no pyspark needed for the core and the fake dbutils, typed, entry points."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import entry_points, requires
from pathlib import Path

import dtflw

SCRIPT = textwrap.dedent("""
    import sys, tempfile
    from pathlib import Path

    class Block:  # make `import pyspark` fail, as on a machine without it
        def find_spec(self, name, path=None, target=None):
            if name == "pyspark" or name.startswith("pyspark."):
                raise ImportError("pyspark is blocked in this test")

    sys.meta_path.insert(0, Block())
    import dtflw, dtflw.testing, dtflw.local, dtflw.storage.azure
    from dtflw import init_flow
    from dtflw.storage.local import LocalStorage
    from dtflw.testing import FakeDbutils

    tmp = Path(tempfile.mkdtemp())
    dbutils = FakeDbutils(fs_root=tmp / "dbfs")
    def ingest(args):
        Path(args["T_out"]).write_text("x")
        return "ok"
    dbutils.notebook.register("ingest", ingest)
    flow = init_flow(LocalStorage(tmp), dbutils=dbutils)
    print(flow.notebook("ingest").output("T").run(), "pyspark" in sys.modules)
""")


def test_core_and_fake_dbutils_work_without_pyspark():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "ok False"


def test_typed_versioned_and_registered():
    assert (Path(dtflw.__file__).parent / "py.typed").exists()
    assert dtflw.__version__ == "0.7.0"
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins.get("dtflw") == "dtflw.testing.pytest_plugin"
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts.get("dtflw") == "dtflw.cli:main"
    hard = [r for r in requires("dtflw") or [] if "extra ==" not in r]
    assert [r.split(">")[0].split("=")[0].strip() for r in hard] == ["attrs"]


def test_metadata_declares_license_expression_pythons_and_urls():
    from importlib.metadata import metadata

    meta = metadata("dtflw")
    classifiers = meta.get_all("Classifier") or []
    assert meta["License-Expression"] == "BSD-3-Clause"
    assert not [c for c in classifiers if c.startswith("License ::")]  # deprecated in favour of the expression
    assert {f"Programming Language :: Python :: 3.{n}" for n in range(10, 14)} <= set(classifiers)
    assert "Framework :: Pytest" in classifiers
    assert any(url.startswith("Source, ") for url in meta.get_all("Project-URL") or [])


def test_sdist_and_wheel_build_pass_twine_check_and_ship_no_tests(tmp_path):
    import tarfile

    root = Path(__file__).resolve().parent.parent
    build = [sys.executable, "-m", "build", "--outdir", str(tmp_path), str(root)]
    subprocess.run(build, check=True, capture_output=True)
    dists = sorted(str(p) for p in tmp_path.iterdir())
    check = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *dists], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    (sdist,) = tmp_path.glob("*.tar.gz")
    names = tarfile.open(sdist).getnames()
    assert not [n for n in names if "/tests/" in n] and any(n.endswith("/dtflw/py.typed") for n in names)
