"""Outputs never destroy what vpcsim did not write, and an interrupt leaves nothing behind (issue 12, items 1, 2, 8).

Results folders are replaced only when every entry is one vpcsim wrote (its manifest says so, entry by entry); files
only when they carry the mark of the vpcsim writer that would replace them (or with ``--force``). Interrupts are real
signals sent to real subprocesses at points the child announces (it prints READY and waits), never timed guesses.

Each test of a defect failed before the fix it guards.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

import simulator as vs
from simulator.cli.core import main

from .conftest import BASE, ROOT, TRACES, deep_merge

A100 = TRACES / "azure2019-sample" / "100"
MANIFEST = "vpcsim-manifest.json"


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def scenario_file(tmp_path: Path, **changes) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(deep_merge(BASE, changes), sort_keys=False))
    return path


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


WRITERS = {  # the three commands that write a results folder, each with --out
    "run": lambda s: ["run", s],
    "sweep": lambda s: ["sweep", s, "--vary", "functions.f.memory_mb=512,1024"],
    "compare": lambda s: ["compare", s, "--set", "platform=hyperplane"],
}


# --------------------------------------------------------------------------------------------------- folders


def thesis(folder: Path) -> None:
    """The folder of the report: summary.json (once a results folder) beside a thesis and its sources."""
    folder.mkdir()
    (folder / "summary.json").write_text("{}")
    (folder / "thesis.tex").write_text("\\section{Results}")
    (folder / "src").mkdir()
    (folder / "src" / "model.py").write_text("print(1)")


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_a_folder_with_summary_json_and_user_files_is_refused(tmp_path, capsys, command):
    """Run, sweep and compare replaced such a folder whole (exit 0): thesis.tex and src/ were lost."""
    s = scenario_file(tmp_path)
    folder = tmp_path / "paper"
    thesis(folder)
    code, out, err = run(capsys, *WRITERS[command](s), "--out", folder)
    assert code == 2
    line = one_error(err)
    assert line.startswith(f"vpcsim: error: --out {folder}: ") and f"no {MANIFEST}" in line
    assert "new or empty folder" in line
    assert (folder / "thesis.tex").read_text() == "\\section{Results}"
    assert (folder / "src" / "model.py").read_text() == "print(1)"
    assert out == ""  # refused before anything ran


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_an_extra_entry_in_a_results_folder_is_named_and_refused(tmp_path, capsys, command):
    s = scenario_file(tmp_path)
    res = tmp_path / "res"
    assert run(capsys, *WRITERS[command](s), "--out", res)[0] == 0
    (res / "notes.md").write_text("my notes")
    code, _, err = run(capsys, *WRITERS[command](s), "--out", res)
    assert code == 2
    line = one_error(err)
    assert "notes.md is not vpcsim's" in line and "new or empty folder" in line
    assert (res / "notes.md").read_text() == "my notes"
    (res / "notes.md").unlink()
    assert run(capsys, *WRITERS[command](s), "--out", res)[0] == 0  # vpcsim's own folder again: replaced


def test_a_changed_file_is_named_and_refused(tmp_path, capsys):
    s = scenario_file(tmp_path)
    res = tmp_path / "res"
    assert run(capsys, "run", s, "--out", res)[0] == 0
    (res / "timeseries.csv").write_text("t_s\n0\n")  # the user's own edit
    code, _, err = run(capsys, "run", s, "--out", res)
    assert code == 2
    assert "timeseries.csv was changed since vpcsim wrote it" in one_error(err)
    assert (res / "timeseries.csv").read_text() == "t_s\n0\n"


def test_a_results_folder_of_an_older_vpcsim_is_refused_saying_why(tmp_path, capsys):
    s = scenario_file(tmp_path)
    res = tmp_path / "res"
    assert run(capsys, "run", s, "--out", res)[0] == 0
    (res / MANIFEST).unlink()  # what a vpcsim without manifests wrote
    code, _, err = run(capsys, "run", s, "--out", res)
    assert code == 2
    assert "an older vpcsim" in one_error(err)
    assert (res / "summary.json").is_file()


def test_the_manifest_lists_every_entry_with_its_size_and_hash(tmp_path, capsys):
    import hashlib

    s = scenario_file(tmp_path)
    cmp = tmp_path / "cmp"
    assert run(capsys, "compare", s, "--set", "platform=hyperplane", "--out", cmp)[0] == 0
    for folder, nested in ((cmp, {"a", "b"}), (cmp / "a", set()), (cmp / "b", set())):
        entries = json.loads((folder / MANIFEST).read_text())["entries"]
        on_disk = {}
        for p in folder.rglob("*"):
            rel = p.relative_to(folder).as_posix()
            if p.name == MANIFEST and p.parent == folder or any(rel.startswith(f"{n}/") for n in nested):
                continue
            on_disk[rel] = p
        assert set(entries) == set(on_disk)
        for rel, p in on_disk.items():
            if rel in nested:
                assert entries[rel] == {"type": "results"}  # checked by its own manifest
            elif p.is_dir():
                assert entries[rel] == {"type": "folder"}
            else:
                assert entries[rel] == {"type": "file", "size": p.stat().st_size,
                                        "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}


def test_an_empty_folder_and_a_new_path_are_fine(tmp_path, capsys):
    s = scenario_file(tmp_path)
    (tmp_path / "empty").mkdir()
    assert run(capsys, "run", s, "--out", tmp_path / "empty")[0] == 0
    assert run(capsys, "run", s, "--out", tmp_path / "new" / "deeper")[0] == 0
    assert (tmp_path / "new" / "deeper" / MANIFEST).is_file()


def test_replacing_a_results_folder_leaves_nothing_hidden_behind(tmp_path, capsys):
    s = scenario_file(tmp_path)
    for _ in range(2):
        assert run(capsys, "run", s, "--out", tmp_path / "res")[0] == 0
    assert hidden(tmp_path) == []


def test_a_symlink_to_a_results_folder_is_replaced_and_what_it_pointed_to_is_kept(tmp_path, capsys):
    """The link was moved to a hidden `.res.*.old` that was never deleted (rmtree refuses a link)."""
    s = scenario_file(tmp_path)
    real = tmp_path / "real"
    assert run(capsys, "run", s, "--out", real, "--seed", "1")[0] == 0
    link = tmp_path / "res"
    link.symlink_to(real, target_is_directory=True)
    assert run(capsys, "run", s, "--out", link, "--seed", "2")[0] == 0
    assert not link.is_symlink() and link.is_dir()
    assert json.loads((link / "summary.json").read_text())["seed"] == 2
    assert json.loads((real / "summary.json").read_text())["seed"] == 1  # the link's target is untouched
    assert hidden(tmp_path) == []


def test_a_symlink_to_a_folder_of_user_files_is_refused(tmp_path, capsys):
    s = scenario_file(tmp_path)
    paper = tmp_path / "paper"
    thesis(paper)
    link = tmp_path / "res"
    link.symlink_to(paper, target_is_directory=True)
    code, _, err = run(capsys, "run", s, "--out", link)
    assert code == 2 and f"no {MANIFEST}" in one_error(err)
    assert link.is_symlink() and (paper / "thesis.tex").is_file()


def test_the_library_writers_refuse_a_folder_with_user_files(tmp_path):
    from simulator.analysis.compare import compare, write_comparison
    from simulator.analysis.results_folder import write_run
    from simulator.present.folders import OutputError

    sc = vs.scenario_from_dict(BASE)
    folder = tmp_path / "paper"
    thesis(folder)
    with pytest.raises(OutputError, match=f"no {MANIFEST}"):
        write_run(vs.simulate(sc), folder)
    with pytest.raises(OutputError, match=f"no {MANIFEST}"):
        write_comparison(compare(sc, {"platform": "hyperplane"}), folder)
    assert (folder / "thesis.tex").is_file() and (folder / "src" / "model.py").is_file()


def test_report_rebuilt_in_place_keeps_the_folder_vpcsims(tmp_path, capsys):
    """`vpcsim report DIR` rewrites report.html and figures/: the manifest must follow, or the next run refuses."""
    s = scenario_file(tmp_path)
    cmp = tmp_path / "cmp"
    assert run(capsys, "compare", s, "--set", "platform=hyperplane", "--out", cmp)[0] == 0
    before = (cmp / "a" / "report.html").stat().st_ino
    assert run(capsys, "report", cmp / "a")[0] == 0
    assert (cmp / "a" / "report.html").stat().st_ino != before  # written again
    assert run(capsys, "compare", s, "--set", "platform=hyperplane", "--out", cmp)[0] == 0
    assert hidden(cmp) == []


def test_report_in_place_refuses_a_folder_with_user_files(tmp_path, capsys):
    s = scenario_file(tmp_path)
    res = tmp_path / "res"
    assert run(capsys, "run", s, "--out", res)[0] == 0
    (res / "notes.md").write_text("mine")
    code, _, err = run(capsys, "report", res)
    assert code == 2
    line = one_error(err)
    assert "notes.md is not vpcsim's" in line and "--out FILE" in line
    assert (res / "notes.md").read_text() == "mine"


def test_results_folders_and_their_files_have_ordinary_modes(tmp_path, capsys):
    s = scenario_file(tmp_path)
    assert run(capsys, "compare", s, "--set", "platform=hyperplane", "--out", tmp_path / "cmp")[0] == 0
    for p in [tmp_path / "cmp", *(tmp_path / "cmp").rglob("*")]:
        want = (0o777 if p.is_dir() else 0o666) & ~umask()
        assert stat.S_IMODE(p.stat().st_mode) == want, p


# --------------------------------------------------------------------------------------------------- files


def test_report_out_onto_a_scenario_is_refused_unless_forced(tmp_path, capsys):
    """`vpcsim report DIR --out scenario.yaml` turned the scenario into HTML (exit 0)."""
    s = scenario_file(tmp_path)
    res = tmp_path / "res"
    assert run(capsys, "run", s, "--out", res)[0] == 0
    before = s.read_text()
    code, _, err = run(capsys, "report", res, "--out", s)
    assert code == 2
    line = one_error(err)
    assert line.startswith(f"vpcsim: error: --out {s}: ") and "--force" in line and "HTML report" in line
    assert s.read_text() == before
    html = tmp_path / "page.html"
    assert run(capsys, "report", res, "--out", html)[0] == 0
    assert run(capsys, "report", res, "--out", html)[0] == 0  # its own report: replaced
    assert run(capsys, "report", res, "--out", s, "--force")[0] == 0
    assert s.read_text().startswith("<!DOCTYPE html>")


def test_check_junit_onto_a_foreign_file_is_refused_unless_forced(tmp_path, capsys):
    s = scenario_file(tmp_path, expect={"failure_rate": "<= 1"})
    xml = tmp_path / "report.xml"
    xml.write_text("<coverage/>\n")
    code, out, err = run(capsys, "check", s, "--junit", xml)
    assert code == 2
    assert "JUnit report" in one_error(err) and "--force" in err
    assert xml.read_text() == "<coverage/>\n" and out == ""  # refused before running
    assert run(capsys, "check", s, "--junit", xml, "--force")[0] == 0
    assert b'<testsuites name="vpcsim check"' in xml.read_bytes()[:200]
    assert run(capsys, "check", s, "--junit", xml)[0] == 0  # a JUnit file vpcsim wrote: replaced


def test_import_out_onto_a_foreign_file_is_refused_unless_forced(tmp_path, capsys):
    out_file = tmp_path / "mine.yaml"
    out_file.write_text("name: my own scenario\n")
    argv = ["import", "azure2019", A100, "--top", "2", "--out", out_file]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "imported scenario" in one_error(err) and "--force" in err
    assert out_file.read_text() == "name: my own scenario\n"
    assert run(capsys, *argv, "--force")[0] == 0
    assert run(capsys, *argv)[0] == 0  # a scenario vpcsim imported: replaced
    assert yaml.safe_load(out_file.read_text())["functions"]


def test_each_file_writer_marks_its_output_as_the_one_place_recognises_it(tmp_path, capsys):
    from simulator.present.folders import HTML_REPORT, IMPORTED_SCENARIO, JUNIT_REPORT, is_vpcsim_file

    s = scenario_file(tmp_path, expect={"failure_rate": "<= 1"})
    assert run(capsys, "run", s, "--out", tmp_path / "res")[0] == 0
    assert run(capsys, "report", tmp_path / "res", "--out", tmp_path / "r.html")[0] == 0
    assert run(capsys, "check", s, "--junit", tmp_path / "r.xml")[0] == 0
    assert run(capsys, "import", "azure2019", A100, "--top", "1", "--out", tmp_path / "i.yaml")[0] == 0
    written = {HTML_REPORT: [tmp_path / "r.html", tmp_path / "res" / "report.html"], JUNIT_REPORT: [tmp_path / "r.xml"],
               IMPORTED_SCENARIO: [tmp_path / "i.yaml"]}
    for kind, paths in written.items():
        for path in paths:
            assert is_vpcsim_file(path, kind), (kind, path)
            for other in written:
                assert other is kind or not is_vpcsim_file(path, other), (other, path)
    assert not is_vpcsim_file(s, HTML_REPORT) and not is_vpcsim_file(tmp_path / "missing", HTML_REPORT)


def test_written_files_have_ordinary_modes(tmp_path, capsys):
    """mkstemp made every written file private (0600)."""
    s = scenario_file(tmp_path, expect={"failure_rate": "<= 1"})
    assert run(capsys, "check", s, "--junit", tmp_path / "r.xml")[0] == 0
    assert run(capsys, "import", "azure2019", A100, "--top", "1", "--out", tmp_path / "i.yaml")[0] == 0
    for name in ("r.xml", "i.yaml"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask(), name
    assert hidden(tmp_path) == []


def test_a_symlinked_file_target_is_replaced_not_what_it_points_to(tmp_path, capsys):
    s = scenario_file(tmp_path, expect={"failure_rate": "<= 1"})
    kept = tmp_path / "kept.xml"
    assert run(capsys, "check", s, "--junit", kept)[0] == 0
    before = kept.read_bytes()
    link = tmp_path / "report.xml"
    link.symlink_to(kept)
    assert run(capsys, "check", s, "--junit", link)[0] == 0
    assert not link.is_symlink() and link.is_file()
    assert kept.read_bytes() == before
    assert hidden(tmp_path) == []


# --------------------------------------------------------------------------------------------------- --record-invocations


def test_record_invocations_without_out_is_an_error(tmp_path, capsys):
    """It was silently ignored: the rows were recorded (memory) and dropped."""
    s = scenario_file(tmp_path)
    code, out, err = run(capsys, "run", s, "--record-invocations")
    assert code == 2 and out == ""
    assert "--out DIR" in one_error(err)
    assert run(capsys, "run", s, "--record-invocations", "--out", tmp_path / "res")[0] == 0
    assert (tmp_path / "res" / "invocations.csv").is_file()


# --------------------------------------------------------------------------------------------------- interrupts

# A child that waits where the test wants its signal: it prints READY on stdout and sleeps; the test sends the
# signal only after reading READY, so no test depends on timing.
PRELUDE = textwrap.dedent("""
    import os, sys, time
    def ready():
        sys.stdout.write("READY\\n"); sys.stdout.flush()
    def wait():
        ready(); time.sleep(120)
