//! The web UI's files, compiled into the binary.
//!
//! The UI is plain HTML, CSS and JavaScript modules with no build step and no
//! third-party code (see `docs/ui.md`), so the server needs no npm at build
//! or run time and the page works offline. Each file is embedded with
//! `include_str!` and served under `/ui/`; the page itself is `GET /`.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The page served at `/`.
pub const INDEX_HTML: &str = include_str!("../../ui/index.html");

/// Every file under `/ui/`: name, content type, contents.
pub const ASSETS: &[(&str, &str, &str)] = &[
    ("style.css", CSS, include_str!("../../ui/style.css")),
    ("app.js", JS, include_str!("../../ui/app.js")),
    ("api.js", JS, include_str!("../../ui/api.js")),
    ("view.js", JS, include_str!("../../ui/view.js")),
    ("filters.js", JS, include_str!("../../ui/filters.js")),
    ("histogram.js", JS, include_str!("../../ui/histogram.js")),
    ("results.js", JS, include_str!("../../ui/results.js")),
    ("detail.js", JS, include_str!("../../ui/detail.js")),
    ("tail.js", JS, include_str!("../../ui/tail.js")),
    ("dom.js", JS, include_str!("../../ui/dom.js")),
    ("highlight.js", JS, include_str!("../../ui/highlight.js")),
];

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// `GET /ui/{file}`.
pub async fn asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no UI file `{file}`")))?;
    Ok((
        [
            (header::CONTENT_TYPE, *content_type),
            // Revalidate on every load so a new binary's UI is used at once.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        *body,
    )
        .into_response())
}
