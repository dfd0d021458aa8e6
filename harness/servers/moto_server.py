"""moto's S3 server on a random loopback port.

    python -m harness.servers.moto_server [--server cheroot|werkzeug]
prints the port, serves until stdin closes.

The S3 application is served alone, not behind moto's dispatcher of every AWS service
(ThreadedMotoServer): the dispatcher looks up the service of each request by scanning moto's
modules on disk, which took five sixths of the time of a GET (measured: 3.6 ms a GET through the
dispatcher, 0.6 ms to the S3 application). Only S3 is ever asked for here.

It is served by cheroot, which keeps connections open between requests as S3 does, from a pool of
threads; werkzeug's development server (moto's own) answers every request with `Connection: close`
and starts a thread for each, so every request of every reader opened a new connection
(bench/s3_cell_cost.py --compare server measures the two side by side).
"""

from __future__ import annotations

import argparse
import sys
import threading


def s3_application():
    from moto.moto_server.werkzeug_app import create_backend_app

    app = create_backend_app("s3")

    def with_raw_uri(environ, start_response):
        # moto takes an object's key from the path as it arrived (RAW_URI, werkzeug's name for it),
        # percent-decoded once as S3 does; cheroot names it REQUEST_URI. Without it moto would decode
        # the WSGI PATH_INFO a second time.
        environ.setdefault("RAW_URI", environ.get("REQUEST_URI", ""))
        return app(environ, start_response)

    return with_raw_uri


def serve_cheroot(app):
    from cheroot import wsgi

    # Readers open tens of connections at once (zarrs, tensorstore) and keep them in pools: a deep
    # listen queue, room for every idle connection, and idle connections kept longer than clients keep them.
    server = wsgi.Server(("127.0.0.1", 0), app, numthreads=32, request_queue_size=1024, timeout=300,
                         accepted_queue_size=-1)
    server.keep_alive_conn_limit = 1024
    server.prepare()
    threading.Thread(target=server.serve, daemon=True).start()
    return server.bind_addr[1], server.stop


def serve_werkzeug(app):
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    class Quiet(MotoRequestHandler):
        def log_request(self, *args, **kwargs):  # a line per request, by the hundred thousand
            pass

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_port, server.shutdown


SERVERS = {"cheroot": serve_cheroot, "werkzeug": serve_werkzeug}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", choices=sorted(SERVERS), default="cheroot")
    args = ap.parse_args()
    port, stop = SERVERS[args.server](s3_application())
    print(port, flush=True)
    sys.stdin.read()
    stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