""")


def child(tmp_path: Path, body: str, *argv) -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(PRELUDE + textwrap.dedent(body))
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200")
    # A session of its own: a child that hangs is ended with its workers (by its process group), never left behind.
    proc = subprocess.Popen([sys.executable, str(script), *map(str, argv)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen = []  # what the command printed before the point where it waits (run's estimate line, for one)
    while (line := proc.stdout.readline()) not in ("READY\n", ""):
        seen.append(line)
    if line != "READY\n":
        _, out, err = finish(proc)
        pytest.fail(f"child did not get ready: {''.join(seen)}{out}\n{err}")
    return proc


def finish(proc: subprocess.Popen, sig: int | None = None, timeout_s: float = 60) -> tuple[int, str, str]:
    if sig is not None:
        proc.send_signal(sig)  # to the child alone, as `kill PID` or a CI runner would
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"the child did not end within {timeout_s:.0f} s of the signal")
    return proc.returncode, out, err


WRITING = """
    from simulator.present.folders import atomic_dir
    with atomic_dir(sys.argv[1]) as tmp:
        (tmp / "half.csv").write_text("x")
        wait()
"""


def test_a_killed_writers_temporary_folder_is_cleaned_by_the_next_run(tmp_path, capsys):
    """SIGKILL left `.DIR.*.tmp` folders behind for good (26 of 44 kills)."""
    s = scenario_file(tmp_path)
    proc = child(tmp_path, WRITING, tmp_path / "out" / "res")
    assert len(hidden(tmp_path / "out")) == 1
    assert finish(proc, signal.SIGKILL)[0] == -signal.SIGKILL
    (tmp_path / "out" / ".notes.tmp").mkdir()  # the user's, named almost like ours: never touched
    assert run(capsys, "run", s, "--out", tmp_path / "out" / "other")[0] == 0
    assert hidden(tmp_path / "out") == [".notes.tmp"]


def test_a_live_writers_temporary_folder_is_never_deleted(tmp_path, capsys):
    s = scenario_file(tmp_path)
    proc = child(tmp_path, WRITING, tmp_path / "res")
    try:
        (theirs,) = hidden(tmp_path)
        assert run(capsys, "run", s, "--out", tmp_path / "other")[0] == 0
        assert hidden(tmp_path) == [theirs] and (tmp_path / theirs).is_dir()
    finally:
        finish(proc, signal.SIGKILL)


def test_a_temporary_folder_of_another_host_or_without_owner_is_kept(tmp_path, capsys):
    """A shared disk: a pid on another machine says nothing about this one's processes."""
    from simulator.present.folders import TEMP_OWNER

    s = scenario_file(tmp_path)
    proc = child(tmp_path, WRITING, tmp_path / "res")
    finish(proc, signal.SIGKILL)
    (theirs,) = hidden(tmp_path)
    owner = tmp_path / theirs / TEMP_OWNER
    record = json.loads(owner.read_text())
    owner.write_text(json.dumps(dict(record, host=record["host"] + "-elsewhere")))
    assert run(capsys, "run", s, "--out", tmp_path / "other")[0] == 0
    assert hidden(tmp_path) == [theirs]
    owner.unlink()  # no owner record: perhaps not ours after all
    assert run(capsys, "run", s, "--out", tmp_path / "other")[0] == 0
    assert hidden(tmp_path) == [theirs]


