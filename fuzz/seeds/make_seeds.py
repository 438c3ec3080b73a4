#!/usr/bin/env python3
"""Rebuilds fuzz/corpus/<target>/ from the unit tests' inputs and testdata.

Run from the repository root: `python3 fuzz/seeds/make_seeds.py`. The seed
files are committed; this script documents where they came from and can
refresh them after the tests change. Seed names are a hash of the content,
as libFuzzer names corpus entries.
"""
import hashlib
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def rust_strings(path):
    """The contents of Rust string literals in a file: raw r#"..."# and plain "..."."""
    text = read(path)
    out = [m.group(1) for m in re.finditer(r'r#"(.*?)"#', text, re.S)]
    for m in re.finditer(r'(?<![r#\w])"((?:[^"\\\n]|\\.)*)"', text):
        s = m.group(1)
        try:
            s = s.encode("utf-8").decode("unicode_escape", "strict").encode("latin-1").decode("utf-8")
        except (UnicodeDecodeError, UnicodeEncodeError):
            continue
        out.append(s)
    return out


def write(target, seeds):
    d = os.path.join(ROOT, "fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        os.remove(os.path.join(d, old))
    unique = []
    for s in seeds:
        b = s if isinstance(s, bytes) else s.encode("utf-8")
        if b not in unique:
            unique.append(b)
    for b in unique:
        name = hashlib.sha1(b).hexdigest()[:16]
        with open(os.path.join(d, name), "wb") as f:
            f.write(b)
    print(f"{target}: {len(unique)} seeds, {sum(map(len, unique))} bytes")


def loghub_lines(n):
    lines = []
    for f in ["testdata/loghub/hdfs_2k.ndjson", "testdata/loghub/openstack_2k.ndjson"]:
        lines += read(f).splitlines()[:n]
    return lines


# Records: option byte + body. 0x7e: Auto, default limits; 0x7f: Ndjson,
# default limits; 0x00: Auto, the smallest limits; 0x2b: Ndjson, middle ones.
bodies = [s for s in rust_strings("logingest-core/src/parse/tests.rs")
          + rust_strings("logingest-core/src/parse/tests/locations.rs")
          if s.lstrip()[:1] in ("{", "[") and len(s) < 2000]
bodies = bodies[:40] + ["\n".join(loghub_lines(3)), "", "\ufeff{\"message\":\"bom\"}", "  \n\t"]
records = []
for i, b in enumerate(bodies):
    option = [0x7E, 0x7F, 0x00, 0x2B][i % 4]
    records.append(bytes([option]) + b.encode("utf-8"))
records.append(b"\x7e{\"message\":\"bad \xff utf-8\"}")
write("records", records)

# Queries: the parser's test tables, and queries on the translation corpus.
queries = [s for s in rust_strings("logingest-core/src/query/tests.rs")
           + rust_strings("logingest-core/src/query/tests/errors.rs")
           if 0 < len(s) < 200 and "\n" not in s]

corpus_queries = [
    "level:error AND \"failed to connect\"",
    "level:error AND \"failed to connect\" AND timestamp:[2023-09-10 TO 2023-09-16]",
    "resourceId:server-1234 OR traceId:abc-xyz-123",
    "metadata.parentResourceId:*",
    "NOT level:info",
    "-metadata:* blk*",
    "PacketResponder AND terminating",
    "message:/block.*terminating/",
    "resourceId:/server-\\d+/",
    "traceId:t\\?\\*x",
    "metadata.tags:\"a b\"",
    "metadata.retries:3",
    "level:ERROR OR level:warn",
    "timestamp:{2023-09-15T08:00:00Z TO *]",
    "timestamp:[* TO now-1d]",
    "café OR straße OR 日本語",
    "\"nova.osapi_compute.wsgi.server\"",
    "INFO dfs*",
    "(level:error OR level:warn) AND NOT resourceId:server-1234",
    "host:* AND NOT host:h",
    "message:*onnect*",
    "spanId:span-1?",
    "commit:5e5342f OR commit:6d2a98e",
    "message:/(?i)FAILED/",
    "\"to connect\"",
    "*",
    "",
]
write("query", queries[:60] + corpus_queries)
write("translate_tantivy", corpus_queries)
write("translate_dsl", corpus_queries + [
    "message:/^exact$/", "message:/a\\b/", "level:/(?m)^x/", "message:/\"q\"/",
    "kube.pod:p*", "a:b\u0000c", "x AND y OR z",
    "metadata.http.status:>=500", "d:{-0.5 TO *] NOT d:[* TO 1e3}", "d:(>=1 OR <-1)",
])

# _bulk: option byte + body (0x00: no default index, default limits;
# 0x01: `/{index}/_bulk`; 0x02 | limits bits as in the records target).
doc = '{"@timestamp":"2023-09-15T08:00:00.123Z","message":"disk full","log":{"level":"warn"},"service":{"name":"billing"},"host":{"name":"web-1"}}'
bulk_bodies = [
    '{"index":{"_index":"filebeat-8.15.0"}}\n' + doc + "\n",
    '{"create":{}}\n{"message":"a"}\n{"index":{"_id":"1"}}\n{"message":"b","level":"info"}\n',
    '{"delete":{"_id":"1"}}\n{"update":{"_id":"2"}}\n{"doc":{}}\n',
    '{"index":{}}\n{"nomessage":1}\n',
    '{"index":{}}\n{"message":"x","@timestamp":"last tuesday"}\n',
    '{"index":{}}\n{"message":"x","@timestamp":1694764800123}\n',
    '{"index":{}}\n{"message":"x","@timestamp":"1694764800123.5"}\n',
    '{"index":{"_index":"a"}}\n{"message":"x","_index":"b"}\n',
    '{"index":{}}\r\n{"message":"crlf"}\r\n',
    '{"index":{}}\n',
    '{"index":{}}\n{"message":"x"',
    'not json\n',
    '{"index":{},"create":{}}\n{"message":"x"}\n',
    '{"frobnicate":{}}\n{"message":"x"}\n',
    '{"index":[]}\n{"message":"x"}\n',
    '\n\n{"index":{}}\n\n{"message":"blank lines"}\n',
    '{"index":{"_id":7}}\n{"message":"numeric id","trace":{"id":"t1"},"span":{"id":"s1"}}\n',
    '{"index":{}}\n{"message":"ours wins","level":"error","log.level":"debug"}\n',
    '{"index":{}}\n{"message":"x","timestamp":"2023-09-15T08:00:00Z","@timestamp":"2020-01-01T00:00:00Z"}\n',
    '{"index":{}}\n   {"message":"indented"}  \n',
] + ['{"index":{}}\n' + line + "\n" for line in loghub_lines(2)]
bulk = []
for i, b in enumerate(bulk_bodies):
    bulk.append(bytes([[0x00, 0x01, 0x02, 0x7C][i % 4]]) + b.encode("utf-8"))
write("bulk", bulk)
