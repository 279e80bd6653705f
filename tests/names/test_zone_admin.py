"""`axiomatic -d STORE dns add|list|show|remove`, run as the command an operator types."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from plait.axiom.store import Store
from plait.names.zone_store import load_zone

ZONE = """$ORIGIN example.test.
$TTL 300
@   IN SOA ns1 hostmaster 7 3600 600 86400 300
    IN NS  ns1
ns1 IN A   127.0.0.1
www IN A   192.0.2.80
"""


def axiomatic(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "plait.axiom.cli", "-d", str(store), "dns", *args],
                          capture_output=True, text=True, timeout=60, check=False)


def test_add_list_show_remove(tmp_path: Path) -> None:
    zone_file = tmp_path / "example.test.zone"
    zone_file.write_text(ZONE)
    store = tmp_path / "site.axiom"

    added = axiomatic(store, "add", str(zone_file))
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "example.test. serial 7: 4 records"
    assert axiomatic(store, "list").stdout.splitlines() == ["example.test. serial 7"]
    shown = axiomatic(store, "show", "example.test").stdout
    assert "www.example.test. 300 IN A 192.0.2.80" in shown.splitlines()

    zone_file.write_text(ZONE.replace(" 7 ", " 8 ").replace("192.0.2.80", "192.0.2.81"))
    assert axiomatic(store, "add", str(zone_file)).returncode == 0
    with Store(store) as opened:
        zone = load_zone(opened, "example.test")
    assert zone is not None and zone.serial == 8
    assert "192.0.2.81" in zone.to_text()

    removed = axiomatic(store, "remove", "example.test.")
    assert removed.returncode == 0 and removed.stdout.strip() == "example.test. removed"
    assert axiomatic(store, "list").stdout == ""


def test_python_zone(tmp_path: Path) -> None:
    source = tmp_path / "py.zone"
    source.write_text('zone = [SOA("py.test", mname="ns1.py.test", rname="root.py.test", serial=3),\n'
                      '        NS("py.test", "ns1.py.test"), A("ns1.py.test", "127.0.0.2")]\n')
    result = axiomatic(tmp_path / "s.axiom", "add", "--python", str(source))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("py.test. serial 3:")


def test_errors_are_one_line(tmp_path: Path) -> None:
    store = tmp_path / "s.axiom"
    bad = tmp_path / "bad.zone"
    bad.write_text("$ORIGIN bad.test.\nwww IN A 192.0.2.1\n")       # no SOA
    for args in (("add", str(bad)), ("add", str(tmp_path / "missing.zone")),
                 ("show", "nowhere.test"), ("remove", "nowhere.test")):
        result = axiomatic(store, *args)
        assert result.returncode == 1, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"axiomatic dns {args[0]}: "), lines
