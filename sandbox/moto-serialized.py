"""moto_server with S3's writes made atomic, as S3 makes them.

moto 5.2.5 answers each request on its own thread (werkzeug, threaded=True) and its S3
backend checks If-None-Match / If-Match and then writes, with nothing in between held:
two concurrent conditional PUTs of one new key could both succeed (3 of 200 pairs did).
S3 gives exactly one of them 200 and the other 412 (or 409). This launcher runs moto's own
server entry point with its WSGI app wrapped in a middleware that holds one lock around
every S3 write (PUT, POST, DELETE), from the request body to the last byte of the answer.
Reads and the other services keep running concurrently.

Usage: <moto venv>/bin/python moto-serialized.py -H 127.0.0.1 -p PORT (moto_server's flags).
"""

import sys
import threading
from urllib.parse import parse_qs

import moto.server as server

WRITES = {"PUT", "POST", "DELETE"}
S3_WRITE_LOCK = threading.Lock()


def signing_service(environ):
    """The service a request is signed for (SigV4 header or presigned URL), or None."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    scope = ""
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
    else:
        scope = parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential", [""])[0]
    parts = scope.split("/")
    return parts[3].lower() if len(parts) >= 5 else None


def is_s3_write(environ):
    if environ.get("REQUEST_METHOD") not in WRITES:
        return False
    if environ.get("PATH_INFO", "").startswith("/moto-api"):
        return True  # a reset must not interleave with a write either
    service = signing_service(environ)
    # Unsigned requests go to S3 in moto too (its last resort).
    return service in (None, "s3")


class SerializedS3Writes:
    def __init__(self, app):
        self.app = app

    def __getattr__(self, name):
        return getattr(self.app, name)

    def __call__(self, environ, start_response):
        if not is_s3_write(environ):
            return self.app(environ, start_response)
        with S3_WRITE_LOCK:
            result = self.app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        return [body]


def main():
    run_simple = server.run_simple

    def serialized(host, port, app, *args, **kwargs):
        return run_simple(host, port, SerializedS3Writes(app), *args, **kwargs)

    # moto's main() builds its app and hands it to werkzeug's run_simple: wrap it there, so
    # every flag and default of moto_server stays as it is.
    server.run_simple = serialized
    server.main(sys.argv[1:])


if __name__ == "__main__":
    main()
