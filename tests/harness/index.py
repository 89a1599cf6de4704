"""A PEP 503 package index on 127.0.0.1, serving whatever distributions are in a directory.

Files are listed at request time, so tests can add distributions while the server runs.
"""

from __future__ import annotations

import hashlib
import html
import re
import threading
import time
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from tests.harness.dists import normalize

_DIST_RE = re.compile(r"^(?P<name>[A-Za-z0-9_.]+?)-(?P<version>[0-9][^-]*?)(?:-.*\.whl|\.tar\.gz)$")


@lru_cache(maxsize=4096)
def _sha256(path: str, mtime: float, size: int) -> str:
    del mtime, size
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class PackageIndex:
    """`with PackageIndex(dir) as index:` then `index.url` is the simple index URL."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.requests: list[str] = []
        self._listing: tuple[int, dict[str, list[Path]]] | None = None
        index = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_HEAD(self) -> None:
                self._serve(head=True)

            def do_GET(self) -> None:
                self._serve(head=False)

            def _serve(self, head: bool) -> None:
                index.requests.append(self.path)
                path = unquote(self.path.split("?", 1)[0].split("#", 1)[0])
                if path in {"/simple", "/simple/"}:
                    self._send(200, "text/html", index.root_page().encode(), head)
                elif path.startswith("/simple/"):
                    project = path[len("/simple/") :].strip("/")
                    page = index.project_page(normalize(project))
                    if page is None:
                        self._send(404, "text/plain", b"not found", head)
                    else:
                        self._send(200, "text/html", page.encode(), head)
                elif path.startswith("/files/"):
                    name = path[len("/files/") :]
                    target = index.directory / name
                    if "/" in name or not target.is_file():
                        self._send(404, "text/plain", b"not found", head)
                    else:
                        self._send(200, "application/octet-stream", target.read_bytes(), head)
                else:
                    self._send(404, "text/plain", b"not found", head)

            def _send(self, code: int, ctype: str, body: bytes, head: bool) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            # uv opens dozens of connections at once; the default backlog of 5 makes some of
            # them wait for SYN retries until uv's connect deadline passes.
            request_queue_size = 256

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/simple"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> PackageIndex:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _dists(self) -> dict[str, list[Path]]:
        # Listed again only when the directory changes (adding a file changes its mtime): a
        # benchmark index of 10,000 wheels would otherwise list them all for every request.
        key = self.directory.stat().st_mtime_ns
        cached = self._listing
        if cached is not None and cached[0] == key:
            return cached[1]
        out: dict[str, list[Path]] = {}
        for p in sorted(self.directory.iterdir()):
            m = _DIST_RE.match(p.name)
            if m:
                out.setdefault(normalize(m.group("name")), []).append(p)
        # Kept only when the directory has been still for a second: a file added in the same
        # clock tick as the listing would not change the mtime that keys it.
        if time.time_ns() - key > 1_000_000_000:
            self._listing = (key, out)
        return out

    def root_page(self) -> str:
        links = "".join(
            f'<a href="{html.escape(n)}/">{html.escape(n)}</a>\n' for n in self._dists()
        )
        return f"<!DOCTYPE html><html><body>\n{links}</body></html>"

    def project_page(self, project: str) -> str | None:
        files = self._dists().get(project)
        if not files:
            return None
        links = []
        for f in files:
            st = f.stat()
            digest = _sha256(str(f), st.st_mtime, st.st_size)
            href = f"../../files/{html.escape(f.name)}#sha256={digest}"
            links.append(f'<a href="{href}">{html.escape(f.name)}</a><br/>')
        body = "\n".join(links)
        return f"<!DOCTYPE html><html><body><h1>{project}</h1>\n{body}\n</body></html>"
