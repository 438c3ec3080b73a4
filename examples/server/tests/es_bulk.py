"""Ships records to logingest with the official Elasticsearch Python client.

Usage: es_bulk.py URL N [KEY]

Run by tests/es_client.rs. Uses the real, unmodified `elasticsearch`
package (8.x): `es.info()`, then `helpers.bulk` with N valid records in
several chunks (half with a plain client, half with `http_compress=True`,
which gzips the bodies), plus one invalid record whose per-item error the
helper must report. With KEY, the client authenticates with
`bearer_auth=KEY`. Exits 0 only if the client accepted every answer; prints
a JSON summary on stdout.

Record i (0-based) is, and the Rust test expects exactly this:
    {"timestamp": "2024-05-01T00:MM:SSZ" (i seconds after midnight),
     "level": ["info", "warn", "error"][i % 3],
     "message": "es bulk record i",
     "resourceId": "es-(i % 4)",
     "metadata": {"seq": i, "client": "elasticsearch-py"}}
"""

import json
import sys

EXIT_MISSING = 3

try:
    import elasticsearch
    from elasticsearch import Elasticsearch, helpers
except ImportError as e:  # the Rust test turns this into a loud failure
    print(
        f"the `elasticsearch` Python package is missing ({e}); install it with\n"
        f"  {sys.executable} -m pip install 'elasticsearch>=8,<9'\n"
        "or run scripts/test.sh, which creates target/pyenv with it and sets "
        "LOGINGEST_PYTHON",
        file=sys.stderr,
    )
    sys.exit(EXIT_MISSING)

LEVELS = ["info", "warn", "error"]


def record(i):
    return {
        "timestamp": "2024-05-01T%02d:%02d:%02dZ" % (i // 3600, i // 60 % 60, i % 60),
        "level": LEVELS[i % 3],
        "message": f"es bulk record {i}",
        "resourceId": f"es-{i % 4}",
        "metadata": {"seq": i, "client": "elasticsearch-py"},
    }


def ship(es, indices):
    actions = [
        {"_index": "logs-es", "_id": f"es-{i}", "_source": record(i)} for i in indices
    ]
    # One invalid source (no `message`): a per-item 400 the helper reports.
    actions.append({"_index": "logs-es", "_id": "bad", "_source": {"level": "info"}})
    ok, errors = helpers.bulk(
        es, actions, chunk_size=50, raise_on_error=False, refresh="wait_for"
    )
    if ok != len(indices):
        raise SystemExit(f"helpers.bulk stored {ok}, expected {len(indices)}: {errors}")
    if len(errors) != 1:
        raise SystemExit(f"expected exactly one item error, got {errors}")
    (error,) = errors
    item = error.get("index", {})
    if item.get("_id") != "bad" or item.get("status") != 400:
        raise SystemExit(f"unexpected item error: {error}")
    return ok


def main():
    if len(sys.argv) not in (3, 4):
        raise SystemExit(__doc__)
    url, n = sys.argv[1], int(sys.argv[2])
    auth = {"bearer_auth": sys.argv[3]} if len(sys.argv) == 4 else {}
    plain = Elasticsearch(url, request_timeout=60, **auth)
    info = plain.info()
    if not str(info["version"]["number"]).startswith("8."):
        raise SystemExit(f"unexpected info: {info}")
    half = n // 2
    stored = ship(plain, range(half))
    gzipped = Elasticsearch(url, request_timeout=60, http_compress=True, **auth)
    stored += ship(gzipped, range(half, n))
    print(
        json.dumps(
            {
                "client": elasticsearch.__versionstr__,
                "stored": stored,
                "server_version": info["version"]["number"],
            }
        )
    )


if __name__ == "__main__":
    main()
