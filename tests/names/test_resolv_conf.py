"""resolv.conf parsing: servers, search list, options, limits, defaults."""
from __future__ import annotations

from pathlib import Path

from plait.names.name import Name
from plait.names.resolv_conf import (
    MAX_NAMESERVERS,
    MAX_SEARCH,
    ResolvConf,
    load_resolv_conf,
    parse_resolv_conf,
)


def test_full_file(tmp_path: Path) -> None:
    path = tmp_path / "resolv.conf"
    path.write_text(
        "# generated\n"
        "; another comment\n"
        "nameserver 127.0.0.53\n"
        "nameserver ::1\n"
        "nameserver fe80::1%eth0   # link-local with a zone\n"
        "search example.test corp.example.\n"
        "options ndots:3 timeout:7 attempts:4 rotate edns0 trust-ad\n"
    )
    conf = load_resolv_conf(path)
    assert conf.nameservers == (("127.0.0.53", 53), ("::1", 53), ("fe80::1%eth0", 53))
    assert conf.search == (Name.from_text("example.test."), Name.from_text("corp.example."))
    assert (conf.ndots, conf.timeout, conf.attempts) == (3, 7.0, 4)
    assert conf.rotate and conf.edns0
    assert "trust-ad" in conf.options


def test_missing_file_gives_localhost(tmp_path: Path) -> None:
    conf = load_resolv_conf(tmp_path / "absent", hostname="box")
    assert conf == ResolvConf()
    assert conf.nameservers == (("127.0.0.1", 53),)
    assert (conf.ndots, conf.attempts, conf.rotate) == (1, 2, False)


def test_no_usable_nameserver_gives_localhost() -> None:
    conf = parse_resolv_conf("nameserver not-an-address\nnameserver\nsearch a.test\n")
    assert conf.nameservers == (("127.0.0.1", 53),)
    assert conf.search == (Name.from_text("a.test."),)


def test_last_of_domain_and_search_wins() -> None:
    assert parse_resolv_conf("search a.test b.test\ndomain c.test\n").search == (
        Name.from_text("c.test."),)
    assert parse_resolv_conf("domain c.test\nsearch a.test b.test\n").search == (
        Name.from_text("a.test."), Name.from_text("b.test."))


def test_limits_as_glibc() -> None:
    text = "".join(f"nameserver 127.0.0.{i}\n" for i in range(1, 6))
    text += "search " + " ".join(f"d{i}.test" for i in range(10)) + "\n"
    text += "options ndots:99 timeout:1000 attempts:50\n"
    conf = parse_resolv_conf(text)
    assert len(conf.nameservers) == MAX_NAMESERVERS == 3
    assert conf.nameservers[0] == ("127.0.0.1", 53)
    assert len(conf.search) == MAX_SEARCH
    assert (conf.ndots, conf.timeout, conf.attempts) == (15, 30.0, 5)


def test_bad_option_values_keep_defaults() -> None:
    conf = parse_resolv_conf("options ndots:x timeout:-1 attempts: ndots:0 unknown:5\n")
    assert conf.ndots == 0          # the later valid value
    assert conf.timeout == 5.0 and conf.attempts == 2


def test_trailing_comment_and_bad_search_names() -> None:
    conf = parse_resolv_conf("search ok.test . bad..name # comment.test\n")
    assert conf.search == (Name.from_text("ok.test."),)


def test_search_from_the_host_name(tmp_path: Path) -> None:
    conf = load_resolv_conf(tmp_path / "absent", hostname="box.lab.example")
    assert conf.search == (Name.from_text("lab.example."),)
    assert parse_resolv_conf("nameserver 127.0.0.2\n", hostname="box.lab.example.").search == (
        Name.from_text("lab.example."),)
    # a search or domain line wins, even an empty-looking one that names only the root
    assert parse_resolv_conf("search a.test\n", hostname="box.lab.example").search == (
        Name.from_text("a.test."),)
    assert parse_resolv_conf("domain .\n", hostname="box.lab.example").search == ()
    assert parse_resolv_conf("", hostname="box").search == ()
    assert parse_resolv_conf("", hostname="box..bad").search == ()
