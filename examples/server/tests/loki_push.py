"""Ships logs to logingest with a Loki client library from PyPI.

Usage: loki_push.py URL N KEY

Run by tests/loki_client.rs. Uses the real, unmodified `loki-logger-handler`
package: Python's `logging` -> `LokiLoggerHandler`, which batches records
and POSTs them as a JSON push to URL/loki/api/v1/push with
`Authorization: Bearer KEY`, in pushes of up to 50 records. Records with an even number go through a
handler that gzips its bodies, odd ones through one that does not. Exits 0
only if the handlers met no error; prints a JSON summary on stdout.

Record i (0-based) is, and the Rust test expects exactly this: logger
"shop.cart", level ["INFO", "WARNING", "ERROR"][i % 3] (a stream label
`level`, taken from the record), message "loki record i", stream labels
application="cart-api" and env="test", and the extra field seq=i in the
JSON line the handler writes.
"""

import json
import logging
import sys

EXIT_MISSING = 3

try:
    from loki_logger_handler.loki_logger_handler import LokiLoggerHandler
except ImportError as e:  # the Rust test turns this into a loud failure
    print(
        f"the `loki-logger-handler` Python package is missing ({e}); install it with\n"
        f"  {sys.executable} -m pip install loki-logger-handler\n"
        "or run scripts/test.sh, which creates target/pyenv with it and sets "
        "LOGINGEST_PYTHON",
        file=sys.stderr,
    )
    sys.exit(EXIT_MISSING)

LEVELS = [logging.INFO, logging.WARNING, logging.ERROR]


def main():
    url, n, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    handlers, loggers = [], []
    for name, compressed in [("gzip", True), ("plain", False)]:
        handler = LokiLoggerHandler(
            url=f"{url}/loki/api/v1/push",
            labels={"application": "cart-api", "env": "test"},
            label_keys={"level": "level"},
            additional_headers={"Authorization": f"Bearer {key}"},
            # Its flush thread would send on its own every `timeout` s; the
            # script sends instead (its `_send`, what the thread calls), so
            # that no request is in flight when it exits.
            timeout=3600,
            compressed=compressed,
            enable_self_errors=True,
        )
        logger = logging.getLogger(f"shop.cart.{name}")
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        logger.addHandler(handler)
        handlers.append(handler)
        loggers.append(logger)
    for i in range(n):
        loggers[i % 2].log(LEVELS[i % 3], "loki record %d", i, extra={"seq": i})
        if i % 50 == 49:
            for handler in handlers:
                handler._send()
    for handler in handlers:
        handler._send()
    errors = [h.error for h in handlers]
    print(json.dumps({"records": n, "errors": errors}))
    return 1 if any(errors) else 0


if __name__ == "__main__":
    sys.exit(main())
