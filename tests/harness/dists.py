"""Tiny, valid distributions generated for the tests: wheels and sdists that real uv installs.

The sdists carry an in-tree PEP 517 backend (`backend-path = ["."]`, no requirements), so uv can
build them with no network and no setuptools.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import tarfile
import textwrap
import zipfile
from pathlib import Path


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dist_name(name: str) -> str:
    """The name as it appears in wheel and dist-info file names."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def wheel_bytes(
    name: str,
    version: str,
    files: dict[str, bytes],
    requires: list[str] | None = None,
    tag: str = "py3-none-any",
) -> bytes:
    dn = dist_name(name)
    info = f"{dn}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    for req in requires or []:
        metadata += f"Requires-Dist: {req}\n"
    wheel = f"Wheel-Version: 1.0\nGenerator: uvci-tests\nRoot-Is-Purelib: true\nTag: {tag}\n"
    contents: dict[str, bytes] = dict(files)
    contents[f"{info}/METADATA"] = metadata.encode()
    contents[f"{info}/WHEEL"] = wheel.encode()
    record_lines = [f"{path},{_record_hash(data)},{len(data)}" for path, data in contents.items()]
    record_lines.append(f"{info}/RECORD,,")
    contents[f"{info}/RECORD"] = ("\n".join(record_lines) + "\n").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in contents.items():
            zi = zipfile.ZipInfo(path, date_time=(2024, 1, 1, 0, 0, 0))
            zi.external_attr = 0o644 << 16
            zf.writestr(zi, data)
    return buf.getvalue()


def module_files(
    name: str, n_modules: int = 1, native: bool = False, payload: int = 64
) -> dict[str, bytes]:
    pkg = dist_name(name)
    files = {f"{pkg}/__init__.py": f"NAME = {name!r}\n".encode()}
    for i in range(1, n_modules):
        files[f"{pkg}/m{i}.py"] = (f"# {i}\n" + "x = 1\n" * (payload // 6)).encode()
    if native:
        # Named like native extensions (what antivirus reacts to); never imported.
        files[f"{pkg}/_speedups.cpython-311-x86_64-linux-gnu.so"] = b"\x7fELF not really"
        files[f"{pkg}/_speedups.pyd"] = b"MZ not really"
        files[f"{pkg}/helper.dll"] = b"MZ not really"
    return files


def write_wheel(
    directory: Path,
    name: str,
    version: str,
    *,
    n_modules: int = 1,
    native: bool = False,
    requires: list[str] | None = None,
    payload: int = 64,
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    data = wheel_bytes(name, version, module_files(name, n_modules, native, payload), requires)
    path = directory / f"{dist_name(name)}-{version}-py3-none-any.whl"
    path.write_bytes(data)
    return path


_BACKEND = textwrap.dedent(
    '''
    """A PEP 517 backend with no requirements, for the inspector's tests."""
    import base64, hashlib, os, zipfile

    NAME = {name!r}
    VERSION = {version!r}
    DN = {dn!r}

    def _h(data):
        return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

    def get_requires_for_build_wheel(config_settings=None):
        return []

    def get_requires_for_build_sdist(config_settings=None):
        return []

    def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
        info = f"{{DN}}-{{VERSION}}.dist-info"
        files = {{
            f"{{DN}}/__init__.py": b"BUILT_FROM_SDIST = True\\n",
            f"{{info}}/METADATA": f"Metadata-Version: 2.1\\nName: {{NAME}}\\nVersion: {{VERSION}}\\n".encode(),
            f"{{info}}/WHEEL": b"Wheel-Version: 1.0\\nGenerator: tiny\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
        }}
        record = "".join(f"{{p}},{{_h(d)}},{{len(d)}}\\n" for p, d in files.items()) + f"{{info}}/RECORD,,\\n"
        files[f"{{info}}/RECORD"] = record.encode()
        fn = f"{{DN}}-{{VERSION}}-py3-none-any.whl"
        with zipfile.ZipFile(os.path.join(wheel_directory, fn), "w") as zf:
            for p, d in files.items():
                zf.writestr(p, d)
        return fn

    def build_sdist(sdist_directory, config_settings=None):
        raise NotImplementedError
    '''
)


def write_sdist(directory: Path, name: str, version: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    dn = dist_name(name)
    top = f"{dn}-{version}"
    pkg_info = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    pyproject = textwrap.dedent(
        f"""
        [build-system]
        requires = []
        build-backend = "tiny_backend"
        backend-path = ["."]

        [project]
        name = "{name}"
        version = "{version}"
        """
    )
    members = {
        f"{top}/PKG-INFO": pkg_info.encode(),
        f"{top}/pyproject.toml": pyproject.encode(),
        f"{top}/tiny_backend.py": _BACKEND.format(name=name, version=version, dn=dn).encode(),
        f"{top}/{dn}/__init__.py": b"BUILT_FROM_SDIST = True\n",
    }
    path = directory / f"{top}.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for member, data in members.items():
            ti = tarfile.TarInfo(member)
            ti.size = len(data)
            ti.mtime = 1704067200
            ti.mode = 0o644
            tf.addfile(ti, io.BytesIO(data))
    return path