CLI_WAITING_IN = """
    import simulator.{module} as m
    real = m.{function}
    def patched(*args, **kwargs):
        {before}
        wait()
    m.{function} = patched
    from simulator.cli.core import main
    sys.exit(main(sys.argv[1:]))
"""


def waiting_in(module: str, function: str, before: str = "real(*args, **kwargs)") -> str:
    return CLI_WAITING_IN.format(module=module, function=function, before=before)


def test_sigterm_while_writing_is_a_clean_interrupt(tmp_path, capsys):
    """SIGTERM killed the process (status -15) and left the temporary folder behind."""
    s = scenario_file(tmp_path)
    res = tmp_path / "res"
    assert run(capsys, "run", s, "--out", res, "--seed", "1")[0] == 0
    proc = child(tmp_path, waiting_in("present.report", "write_report_files"), "run", s, "--out", res, "--seed", "2")
    assert len(hidden(tmp_path)) == 1  # the temporary folder it is writing
    code, _, err = finish(proc, signal.SIGTERM)
    assert code == 143
    assert one_error(err) == "vpcsim: terminated (nothing was written)"
    assert hidden(tmp_path) == []
    assert json.loads((res / "summary.json").read_text())["seed"] == 1  # the previous results, whole


def test_sigint_after_the_results_are_in_place_says_they_were_written(tmp_path):
    """It said "nothing was written" while the folder was complete (3 of 32)."""
    s = scenario_file(tmp_path)
    res = tmp_path / "res"
    proc = child(tmp_path, waiting_in("cli.run", "print_summary", before="pass"), "run", s, "--out", res)
    code, _, err = finish(proc, signal.SIGINT)
    assert code == 130
    assert one_error(err) == f"vpcsim: interrupted after writing {res} in full"
    from simulator.present.folders import check_dir_target

    check_dir_target(res)  # complete: its manifest holds
    assert hidden(tmp_path) == []


