"""A static HTTP server over a directory, with Range support (single and suffix
ranges, as werkzeug implements them). Published datasets are symlinks in it.
Directories behave as on a common static server (nginx with autoindex): without
a trailing slash they redirect, with one they answer an HTML listing, which
clients such as GDAL's /vsicurl/ use to find what a directory holds.

    python -m harness.servers.http_server ROOT
prints the port, serves until stdin closes.
"""

import sys
import threading
from html import escape
from pathlib import Path
from urllib.parse import quote

from werkzeug.exceptions import NotFound
from werkzeug.serving import make_server
from werkzeug.utils import redirect, send_from_directory
from werkzeug.wrappers import Request, Response


def app_for(root: Path):
    @Request.application
    def app(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response("method not allowed", status=405)
        rel = request.path.lstrip("/")
        if ".." in Path(rel).parts:
            return Response("not found", status=404)
        local = root / rel
        if local.is_dir():
            if not request.path.endswith("/"):
                return redirect(request.path + "/", code=301)
            names = sorted(p.name + ("/" if p.is_dir() else "") for p in local.iterdir())
            links = "\n".join(f'<a href="{quote(n)}">{escape(n)}</a>' for n in names)
            return Response(f"<html><body><h1>Index of {escape(request.path)}</h1><pre>\n{links}\n</pre></body></html>",
                            mimetype="text/html")
        try:
            resp = send_from_directory(root, rel, request.environ, conditional=True, max_age=0)
        except NotFound:
            return Response("not found", status=404)
        # make_conditional sets Date and the server adds its own: two Date headers, which
        # strict clients (tensorstore) reject when they straddle a second.
        del resp.headers["Date"]
        return resp

    return app


def main() -> int:
    root = Path(sys.argv[1]).resolve()
    server = make_server("127.0.0.1", 0, app_for(root), threaded=True)
    print(server.server_port, flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
