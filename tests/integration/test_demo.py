"""`ewb demo --residents 2000`: the main job end to end, as a newcomer runs it."""

from __future__ import annotations

import re
from pathlib import Path

from config.settings import load_settings
from tests.integration.cli import ewb


def test_the_demo_warns_the_coastal_towns_and_reports_their_coverage(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path)
    done = ewb(settings, "demo", "--residents", "2000", database=False)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "2,000 sample residents generated" in out
    assert "duty_chief approved it" in out and "leader approved it" in out
    assert "duty_chief issued it" in out
    assert re.search(r"warning \d+ v1", done.stderr)  # the live progress bar
    for town in ("陈家港镇 (320921101)", "小尖镇 (320921102)", "双港镇 (320921105)"):
        line = next(x for x in out.splitlines() if x.startswith(town))
        assert line.endswith(("ok", "BELOW")), line
    assert re.search(r"county 响水县 +[\d,]+ +[\d,]+ +[\d.]+% +[\d.]+%", out)
    # Some sample residents have no channel or a refused number: the output says where,
    # and what was done about it.
    assert "unreachable" in out and "below target:" in out
    assert "done: gaps.check" in out and "done: gaps.relay_request" in out
    report = Path(out.split("HTML report: ")[1].split()[0])
    assert report.is_file() and report.parent == tmp_path / "reports"
    assert "<svg" in report.read_text(encoding="utf-8")
    assert (tmp_path / "demo.db").is_file()
