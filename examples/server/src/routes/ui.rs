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

/// The page for a request to `original` that the router saw as `nested`
/// (they differ when the router is mounted under a path, see
/// `Service`): with a `<base href>` of the mount path, so that the page's
/// relative URLs (scripts, `api/...`) stay under it, and its home link
/// pointing at the mount path itself (`/logs`: a router nested at `/logs`
/// does not see `/logs/`).
pub fn index_page(original: &str, nested: &str) -> String {
    let prefix = original
        .strip_suffix(nested)
        .or_else(|| (nested == "/").then_some(original))
        .unwrap_or("")
        .trim_end_matches('/');
    let mut base = String::with_capacity(prefix.len() + 1);
    // A path that starts `//` or holds `\` (which browsers read as `/`)
    // would make the base another host: keep one leading `/`, encode `\`.
    let prefix = format!("/{}", prefix.trim_start_matches(['/', '\\']));
    let prefix = prefix.trim_end_matches('/');
    for c in prefix.chars() {
        match c {
            '\\' => base.push_str("%5C"),
            '&' => base.push_str("&amp;"),
            '"' => base.push_str("&quot;"),
            '<' => base.push_str("&lt;"),
            '>' => base.push_str("&gt;"),
            c => base.push(c),
        }
    }
    let home = if base.is_empty() { "/" } else { base.as_str() };
    let page = INDEX_HTML.replacen(
        r#"class="brand" href="./""#,
        &format!(r#"class="brand" href="{home}""#),
        1,
    );
    base.push('/');
    page.replacen("<head>", &format!("<head>\n<base href=\"{base}\">"), 1)
}

/// Every file under `/ui/`: name, content type, contents.
pub const ASSETS: &[(&str, &str, &str)] = &[
    ("style.css", CSS, include_str!("../../ui/style.css")),
    ("app.js", JS, include_str!("../../ui/app.js")),
    ("api.js", JS, include_str!("../../ui/api.js")),
    ("view.js", JS, include_str!("../../ui/view.js")),
    ("filters.js", JS, include_str!("../../ui/filters.js")),
    ("histogram.js", JS, include_str!("../../ui/histogram.js")),
    ("results.js", JS, include_str!("../../ui/results.js")),
    ("stats.js", JS, include_str!("../../ui/stats.js")),
    ("chart.js", JS, include_str!("../../ui/chart.js")),
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

#[cfg(test)]
mod tests {
    use super::index_page;

    fn base(original: &str, nested: &str) -> String {
        let page = index_page(original, nested);
        let start = page.find("<base href=\"").expect("a base") + 12;
        page[start..start + page[start..].find('"').expect("closed")].to_owned()
    }

    #[test]
    fn the_base_is_the_mount_path() {
        assert_eq!(base("/", "/"), "/");
        assert_eq!(base("/logs", "/"), "/logs/");
        assert_eq!(base("/logs/", "/"), "/logs/");
        assert_eq!(base("/a/b/", "/"), "/a/b/");
        assert_eq!(base("/x\"<", "/"), "/x&quot;&lt;/");
        assert_eq!(base("//evil.example/x", "/"), "/evil.example/x/");
        assert_eq!(base("/\\evil.example/x", "/"), "/evil.example/x/");
        assert_eq!(base("/a\\b", "/"), "/a%5Cb/");
        assert!(index_page("/logs", "/").contains(r#"class="brand" href="/logs""#));
        assert!(index_page("/", "/").contains(r#"class="brand" href="/""#));
    }
}
