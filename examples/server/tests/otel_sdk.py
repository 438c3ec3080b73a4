"""Ships logs to logingest with the official OpenTelemetry Python SDK.

Usage: otel_sdk.py URL N KEY

Run by tests/otel_client.rs. Uses the real, unmodified packages
`opentelemetry-sdk` and `opentelemetry-exporter-otlp-proto-http`: Python's
`logging` -> the SDK's `LoggingHandler` -> `BatchLogRecordProcessor` ->
`OTLPLogExporter` (protobuf over HTTP) at URL/v1/logs, with
`Authorization: Bearer KEY`. Records with an even number go through an
exporter without compression, odd ones through one with gzip. Each record
is logged inside a span of the SDK's tracer, so it carries a trace and a
span id. Exits 0 only if every export succeeded; prints a JSON summary on
stdout: {"exports": E, "records": N, "ids": {"i": [trace_id, span_id]}}.

Record i (0-based) is, and the Rust test expects exactly this:
    logger "app.payments.plain" (i even) or ".gzip" (i odd), level
    [INFO, WARNING, ERROR][i % 3] (the SDK sends WARNING as severityText "WARN"),
    message "otel record i", extra attributes seq=i and http.route="/pay",
    resource service.name="otel-checkout", host.name="node-7".
"""

import json
import logging
import sys

EXIT_MISSING = 3

try:
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import (
        BatchLogRecordProcessor,
        LogRecordExportResult,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
except ImportError as e:  # the Rust test turns this into a loud failure
    print(
        f"the OpenTelemetry Python SDK is missing ({e}); install it with\n"
        f"  {sys.executable} -m pip install opentelemetry-sdk "
        "opentelemetry-exporter-otlp-proto-http\n"
        "or run scripts/test.sh, which creates target/pyenv with it and sets "
        "LOGINGEST_PYTHON",
        file=sys.stderr,
    )
    sys.exit(EXIT_MISSING)

LEVELS = [logging.INFO, logging.WARNING, logging.ERROR]


class Checked(OTLPLogExporter):
    """The SDK's exporter, remembering what each export answered."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.results = []

    def export(self, batch):
        result = super().export(batch)
        self.results.append((len(batch), result))
        return result


def main():
    url, n, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    resource = Resource.create({"service.name": "otel-checkout", "host.name": "node-7"})
    tracer = TracerProvider(resource=resource).get_tracer("app.payments")
    exporters, loggers, providers = [], [], []
    for name, compression in [
        ("plain", Compression.NoCompression),
        ("gzip", Compression.Gzip),
    ]:
        exporter = Checked(
            endpoint=f"{url}/v1/logs",
            headers={"Authorization": f"Bearer {key}"},
            compression=compression,
            timeout=30,
        )
        provider = LoggerProvider(resource=resource)
        # Small batches, so each exporter sends several requests.
        provider.add_log_record_processor(
            BatchLogRecordProcessor(exporter, max_export_batch_size=50)
        )
        logger = logging.getLogger(f"app.payments.{name}")
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        logger.addHandler(LoggingHandler(logger_provider=provider))
        exporters.append(exporter)
        loggers.append(logger)
        providers.append(provider)

    ids = {}
    for i in range(n):
        with tracer.start_as_current_span(f"pay-{i}") as span:
            context = span.get_span_context()
            ids[str(i)] = [f"{context.trace_id:032x}", f"{context.span_id:016x}"]
            loggers[i % 2].log(
                LEVELS[i % 3],
                "otel record %d",
                i,
                extra={"seq": i, "http.route": "/pay"},
            )
    for provider in providers:
        provider.force_flush()
        provider.shutdown()

    results = [r for exporter in exporters for r in exporter.results]
    failed = [r for r in results if r[1] != LogRecordExportResult.SUCCESS]
    exported = sum(size for size, _ in results)
    print(json.dumps({"exports": len(results), "records": exported, "ids": ids}))
    if failed or exported != n:
        print(f"failed exports: {failed}; exported {exported} of {n}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
