"""Render the README / AppStream pictures from caches that real uv writes, as root on Linux.

    uv run python resources/screenshots/make_screenshots.py

Generated packages (made-up names, real wheels and one sdist that uv builds) are served on
127.0.0.1; real uv installs them into a cache owned by uid 65534, as a user's cache is. The
"broken" copy is what one `sudo uv pip install` and one killed run leave behind (uv issue
#11018): archive-v0 owned by root, a root-owned .tmp* three hours old. The app renders each
offscreen (`uv-cache-inspector --screenshot`).

    uv run python resources/screenshots/make_screenshots.py --dialogs DIR

also renders the window in its other states and every dialog into DIR (render_dialogs.py), to
look at before calling a change to the window done.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.harness.dists import write_sdist, write_wheel  # noqa: E402
from tests.harness.index import PackageIndex  # noqa: E402
from tests.harness.uvcache import UvRun, make_cache  # noqa: E402

PACKAGES = [
    ("webframe", "4.2.1", 60, 4000),
    ("webframe", "5.0.0", 64, 4000),
    ("dataframes", "2.1.3", 120, 9000),
    ("plotkit", "3.8.0", 80, 6000),
    ("httpclient", "2.31.0", 20, 3000),
    ("orm-lite", "1.4.9", 40, 3500),
    ("numcore", "1.26.4", 90, 12000),
    ("templating", "3.1.2", 15, 2500),
    ("clitools", "8.1.7", 12, 2000),
    ("yamlish", "6.0.1", 8, 3000),
]
REQUIREMENTS = [
    "webframe==5.0.0",
    "dataframes",
    "plotkit",
    "httpclient",
    "orm-lite",
    "numcore",
    "templating",
    "clitools",
    "yamlish",
    "reportgen",
]


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)
    os.lchown(path, uid, gid)


def main() -> None:
    import argparse

    from uv import find_uv_bin

    parser = argparse.ArgumentParser()
    parser.add_argument("--dialogs", metavar="DIR", help="also render every dialog into DIR")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="uvci-shots-"))
    work.chmod(0o755)  # the test write runs as the cache's owner, uid 65534
    dists = work / "dists"
    for name, version, modules, payload in PACKAGES:
        write_wheel(dists, name, version, n_modules=modules, payload=payload)
    write_sdist(dists, "reportgen", "0.9.2")
    python = shutil.which(f"python{sys.version_info.major}.{sys.version_info.minor}")
    with PackageIndex(dists) as index:
        uvr = UvRun(str(find_uv_bin()), index.url, python or sys.executable)
        healthy = work / "healthy" / "cache"
        make_cache(uvr, healthy, ["webframe==4.2.1"])
        make_cache(uvr, healthy, REQUIREMENTS)
    _chown_tree(healthy, 65534, 65534)
    broken = work / "broken" / "cache"
    broken.parent.mkdir()
    subprocess.run(["cp", "-a", str(healthy), str(broken)], check=True)
    os.chown(broken / "archive-v0", 0, 0)
    orphan = broken / ".tmpXq3vLd"
    (orphan / "numcore").mkdir(parents=True)
    (orphan / "numcore" / "core.py").write_bytes(b"#" * 2_000_000)
    old = time.time() - 3 * 3600
    for p in (orphan / "numcore" / "core.py", orphan / "numcore", orphan):
        os.utime(p, (old, old))
    out = Path(__file__).resolve().parent
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    for name, cache in (("healthy", healthy), ("broken", broken)):
        subprocess.run(
            [
                str(Path(sys.executable).parent / "uv-cache-inspector"),
                "--cache-dir",
                str(cache),
                "--screenshot",
                str(out / f"{name}.png"),
            ],
            check=True,
            env=env,
        )
        print(f"wrote {out / f'{name}.png'}")
    if args.dialogs:
        env = dict(os.environ)
        if not env.get("DISPLAY"):
            env["QT_QPA_PLATFORM"] = "offscreen"
        subprocess.run(
            [
                sys.executable,
                str(Path(__file__).with_name("render_dialogs.py")),
                str(broken),
                str(healthy),
                args.dialogs,
            ],
            check=True,
            env=env,
        )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
