//! The vocabulary of generated records: levels, service families, message
//! templates and the values they are filled with.

/// Levels and their share of records (sums to 1).
pub const LEVELS: [(&str, f64); 5] = [
    ("info", 0.72),
    ("debug", 0.15),
    ("warn", 0.09),
    ("error", 0.035),
    ("fatal", 0.005),
];

/// Service families; a service is `family-NNN`.
pub const FAMILIES: [&str; 15] = [
    "api",
    "auth",
    "billing",
    "cart",
    "catalog",
    "checkout",
    "gateway",
    "inventory",
    "notify",
    "orders",
    "payments",
    "search",
    "shipping",
    "users",
    "worker",
];

/// Multi-word phrases that occur in messages (fixed text of templates),
/// for phrase queries.
pub const PHRASES: [&str; 10] = [
    "connection refused",
    "timed out after",
    "health check passed",
    "cache miss for key",
    "slow query on",
    "permission denied",
    "rate limit exceeded",
    "retrying request to",
    "out of memory",
    "processed batch of",
];

/// Pairs of message words that occur together in some templates (not
/// adjacent), for full-text AND queries.
pub const WORD_PAIRS: [(&str, &str); 10] = [
    ("failed", "connect"),
    ("request", "completed"),
    ("user", "logged"),
    ("batch", "queue"),
    ("disk", "usage"),
    ("retrying", "attempt"),
    ("upstream", "returned"),
    ("pool", "exhausted"),
    ("query", "threshold"),
    ("uploaded", "bytes"),
];

/// Message templates by level: `{name}` is filled from [`Part`].
pub(super) const TEMPLATES: [(&str, &[(&str, u32)]); 5] = [
    (
        "info",
        &[
            (
                r#"{ip} - - "{method} {path} HTTP/1.1" {status} {bytes} {ms}ms"#,
                30,
            ),
            ("Request {uuid} completed in {ms}ms", 12),
            ("User {user} logged in from {ip}", 6),
            ("Connected to {db} at {ip}:{port}", 4),
            ("Cache hit for key {key}", 8),
            ("Cache miss for key {key}", 4),
            (
                "Processed batch of {count} messages from queue {queue} in {ms}ms",
                6,
            ),
            ("Scheduled job {job} started (run {count})", 2),
            ("Health check passed for {service} in {ms}ms", 8),
            ("Uploaded {bytes} bytes to s3://{bucket}{path}", 2),
            ("GC pause of {ms}ms, heap {count}MB of 4096MB", 2),
            (
                "Opened connection pool with {small} connections to {db}",
                1,
            ),
        ],
    ),
    (
        "debug",
        &[
            ("SQL: SELECT * FROM {table} WHERE id = {id} ({ms}ms)", 6),
            (
                "Received message {uuid} on topic {queue} partition {small} offset {id}",
                5,
            ),
            ("Span {hex} finished after {us}us", 4),
            ("Resolved {host} to {ip}", 2),
            ("Config reloaded from /etc/{service}/config.yaml", 1),
            ("Cache miss for key {key}", 3),
        ],
    ),
    (
        "warn",
        &[
            ("Slow query on {table} took {slow}ms (threshold 500ms)", 5),
            (
                "Retrying request to {service} (attempt {attempt} of 5) after {ms}ms",
                5,
            ),
            ("Connection pool for {db} exhausted, waiting {ms}ms", 3),
            ("Disk usage at {pct}% on {mount}", 2),
            ("Deprecated API {path} called by client {uuid}", 2),
            ("Rate limit exceeded for user {user} from {ip}", 3),
        ],
    ),
    (
        "error",
        &[
            (
                "Failed to connect to {db} at {ip}:{port}: connection refused",
                6,
            ),
            ("Request {uuid} timed out after {slow}ms", 6),
            ("Upstream {service} returned {status5} for {method} {path}", 5),
            (
                "Unhandled exception in handler {handler}: NullPointerException at line {small}",
                2,
            ),
            ("Payment {uuid} declined: insufficient funds", 2),
            ("Could not write to /var/lib/{service}/{file}: permission denied", 1),
            ("Lost connection to broker {ip}:{port}, reconnecting", 2),
        ],
    ),
    (
        "fatal",
        &[
            ("Out of memory: killed process {id} ({service})", 3),
            (
                "Panic in worker {small}: index out of bounds: the len is {small} but the index is {count}",
                2,
            ),
            ("Database {db} is corrupted, refusing to start", 1),
        ],
    ),
];

pub(super) const METHODS: [&str; 5] = ["GET", "GET", "GET", "POST", "PUT"];
pub(super) const STATUS: [u16; 10] = [200, 200, 200, 200, 200, 201, 204, 304, 404, 400];
pub(super) const STATUS5: [u16; 4] = [500, 502, 503, 504];
pub(super) const DBS: [&str; 8] = [
    "postgres-main",
    "postgres-replica-2",
    "redis-cache",
    "redis-sessions",
    "mysql-legacy",
    "mongo-events",
    "kafka-broker-1",
    "elasticsearch-logs",
];
pub(super) const PORTS: [u16; 8] = [5432, 5433, 6379, 6380, 3306, 27017, 9092, 9200];
pub(super) const TABLES: [&str; 8] = [
    "users",
    "orders",
    "order_items",
    "payments",
    "sessions",
    "inventory",
    "audit_log",
    "shipments",
];
pub(super) const QUEUES: [&str; 6] = [
    "orders.created",
    "payments.settled",
    "emails.outbound",
    "inventory.updates",
    "audit.events",
    "search.reindex",
];
pub(super) const RESOURCES: [&str; 8] = [
    "users", "orders", "carts", "products", "payments", "invoices", "sessions", "search",
];
pub(super) const JOBS: [&str; 5] = [
    "nightly-report",
    "cleanup-sessions",
    "reindex-catalog",
    "sync-inventory",
    "rotate-keys",
];
pub(super) const HANDLERS: [&str; 5] = [
    "CheckoutController.submit",
    "OrderService.create",
    "UserResource.update",
    "PaymentGateway.charge",
    "SearchHandler.query",
];
pub(super) const MOUNTS: [&str; 3] = ["/", "/var/lib/data", "/tmp"];
pub(super) const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"];
pub(super) const BUCKETS: [&str; 3] = ["acme-uploads", "acme-backups", "acme-exports"];
