"""Bad input to the inspector: one line naming the problem, exit status 2, no traceback."""

import socket
import subprocess
import sys

import pytest

from socketlab.inspector import __main__ as cli
from socketlab.inspector.errors import NO_RIGHTS_HELP, CaptureError
from socketlab.inspector.sniffer import SniffProcess


def run(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "socketlab", *args], capture_output=True,
                          text=True, timeout=timeout, check=False)


def assert_clean_failure(done, *needles):
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    for needle in needles:
        assert needle in lines[0]


def test_a_file_that_is_not_a_pcap(tmp_path):
    bogus = tmp_path / "notes.pcap"
    bogus.write_text("these are my lecture notes\n")
    assert_clean_failure(run("read", str(bogus)), "not_pcap", "notes.pcap")


def test_a_missing_file(tmp_path):
    assert_clean_failure(run("read", str(tmp_path / "nope.pcap")), "nope.pcap")


def test_a_malformed_key_log_names_its_line(tmp_path, demo_pcap):
    keys = tmp_path / "keys.log"
    keys.write_text("# my keys\nSOCKETLAB_BOX 1234\n")
    assert_clean_failure(run("read", str(demo_pcap), "--keylog", str(keys)), "line 2", "bad_keylog")


def test_a_port_already_in_use(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with socket.socket() as target:
            target.bind(("127.0.0.1", 0))
            target.listen()
            done = run("proxy", "--listen", str(port), "--target",
                       f"127.0.0.1:{target.getsockname()[1]}")
    assert_clean_failure(done, str(port))


def test_a_target_that_refuses():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]  # closed again: nothing listens there
    done = run("proxy", "--listen", "0", "--target", f"127.0.0.1:{dead_port}")
    assert_clean_failure(done, f"127.0.0.1:{dead_port}")


@pytest.mark.needs_root
def test_an_interface_that_does_not_exist():
    assert_clean_failure(run("sniff", "--iface", "nosuchif0", "--port", "9"), "nosuchif0")


def test_no_capture_rights_is_one_clear_line(monkeypatch, capsys):
    """The boundary that receives the PermissionError, driven through the CLI."""

    def refuse(self):
        raise CaptureError("no_capture_rights", NO_RIGHTS_HELP)

    monkeypatch.setattr(SniffProcess, "start", refuse)
    assert cli.main(["sniff", "--port", "9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") <= 2 and "proxy" in err and ("root" in err or "Administrator" in err)


def test_a_truncated_pcap_shows_whole_frames_and_says_where_it_ends(tmp_path, demo_pcap):
    data = demo_pcap.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) * 2 // 3])
    done = run("read", str(cut))
    assert done.returncode == 0
    assert "hello" in done.stdout
    assert "truncated" in done.stderr and "byte" in done.stderr