def test_sigint_while_the_folder_is_swapped_leaves_one_whole_folder(tmp_path, capsys):
    """Between moving the old folder aside and the new one in, an interrupt left neither in place."""
    s = scenario_file(tmp_path)
    res = tmp_path / "res"
    assert run(capsys, "run", s, "--out", res, "--seed", "1")[0] == 0
    body = """
        real_replace = os.replace
        def replace(src, dst):
            if os.path.basename(str(dst)) == "res":
                ready(); time.sleep(2)  # the signal arrives here
            return real_replace(src, dst)
        os.replace = replace
        from simulator.cli.core import main
        sys.exit(main(sys.argv[1:]))
    """
    proc = child(tmp_path, body, "run", s, "--out", res, "--seed", "2")
    code, _, err = finish(proc, signal.SIGINT)
    assert code == 130
    assert one_error(err) == f"vpcsim: interrupted after writing {res} in full"
    assert json.loads((res / "summary.json").read_text())["seed"] == 2
    assert hidden(tmp_path) == []


def stalled_start(seconds: float) -> str:
    """A child that runs the console script's entry point and stalls at the import of typer, as a slow disk would."""
    from importlib.metadata import entry_points

    (ep,) = entry_points(group="console_scripts", name="vpcsim")
    module, _, function = ep.value.partition(":")
    assert not module.startswith("simulator")  # importing the package alone takes half a second (pandas)
    return f"""
        class Stall:
            def find_spec(self, name, path=None, target=None):
                if name == "typer":
                    ready(); time.sleep({seconds})
        sys.meta_path.insert(0, Stall())
        from {module} import {function} as entry
        sys.argv = ["vpcsim", "validate", "s.yaml"]
        sys.exit(entry())
    """


