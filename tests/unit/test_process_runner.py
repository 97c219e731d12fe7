"""The supervised runner against real programs: output, limits, stopping, the sandbox.

No services are needed, but every test runs real processes; "gone" means no running (non-zombie) process,
read from /proc, because a killed grandchild's zombie waits for init to reap it.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.process import (
    ProcessLimits,
    SandboxPolicy,
    StopReason,
    kill_all_groups,
    live_groups,
    run_process,
    sandbox_available,
    sandbox_status,
)
from actors.process.limits import MB

PY = sys.executable


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(running(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if running(p)]


def spawn_script(pid_file: Path) -> list[str]:
    """A shell that starts a grandchild ``sleep 600`` (via a subshell), records both pids, then waits."""
    return ["sh", "-c", f"(sleep 600 & echo $! >> {pid_file}; wait) & echo $$ >> {pid_file}; echo started; wait"]


def recorded(pid_file: Path, count: int) -> bool:
    return pid_file.exists() and len(pid_file.read_text().split()) >= count


def read_pids(pid_file: Path, count: int, timeout: float = 10) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid_file.exists():
            pids = [int(x) for x in pid_file.read_text().split()]
            if len(pids) >= count:
                return pids
        time.sleep(0.02)
    raise AssertionError(f"the script did not record {count} pids in {timeout} s")


def test_lines_reach_the_callback_tail_and_log(tmp_path: Path) -> None:
    # Given a program writing 500 lines on stdout, one on stderr, a coloured and a progress-bar line
    seen: list[tuple[str, str]] = []
    log = tmp_path / "job.log"
    script = (
        "import sys\n"
        "for i in range(500): print(f'line {i}')\n"
        "sys.stdout.flush()\n"
        "print('oops', file=sys.stderr)\n"
        "print('\\x1b[31mred\\x1b[0m 10%\\r 100%')\n"
        "sys.stdout.write('no newline at the end')\n"
    )
    # When it runs
    result = run_process([PY, "-c", script], cwd=tmp_path, on_line=lambda s, line: seen.append((s, line)), log_path=log)
    # Then every line reached the callback, cleaned, in order per stream
    assert result.ok and result.returncode == 0 and result.stopped is None
    stdout = [line for s, line in seen if s == "stdout"]
    assert stdout[:500] == [f"line {i}" for i in range(500)]
    assert stdout[500:] == [" 100%", "no newline at the end"]
    assert [line for s, line in seen if s == "stderr"] == ["oops"]
    # and the result keeps the last 200, the log file all of them between a header and an exit line
    assert len(result.tail) == 200
    assert result.tail[-1] == "no newline at the end"
    text = log.read_text().splitlines()
    assert text[0].startswith("$ ") and "line 0" in text and "line 499" in text and "oops" in text
    assert text[-1] == "[exit: code 0, signal None]"


def test_environment_is_not_inherited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a worker whose environment holds a secret
    monkeypatch.setenv("DATABASE_URL", "postgresql://user:secret@db/x")
    # When a program prints its environment
    result = run_process(["env"], cwd=tmp_path, env={"NODE_ENV": "production"})
    # Then it has only the base variables and those it was given
    names = {line.split("=", 1)[0] for line in result.tail}
    assert names == {"PATH", "HOME", "LANG", "NODE_ENV"}


def test_a_program_runs_in_a_session_and_group_of_its_own(tmp_path: Path) -> None:
    # Given a program that reports its pid, process group and session (fields 1, 5 and 6 of /proc/self/stat;
    # ``sh -c`` with one command execs it, so the pid is the one the runner started)
    result = run_process(["sh", "-c", "exec cat /proc/self/stat"], cwd=tmp_path)
    # Then it leads a session of its own (so the kernel's autogroup schedules it apart from the worker's threads)
    # and the process group the runner kills
    fields = result.tail[0].rsplit(")", 1)[1].split()
    pid, pgid, sid = int(result.tail[0].split()[0]), int(fields[2]), int(fields[3])
    assert pgid == pid and sid == pid
    assert sid != os.getsid(0)


def test_timeout_kills_the_whole_group_including_grandchildren(tmp_path: Path) -> None:
    # Given a program whose grandchild sleeps for 10 minutes
    pid_file = tmp_path / "pids"
    started = time.monotonic()
    # When it runs with a 3 s time limit (time enough to start on a busy machine)
    result = run_process(spawn_script(pid_file), cwd=tmp_path, timeout=3.0)
    # Then it is stopped for the time limit, and neither the shell nor the grandchild runs any more
    assert result.stopped is StopReason.TIMEOUT
    assert "time limit of 3 s" in result.describe()
    assert time.monotonic() - started < 15
    pids = read_pids(pid_file, 2)
    assert wait_gone(pids, 3) == []
    assert live_groups() == {}


def test_should_stop_kills_the_group_at_once(tmp_path: Path) -> None:
    # Given a long program and a cancel that comes once it and its grandchild run
    pid_file = tmp_path / "pids"
    cancelled_at: list[float] = []

    def cancel() -> bool:
        if not cancelled_at and recorded(pid_file, 2):
            cancelled_at.append(time.monotonic())
        return bool(cancelled_at)

    # When the runner polls the cancel
    result = run_process(spawn_script(pid_file), cwd=tmp_path, should_stop=cancel, timeout=60)
    # Then the group is gone well within 3 s of the cancel
    assert result.stopped is StopReason.CANCELLED
    assert time.monotonic() - cancelled_at[0] < 3
    assert wait_gone(read_pids(pid_file, 2), 3) == []


def test_an_exception_raised_in_the_supervising_thread_still_kills_the_group(tmp_path: Path) -> None:
    # Given a should_stop that raises (as a JobCancelled or a time limit raised into the worker thread does)
    pid_file = tmp_path / "pids"

    def boom() -> bool:
        if recorded(pid_file, 2):
            raise RuntimeError("interrupted")
        return False

    # When it raises, Then the exception comes out and no process of the group is left
    with pytest.raises(RuntimeError, match="interrupted"):
        run_process(spawn_script(pid_file), cwd=tmp_path, should_stop=boom)
    assert wait_gone(read_pids(pid_file, 2), 3) == []
    assert live_groups() == {}


def test_output_limit(tmp_path: Path) -> None:
    # Given a program that writes without end, and a 1 MB output limit
    result = run_process(["yes", "spam"], cwd=tmp_path, limits=ProcessLimits(output_bytes=1 * MB), timeout=30)
    # Then it is killed for its output, having written just over the limit
    assert result.stopped is StopReason.OUTPUT
    assert 1 * MB < result.output_bytes < 20 * MB
    assert "output limit of 1 MB" in result.describe()


def test_memory_limit_counts_the_whole_group(tmp_path: Path) -> None:
    # Given two processes that each grow to 120 MB, and a 150 MB limit for the group (each alone is under it)
    grow = "import time\nb = []\nfor _ in range(12):\n    b.append(b'x' * 10_000_000); time.sleep(0.05)\ntime.sleep(60)"
    script = f'{PY} -c "{grow}" & {PY} -c "{grow}"; wait'
    # When they run
    result = run_process(["sh", "-c", script], cwd=tmp_path, limits=ProcessLimits(memory_bytes=150 * MB), timeout=60)
    # Then the group is killed for memory long before the time limit
    assert result.stopped is StopReason.MEMORY, result
    assert result.duration_seconds < 30
    assert "memory limit of 150 MB" in result.describe()


def test_cpu_time_limit(tmp_path: Path) -> None:
    # Given a busy loop and a 1 s CPU limit
    result = run_process([PY, "-c", "while True: pass"], cwd=tmp_path, limits=ProcessLimits(cpu_seconds=1), timeout=60)
    # Then the kernel stops it (SIGXCPU) and the result names the limit
    assert result.stopped is None
    assert result.signal is not None and result.returncode is None
    assert "CPU time limit of 1 s" in result.describe()


def test_process_count_limit(tmp_path: Path) -> None:
    # Given a program that forks 30 sleepers, and a limit of 10 processes
    script = "for i in $(seq 30); do sleep 30 & done; wait"
    result = run_process(["sh", "-c", script], cwd=tmp_path, limits=ProcessLimits(processes=10), timeout=60)
    assert result.stopped is StopReason.PROCESSES
    assert "limit of 10 processes" in result.describe()


def test_kill_all_groups_stops_every_running_program(tmp_path: Path) -> None:
    # Given two programs running in worker threads
    results: list[object] = []
    pid_files = [tmp_path / "a", tmp_path / "b"]
    threads = [
        threading.Thread(target=lambda f=f: results.append(run_process(spawn_script(f), cwd=tmp_path)))
        for f in pid_files
    ]
    for t in threads:
        t.start()
    pids = [p for f in pid_files for p in read_pids(f, 2)]
    # (a program may write its pid before its runner thread has registered its group: wait for both)
    deadline = time.monotonic() + 10
    while len(live_groups()) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(live_groups()) == 2
    # When the worker shuts down
    assert kill_all_groups(grace_seconds=1) == 2
    # Then both threads return and nothing runs
    for t in threads:
        t.join(5)
    assert len(results) == 2
    assert wait_gone(pids, 3) == []


# -- the sandbox ---------------------------------------------------------------------------------------


@pytest.fixture
def require_bwrap() -> None:
    # The suite installs bubblewrap (.ci/run): a machine without it fails here instead of skipping.
    assert sandbox_available(), f"the sandbox tests need bubblewrap: {sandbox_status().reason}"


@pytest.fixture
def tcp_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that answers every connection with b'hello'."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conn.sendall(b"hello")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join(2)
    server.close()


def test_sandbox_writes_only_in_the_job_directory(tmp_path: Path, require_bwrap: None) -> None:
    # Given a job directory and a directory beside it, both writable by the worker
    job_dir, outside = tmp_path / "job", tmp_path / "outside"
    job_dir.mkdir()
    outside.mkdir()
    script = (
        f"touch {job_dir}/ok && echo job-ok; "
        f"touch {outside}/bad 2>/dev/null && echo outside-written || echo outside-refused; "
        "touch /tmp/private && echo tmp-ok; "
        f"touch {Path.home()}/bad 2>/dev/null && echo home-written || echo home-refused"
    )
    # When a sandboxed program writes to each
    result = run_process(["sh", "-c", script], cwd=job_dir, sandbox=SandboxPolicy(writable=(str(job_dir),)))
    # Then only the job directory and its private /tmp take the writes
    assert result.sandboxed
    assert list(result.tail) == ["job-ok", "outside-refused", "tmp-ok", "home-refused"]
    assert (job_dir / "ok").exists()
    assert not (outside / "bad").exists()
    assert not Path("/tmp/private").exists()


def test_sandbox_has_no_network_unless_asked(tmp_path: Path, tcp_server: int, require_bwrap: None) -> None:
    connect = (
        "import socket\n"
        "try:\n"
        f"    print(socket.create_connection(('127.0.0.1', {tcp_server}), timeout=5).recv(5).decode())\n"
        "except OSError as e:\n"
        "    print('refused', type(e).__name__)\n"
    )
    policy = SandboxPolicy(writable=(str(tmp_path),))
    # Given a server on the host's loopback, When a sandboxed program without network connects, Then it cannot
    closed = run_process([PY, "-c", connect], cwd=tmp_path, sandbox=policy)
    assert closed.sandboxed and closed.tail[0].startswith("refused"), closed.tail
    # and with network asked for, the same program reaches it
    opened = run_process(
        [PY, "-c", connect], cwd=tmp_path, sandbox=SandboxPolicy(writable=(str(tmp_path),), network=True)
    )
    assert list(opened.tail) == ["hello"]


def test_sandboxed_program_is_killed_with_its_namespace(tmp_path: Path, require_bwrap: None) -> None:
    # Given a sandboxed program with a grandchild (a sleep of a duration no other program uses)
    marker = f"sleep {600 + random.randint(1, 10**6) / 10**7}"
    result = run_process(
        ["sh", "-c", f"{marker} & {marker}"], cwd=tmp_path, timeout=1, sandbox=SandboxPolicy(writable=(str(tmp_path),))
    )
    # When it times out, Then nothing of it keeps running (it is killed in its PID namespace)
    assert result.stopped is StopReason.TIMEOUT and result.sandboxed
    deadline = time.monotonic() + 3
    while _running_with_cmdline(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _running_with_cmdline(marker) == []


def test_sandboxed_limits_count_orphans_adopted_inside_the_namespace(tmp_path: Path, require_bwrap: None) -> None:
    # Given a sandboxed program whose growing grandchild is orphaned at once (its parent subshell exits), and
    # a 150 MB limit: a sandboxed program's processes are measured as its PID namespace's tree
    grow = "import time\nb = []\nfor _ in range(30):\n    b.append(b'x' * 10_000_000); time.sleep(0.05)\ntime.sleep(60)"
    script = f'({PY} -c "{grow}" &); sleep 60'
    # When it runs
    result = run_process(
        ["sh", "-c", script],
        cwd=tmp_path,
        sandbox=SandboxPolicy(writable=(str(tmp_path),)),
        limits=ProcessLimits(memory_bytes=150 * MB),
        timeout=60,
    )
    # Then the orphan's memory counts: the program is stopped for memory long before its time limit
    assert result.sandboxed and result.stopped is StopReason.MEMORY, result
    assert result.duration_seconds < 30


def test_sandboxed_process_count_limit(tmp_path: Path, require_bwrap: None) -> None:
    # Given a sandboxed program that starts 30 sleepers, orphaned, and a limit of 10 processes
    script = "for i in $(seq 30); do (sleep 30 &); done; sleep 30"
    sandbox = SandboxPolicy(writable=(str(tmp_path),))
    result = run_process(["sh", "-c", script], cwd=tmp_path, sandbox=sandbox, limits=ProcessLimits(processes=10))
    # Then it is stopped for the count
    assert result.sandboxed and result.stopped is StopReason.PROCESSES, result


def _running_with_cmdline(cmdline: str) -> list[int]:
    return [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _cmdline(p) == cmdline and running(int(p.name))
    ]


def _cmdline(proc_dir: Path) -> str:
    try:
        return (proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def test_node_runs_under_the_default_limits_and_is_bounded_by_group_memory(tmp_path: Path, require_bwrap: None) -> None:
    # Node reserves gigabytes of address space at start (why RLIMIT_AS is never used): under the default
    # limits, sandboxed, it starts and runs
    node = shutil.which("node")
    assert node is not None, "these tests need Node.js (node) on PATH"
    policy = SandboxPolicy(writable=(str(tmp_path),))
    hello = run_process([node, "-e", "console.log('hello from', process.version)"], cwd=tmp_path, sandbox=policy)
    assert hello.ok, hello.tail
    assert hello.tail[0].startswith("hello from v")
    # and a Node program that keeps allocating is stopped by the group's memory bound
    hog = "const a = []; setInterval(() => a.push(Buffer.alloc(10_000_000, 1)), 20)"
    result = run_process(
        [node, "-e", hog], cwd=tmp_path, sandbox=policy, limits=ProcessLimits(memory_bytes=200 * MB), timeout=60
    )
    assert result.stopped is StopReason.MEMORY, result
    assert "memory limit of 200 MB" in result.describe()
