"""The benchmark report: per-repetition verdicts, and saved runs rendered again.

No I/O beyond temporary files; nothing is measured.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import report
from benchmarks.runner import REPO, Options, Run
from benchmarks.spec import CLIENTS, WORKLOADS

_CLIENTS = {c.key: c for c in CLIENTS}
_WORKLOADS = {w.key: w for w in WORKLOADS}
_PACKAGES = {"python": "3.11.7", "aiohttp": "3.14.5"}
_HOST = {"cpu": "Test CPU", "cores": "2", "kernel": "Linux 6", "memory": "4 GiB"}


def _run(w1: dict[str, list[float]], w3: dict[str, list[float]]) -> Run:
    """A run of W1 (CPU seconds per 1,000 requests) and W3 (RSS bytes per stream) by rep."""
    results: list[dict[str, Any]] = []
    for client, values in w1.items():
        for rep, cpu in enumerate(values):
            results.append(
                {"client": client, "workload": "W1", "rep": rep, "units": 1000, "cpu": cpu,
                 "cpu_user": cpu * 0.8, "wall": 1.0, "server_cpu": 0.1, "ok": True}
            )  # fmt: skip
    for client, values in w3.items():
        for rep, rss in enumerate(values):
            results.append(
                {"client": client, "workload": "W3", "rep": rep, "units": 1000, "cpu": 1.0,
                 "rss_per_stream": rss, "ok": True}
            )  # fmt: skip
    clients = tuple(_CLIENTS[k] for k in dict.fromkeys([*w1, *w3]))
    options = Options(
        workloads=(_WORKLOADS["W1"], _WORKLOADS["W3"]), clients=clients, reps=len(w1["floor"])
    )
    return Run(
        options=options,
        results=results,
        server_version="nginx/1.22.1",
        pinned=(0, 1),
        started=1_795_593_866.0,
        finished=1_795_595_681.0,
        revision_start="abc1234",
        revision_end="abc1234",
    )


def _verdict(run: Run, target: str) -> report.Verdict:
    found = [v for v in report.verdicts(run, report.cells(run)) if v.target.startswith(target)]
    assert len(found) == 1
    return found[0]


def test_verdicts_count_the_repetitions_that_meet_a_target_alone() -> None:
    run = _run(
        {
            "floor": [0.100, 0.100, 0.100],
            "deepinfra_async": [0.110, 0.130, 0.105],  # 1.10, 1.30, 1.05: median 1.10
            "deepinfra_async+orjson": [0.095, 0.100, 0.098],  # median 0.98, one rep at 1.00
        },
        {
            "floor": [20_000.0, 21_000.0, 22_000.0],
            "deepinfra_async": [19_000.0, 21_500.0, 21_000.0],
        },
    )
    w1 = _verdict(run, "W1 <= 1.2x")
    assert (w1.measured, w1.met, w1.held, w1.of) == ("1.10x", True, 2, 3)
    # W3: paired ratios 0.95, 1.02, 0.95; the median ratio is 21,000 / 21,000 = 1.00.
    w3 = _verdict(run, "W3")
    assert (w3.measured, w3.met, w3.held, w3.of) == ("1.00x", True, 2, 3)
    # "Beats" is strict: a repetition equal to the floor does not count.
    fast = _verdict(run, "W1 with orjson")
    assert (fast.measured, fast.met, fast.held, fast.of) == ("0.98x", True, 2, 3)


def test_the_report_names_the_targets_met_only_by_the_median() -> None:
    run = _run(
        {"floor": [0.1, 0.1, 0.1], "deepinfra_async": [0.110, 0.130, 0.105]},
        {"floor": [20_000.0, 20_000.0, 20_000.0], "deepinfra_async": [19_000.0] * 3},
    )
    text = report.markdown(run, [], packages=_PACKAGES, host=_HOST)
    assert "| W1 <= 1.2x floor | 1.10x | yes | 2 of 3 |" in text
    assert "| W3 RSS per open stream <= floor | 0.95x | yes | 3 of 3 |" in text
    assert "Met by the median but not in every repetition: W1 <= 1.2x floor (2 of 3)." in text
    # W3 held in every repetition, so the pointer to its own tool is not given.
    assert "benchmarks.stream_memory" not in text


def test_the_paragraph_points_to_stream_memory_for_w3_and_is_absent_when_all_hold() -> None:
    run = _run(
        {"floor": [0.1, 0.1, 0.1], "deepinfra_async": [0.101, 0.102, 0.103]},
        {"floor": [20_000.0] * 3, "deepinfra_async": [21_000.0, 19_000.0, 19_500.0]},
    )
    text = report.markdown(run, [], packages=_PACKAGES, host=_HOST)
    assert "| W3 RSS per open stream <= floor | 0.97x | yes | 2 of 3 |" in text
    assert "benchmarks.stream_memory" in text
    run = _run(
        {"floor": [0.1, 0.1, 0.1], "deepinfra_async": [0.101, 0.102, 0.103]},
        {"floor": [20_000.0] * 3, "deepinfra_async": [19_000.0] * 3},
    )
    assert "not in every repetition" not in report.markdown(run, [], packages=_PACKAGES, host=_HOST)


def test_a_saved_run_renders_as_the_report_of_the_run(tmp_path: Path) -> None:
    run = _run(
        {"floor": [0.1, 0.1, 0.1], "deepinfra_async": [0.110, 0.130, 0.105]},
        {"floor": [20_000.0] * 3, "deepinfra_async": [19_000.0] * 3},
    )
    path = tmp_path / "run.json"
    report.save_raw(run, path, ["openai: `openai` is not installed"])
    saved = report.load_raw(path)
    text = saved.markdown()
    # Where it ran is read from the file, not from the machine that renders it.
    assert saved.packages == report.versions()
    assert saved.skipped == ["openai: `openai` is not installed"]
    expected = report.markdown(
        run, ["openai: `openai` is not installed"], packages=saved.packages, host=saved.host
    )
    assert text == expected
    assert "- Skipped clients: openai: `openai` is not installed." in text
    saved.packages["aiohttp"] = "0.0.1"
    assert "aiohttp 0.0.1" in saved.markdown()


def test_the_committed_record_is_the_report_of_its_saved_run() -> None:
    """``benchmarks/RESULTS.md`` is exactly what its measurements in RESULTS.json render to."""
    saved = report.load_raw(REPO / "benchmarks" / "RESULTS.json")
    assert (REPO / "benchmarks" / "RESULTS.md").read_text() == saved.markdown()
    assert saved.run.options.reps >= 3
    assert report.main([str(REPO / "benchmarks" / "RESULTS.json"),
                        "--check", str(REPO / "benchmarks" / "RESULTS.md")]) == 0  # fmt: skip


def test_check_fails_on_a_report_that_differs(tmp_path: Path, capsys: Any) -> None:
    run = _run(
        {"floor": [0.1], "deepinfra_async": [0.11]}, {"floor": [1.0], "deepinfra_async": [1.0]}
    )
    raw = tmp_path / "run.json"
    report.save_raw(run, raw)
    md = tmp_path / "RESULTS.md"
    md.write_text(report.load_raw(raw).markdown().replace("1.10x", "1.00x"))
    assert report.main([str(raw), "--check", str(md)]) == 1
    assert "is not the report of" in capsys.readouterr().err
    assert report.main([str(raw), "--out", str(md)]) == 0
    assert report.main([str(raw), "--check", str(md)]) == 0


@pytest.mark.parametrize(
    "payload",
    [{"results": []}, {"reps": 3}, [1, 2], {"clients": ["nobody"], "reps": 1, "results": []}],
)
def test_a_file_that_is_not_a_saved_run_is_refused_by_name(tmp_path: Path, payload: object) -> None:
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(payload))
    with pytest.raises(ValueError, match=r"odd\.json is not a run saved by python -m benchmarks"):
        report.load_raw(path)
    assert report.main([str(path)]) == 2


def test_check_against_a_missing_report_exits_2_naming_it(tmp_path: Path, capsys: Any) -> None:
    run = _run(
        {"floor": [0.1], "deepinfra_async": [0.1]}, {"floor": [1.0], "deepinfra_async": [1.0]}
    )
    raw = tmp_path / "run.json"
    report.save_raw(run, raw)
    missing = tmp_path / "nowhere.md"
    assert report.main([str(raw), "--check", str(missing)]) == 2
    assert "nowhere.md" in capsys.readouterr().err