@pytest.mark.parametrize(("sig", "code", "word"), [(signal.SIGINT, 130, "interrupted"),
                                                   (signal.SIGTERM, 143, "terminated")])
def test_a_signal_during_start_up_is_one_line(tmp_path, sig, code, word):
    """Ctrl-C while Python imported typer, rich and pandas printed a traceback. (Raising at the signal was not
    enough: 1 of 32 random SIGTERMs hit pydantic building a schema, which turned it into a SchemaError traceback;
    the signal is now held until the import is done, as here.)"""
    proc = child(tmp_path, stalled_start(2))
    rc, out, err = finish(proc, sig)
    assert rc == code
    assert one_error(err) == f"vpcsim: {word} while starting (nothing was written)"


def test_a_second_signal_during_start_up_ends_it_at_once(tmp_path):
    proc = child(tmp_path, stalled_start(60))
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)  # the first is held: the import goes on
    assert proc.poll() is None
    rc, _, err = finish(proc, signal.SIGTERM, timeout_s=20)
    assert time.monotonic() - started < 20
    assert rc == 130
    assert one_error(err) == "vpcsim: interrupted while starting (nothing was written)"


def test_sigterm_during_replications_in_workers_does_not_wait_for_them(tmp_path):
    """SIGTERM reaches the command, not its workers: it waited for every running replication to end."""
    s = scenario_file(tmp_path)
    body = """
        import importlib
        m = importlib.import_module("simulator.analysis.sweep")  # `simulator.analysis.sweep` is also the function
        def endless(task):  # a replication that would take two minutes
            ready(); time.sleep(120)
        m._replicate_plain = endless
        from simulator.cli.core import main
        sys.exit(main(sys.argv[1:]))
    """
    proc = child(tmp_path, body, "run", s, "--replications", "4", "--workers", "2", "--out", tmp_path / "res")
    started = time.monotonic()
    code, _, err = finish(proc, signal.SIGTERM, timeout_s=30)
    assert time.monotonic() - started < 30
    assert code == 143
    assert one_error(err) == "vpcsim: terminated (nothing was written)"
    assert not (tmp_path / "res").exists() and hidden(tmp_path) == []


