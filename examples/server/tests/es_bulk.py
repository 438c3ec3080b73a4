"""Ships records to logingest with the official Elasticsearch Python client.

Usage: es_bulk.py URL N [KEY]

Run by tests/es_client.rs. Uses the real, unmodified `elasticsearch`
package (8.x): `es.info()`, then `helpers.bulk` with N valid records in
several chunks (half with a plain client, half with `http_compress=True`,
which gzips the bodies), plus one invalid record whose per-item error the
helper must report. With KEY, the client authenticates with
`bearer_auth=KEY`. Then ships ECS documents the way Filebeat and the
`ecs-logging` libraries write them (see `ecs_document`) to the index
`filebeat-8.15.0`. Exits 0 only if the client accepted every answer;
prints a JSON summary on stdout.

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


ECS_N = 40


def ecs_document(i):
    """ECS document i: even ones nested like Filebeat, odd ones dotted like
    ecs-logging-python; every fifth has no service, only a host."""
    t = "2024-06-01T10:00:%02d.%03dZ" % (i % 60, i)
    level = ["info", "warn", "error", "debug"][i % 4]
    if i % 2 == 0:
        doc = {
            "@timestamp": t,
            "message": f"ecs document {i}",
            "log": {"level": level, "logger": "app"},
            "host": {"name": f"host-{i % 3}"},
            "trace": {"id": f"trace-{i}"},
            "span": {"id": f"span-{i}"},
            "ecs": {"version": "8.11.0"},
        }
        if i % 5:
            doc["service"] = {"name": f"svc-{i % 2}"}
    else:
        doc = {
            "@timestamp": t,
            "log.level": level,
            "message": f"ecs document {i}",
            "ecs.version": "1.6.0",
            "host.name": f"host-{i % 3}",
            "trace.id": f"trace-{i}",
            "span.id": f"span-{i}",
        }
        if i % 5:
            doc["service.name"] = f"svc-{i % 2}"
    return doc


def ship_ecs(es):
    actions = [
        {"_index": "filebeat-8.15.0", "_source": ecs_document(i)} for i in range(ECS_N)
    ]
    ok, errors = helpers.bulk(es, actions, chunk_size=16, refresh="wait_for")
    if ok != ECS_N or errors:
        raise SystemExit(f"ECS bulk stored {ok} of {ECS_N}: {errors}")
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
    ecs = ship_ecs(gzipped)
    print(
        json.dumps(
            {
                "client": elasticsearch.__versionstr__,
                "stored": stored,
                "ecs_stored": ecs,
                "server_version": info["version"]["number"],
            }
        )
    )


if __name__ == "__main__":
    main()
