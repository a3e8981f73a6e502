"""The runner as a service: the systemd unit in templates/, its command serving a real
repository, a push waking it at once, and a clean stop on SIGTERM."""

import getpass
import shlex
import shutil
import signal
import subprocess

import pytest

from conftest import ROOT

UNIT = ROOT / "templates" / "mergecoord@.service"


def unit_for(repo):
    """The unit as an administrator fills it in for this installation and user, and
    the instance name systemd gives the repository."""
    text = UNIT.read_text().replace("/opt/mergecoord", str(ROOT)).replace("User=git", f"User={getpass.getuser()}")
    instance = subprocess.run(["systemd-escape", "--path", str(repo)], capture_output=True, text=True,
                              check=True).stdout.strip() if shutil.which("systemd-escape") else None
    return text, instance


def exec_start(text, repo):
    line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    return [arg.replace("%f", str(repo)) for arg in shlex.split(line[len("ExecStart="):])]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze missing (package systemd)")
def test_the_unit_template_is_one_systemd_accepts(central, tmp_path):
    text, instance = unit_for(central.path)
    unit = tmp_path / "mergecoord@.service"
    unit.write_text(text)
    proc = subprocess.run(["systemd-analyze", "verify", str(tmp_path / f"mergecoord@{instance}.service")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == ""        # an unknown key or a bad value is a warning here


def test_a_push_wakes_the_serving_runner_at_once_and_sigterm_stops_it(central, make_worker):
    # Serving as the unit starts it; its poll is an hour, so only the wake-up can explain a merge.
    central.set_config((central.state / "config.toml").read_text()
                       .replace("# poll_interval = 2.0", "poll_interval = 3600.0"))
    assert "poll_interval = 3600.0" in (central.state / "config.toml").read_text()
    text, _instance = unit_for(central.path)
    argv = exec_start(text, central.path)
    assert argv[0] == str(ROOT / ".venv" / "bin" / "mergecoord") and argv[-1] == "start"
    served = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert central.wait_for(lambda: (central.state / "wake").exists())
        assert central.wait_for(lambda: central.json("status")["runner_active"])
        apollo = make_worker("Apollo")
        apollo.work("sprint/one", {"one.txt": "1\n"})
        assert central.wait_for(lambda: central.merge_ids() == ["m-0001"], timeout=30)
        apollo.work("sprint/two", {"two.txt": "2\n"})
        assert central.wait_for(lambda: central.merge_ids() == ["m-0001", "m-0002"], timeout=30)
    finally:
        served.send_signal(signal.SIGTERM)
        out, _ = served.communicate(timeout=30)
    assert served.returncode == 0, out
    assert out.rstrip().endswith("stopped")
    assert "Traceback" not in out
    assert central.json("queue")["entries"] == []
    assert not central.json("status")["runner_active"]