def test_sigterm_while_a_worker_still_starts_prints_no_traceback(tmp_path):
    """A worker forked with the command's SIGTERM handler, before its initializer resets it: stopping it with
    SIGTERM made it print 'Process ForkProcess-2:' and a traceback under the command's one line (seen once in a
    full run on a loaded machine). Workers are killed: they hold no output."""
    s = scenario_file(tmp_path)
    body = """
        import importlib
        m = importlib.import_module("simulator.analysis.sweep")
        def slow_start():  # a worker that has not yet reset the handler it inherited
            ready(); time.sleep(120)
        m._worker_start = slow_start
        from simulator.cli.core import main
        sys.exit(main(sys.argv[1:]))
    """
    proc = child(tmp_path, body, "run", s, "--replications", "4", "--workers", "2", "--out", tmp_path / "res")
    assert proc.stdout.readline() == "READY\n"  # both workers started, neither has reset its handler
    started = time.monotonic()
    code, _, err = finish(proc, signal.SIGTERM, timeout_s=30)
    assert time.monotonic() - started < 30
    assert code == 143
    assert err.strip() == "vpcsim: terminated (nothing was written)", err
    assert not (tmp_path / "res").exists() and hidden(tmp_path) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_once_the_command_is_over_keeps_its_exit_code(tmp_path, sig):
    """2 of 32 random SIGINTs (and of SIGTERMs) came while Python shut down after pandas: status -2 (-15), no line,
    for a command whose results were complete."""
    from importlib.metadata import entry_points

    (ep,) = entry_points(group="console_scripts", name="vpcsim")
    module, _, function = ep.value.partition(":")
    s = scenario_file(tmp_path)
    body = f"""
        import contextlib
        from {module} import {function} as entry
        sys.argv = ["vpcsim", "run", {str(s)!r}, "--out", "res"]
        with open("printed.txt", "w") as fh, contextlib.redirect_stdout(fh):
            code = entry()
        ready(); time.sleep(3)  # Python's shutdown, drawn out
        sys.exit(code)
    """
    proc = child(tmp_path, body)
    code, _, err = finish(proc, sig)
    assert (code, err) == (0, "")
    assert "Results written to res/" in (tmp_path / "printed.txt").read_text()


