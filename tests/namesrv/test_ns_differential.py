"""Differential check: the same conversation against the REAL Apache RocketMQ 4.9.4 namesrv and
against ours must give identical responses (code, remark, ext fields, body bytes).

Skipped unless java is installed and the java helper's ``tests/interop/real_rocketmq.py`` has a
complete jar cache (set RMQLITE_FETCH_REAL=1 to let it download the jars with mvn first).
Only the real nameserver is started (no broker): fake brokers register through the scenario.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import signal
import socket
import sys
from pathlib import Path
from types import ModuleType

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from ns_scenario import run_scenario  # noqa: E402

from rmqlite.namesrv.server import NameServer  # noqa: E402

REAL_MODULE = Path(__file__).parents[1] / "interop" / "real_rocketmq.py"
pytestmark = pytest.mark.interop


def _real_module() -> ModuleType:
    if shutil.which("java") is None:
        pytest.skip("java not installed")
    if not REAL_MODULE.exists():
        pytest.skip("tests/interop/real_rocketmq.py not present")
    spec = importlib.util.spec_from_file_location("ns_real_rocketmq", REAL_MODULE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _real_home(real: ModuleType) -> Path:
    home = Path(real.cache_dir())
    ready = (home / ".complete").exists() and any((home / "lib").glob("rocketmq-namesrv-*.jar"))
    if not ready and os.environ.get("RMQLITE_FETCH_REAL") != "1":
        pytest.skip("real RocketMQ jars not cached (set RMQLITE_FETCH_REAL=1 to fetch)")
    return Path(real.ensure_rocketmq_lib())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _start_real_namesrv(real: ModuleType, home: Path, work: Path,
                              port: int) -> asyncio.subprocess.Process:
    conf = work / "namesrv.conf"
    conf.write_text(f"listenPort={port}\nkvConfigPath={work}/namesrv/kvConfig.json\n"
                    f"configStorePath={work}/namesrv/namesrv.properties\n")
    cmd = ["java", *real.COMMON_JVM, *real.NAMESRV_HEAP, *real.JAVA17_OPENS,
           f"-Drmqlite.logdir={work}", f"-Duser.home={work}", "-cp", str(home / "lib" / "*"),
           "org.apache.rocketmq.namesrv.NamesrvStartup", "-c", str(conf)]
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=work, env=dict(os.environ, ROCKETMQ_HOME=str(home), JAVA_OPT=""),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    assert proc.stdout is not None
    seen = []

    async def boot() -> None:
        while True:
            line = (await proc.stdout.readline()).decode(errors="replace")  # type: ignore[union-attr]
            if not line:
                raise RuntimeError("real namesrv exited:\n" + "".join(seen[-30:]))
            seen.append(line)
            if "The Name Server boot success" in line:
                return

    try:
        await asyncio.wait_for(boot(), real.BOOT_TIMEOUT_S)
    except BaseException:
        _stop(proc)
        raise
    return proc


def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.timeout(240)
async def test_same_responses_as_real_namesrv(tmp_path: Path) -> None:
    real = _real_module()
    home = _real_home(real)
    work = tmp_path / "real"
    work.mkdir()
    proc = await _start_real_namesrv(real, home, work, _free_port())
    try:
        port = int((work / "namesrv.conf").read_text().split("\n")[0].split("=")[1])
        theirs = await run_scenario(f"127.0.0.1:{port}", "_d")
    finally:
        _stop(proc)
        await asyncio.wait_for(proc.wait(), 30)
    ours_srv = NameServer(port=0, kv_config_path=str(tmp_path / "ours" / "kvConfig.json"))
    await ours_srv.start()
    try:
        ours = await run_scenario(f"127.0.0.1:{ours_srv.port}", "_d")
    finally:
        await ours_srv.close()
    assert [s.label for s in ours] == [s.label for s in theirs]
    diffs = [f"ours: {o.show()}\njava: {t.show()}" for o, t in zip(ours, theirs)
             if (o.code, o.remark, o.ext, o.body) != (t.code, t.remark, t.ext, t.body)]
    assert not diffs, "\n\n".join(diffs)