@pytest.mark.parametrize(("turned_into", "message"), [
    ("raise ValueError('Invalid bounding box')", "vpcsim: interrupted (nothing was written)"),
    ("pass", "vpcsim: interrupted after writing {res} in full"),
])
def test_an_interrupt_a_library_turns_into_its_own_error_or_swallows_is_still_an_interrupt(tmp_path, capsys,
                                                                                        turned_into, message):
    """1 of 32 random SIGINTs reached matplotlib's Agg renderer, which made it "ValueError: Invalid bounding box":
    a traceback, exit 1. A library that swallows it lets the command finish, and the line says what was written."""
    s = scenario_file(tmp_path)
    res = tmp_path / "res"
    assert run(capsys, "run", s, "--out", res, "--seed", "1")[0] == 0
    body = f"""
        import simulator.present.report as m
        real = m.write_report_files
        def patched(*args, **kwargs):
            real(*args, **kwargs)
            try:
                wait()
            except KeyboardInterrupt:
                {turned_into}
        m.write_report_files = patched
        from simulator.cli.core import main
        sys.exit(main(sys.argv[1:]))
    """
    proc = child(tmp_path, body, "run", s, "--out", res, "--seed", "2")
    code, _, err = finish(proc, signal.SIGINT)
    assert code == 130
    assert one_error(err) == message.format(res=res)
    assert json.loads((res / "summary.json").read_text())["seed"] == (1 if "nothing" in message else 2)
    assert hidden(tmp_path) == []


def test_a_writer_killed_between_moving_the_old_folder_aside_and_the_new_one_in_gets_the_old_one_back(tmp_path,
                                                                                                   capsys):
    s = scenario_file(tmp_path)
    res = tmp_path / "res"
    assert run(capsys, "run", s, "--out", res, "--seed", "1")[0] == 0
    body = """
        import signal
        real_replace = os.replace
        def replace(src, dst):
            real_replace(src, dst)
            if os.path.basename(str(src)) == "res":  # the old folder is aside, the new one not yet in place
                ready(); os.kill(os.getpid(), signal.SIGKILL)
        os.replace = replace
        from simulator.cli.core import main
        sys.exit(main(sys.argv[1:]))
    """
    proc = child(tmp_path, body, "run", s, "--out", res, "--seed", "2")
    assert finish(proc)[0] == -signal.SIGKILL
    assert not res.exists() and len(hidden(tmp_path)) == 1
    assert run(capsys, "run", s, "--out", tmp_path / "other")[0] == 0  # any write into the same folder
    assert json.loads((res / "summary.json").read_text())["seed"] == 1
    assert hidden(tmp_path) == []


# ------------------------------------------------------------------ --out onto what is not a results folder, and Ctrl-C


def test_run_out_onto_the_scenario_file_is_refused_and_the_file_is_kept(tmp_path, capsys):
    path = scenario_file(tmp_path)
    before = (tmp_path / "s.yaml").read_text()
    code, _, err = run(capsys, "run", path, "--out", path)
    assert code == 2
    assert "exists and is not a folder" in one_error(err)
    assert (tmp_path / "s.yaml").is_file() and (tmp_path / "s.yaml").read_text() == before


def test_run_out_onto_a_folder_of_other_files_is_refused_and_they_are_kept(tmp_path, capsys):
    path = scenario_file(tmp_path)
    folder = tmp_path / "designs"
    folder.mkdir()
    (folder / "notes.txt").write_text("precious")
    code, _, err = run(capsys, "run", path, "--out", folder)
    assert code == 2
    assert "holds 1 entry but no vpcsim-manifest.json, so vpcsim did not write it" in one_error(err)
    assert (folder / "notes.txt").read_text() == "precious"


def test_run_out_onto_the_current_folder_is_refused(tmp_path, capsys, monkeypatch):
    path = scenario_file(tmp_path)
    (tmp_path / "summary.json").write_text("{}")  # even one that looks like a results folder
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "run", path, "--out", ".")
    assert code == 2
    assert "is the current folder" in one_error(err)
    assert (tmp_path / "s.yaml").is_file()


def test_run_out_replaces_an_earlier_results_folder_and_an_empty_one(tmp_path, capsys):
    path = scenario_file(tmp_path)
    res = tmp_path / "res"
    assert run(capsys, "run", path, "--out", res)[0] == 0
    assert run(capsys, "run", path, "--out", res, "--seed", "5")[0] == 0
    assert json.loads((res / "summary.json").read_text())["seed"] == 5
    (tmp_path / "empty").mkdir()
    assert run(capsys, "run", path, "--out", tmp_path / "empty")[0] == 0


def test_compare_and_sweep_out_onto_a_file_are_refused(tmp_path, capsys):
    path = scenario_file(tmp_path)
    other = tmp_path / "other.yaml"
    other.write_text("keep me")
    code, _, err = run(capsys, "compare", path, "--set", "platform=hyperplane", "--out", other)
    assert code == 2 and "exists and is not a folder" in one_error(err)
    code, _, err = run(capsys, "sweep", path, "--vary", "functions.f.memory_mb=512,1024", "--out", other)
    assert code == 2 and "exists and is not a folder" in one_error(err)
    assert other.read_text() == "keep me"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_file_outputs_never_replace_a_device_or_pipe(tmp_path, capsys):
    """`--junit /dev/null` (as root in CI) used to replace the device with a regular file."""
    path = scenario_file(tmp_path, expect={"failure_rate": "<= 1"})
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    for argv in (["check", path, "--junit", pipe], ["report", tmp_path, "--out", pipe],
                 ["import", "azure2019", tmp_path, "--out", pipe]):
        code, out, err = run(capsys, *argv)
        assert code == 2, argv
        assert "not a regular file" in one_error(err)
        assert stat.S_ISFIFO(os.stat(pipe).st_mode)
    assert out == ""  # refused before anything ran


def test_check_junit_into_a_folder_is_refused_before_running(tmp_path, capsys):
    path = scenario_file(tmp_path, expect={"failure_rate": "<= 1"})
    code, out, err = run(capsys, "check", path, "--junit", tmp_path)
    assert code == 2
    assert "is a folder; give a file name" in one_error(err)
    assert out == ""


def test_ctrl_c_says_so_and_writes_nothing(tmp_path, capsys, monkeypatch):
    import simulator.analysis.results

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(simulator.analysis.results, "simulate", interrupted)
    code, _, err = run(capsys, "run", scenario_file(tmp_path), "--out", tmp_path / "res")
    assert code == 130
    assert one_error(err) == "vpcsim: interrupted (nothing was written)"
    assert not (tmp_path / "res").exists()
