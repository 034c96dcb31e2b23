//! The web app (voter booth, admin and auditor pages): static files from
//! `web/`, embedded in the binary at build time so that a fresh `serve`
//! needs nothing else on the machine. Served at `/` and `/app/...` with a
//! Content-Security-Policy that allows only this origin: no inline script or
//! style, no third-party origin, no framing.

use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Compress;
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

/// The policy on every page and asset of the app. `connect-src 'self'` is
/// the API; `img-src data:` is for the SVG icons built in the stylesheet.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        /// Every file of `web/` (path relative to it, contents).
        pub static ASSETS: &[(&str, &[u8])] = &[
            $(($path, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $path)))),*
        ];
    };
}

assets![
    "index.html",
    "app.css",
    "js/main.js",
    "js/api.js",
    "js/dom.js",
    "js/i18n.js",
    "js/crypto.js",
    "js/router.js",
    "js/ui.js",
    "js/views/auth.js",
    "js/views/voter.js",
    "js/views/booth.js",
    "js/views/receipt.js",
    "js/views/admin.js",
    "js/views/results.js",
    "js/views/audit.js",
    "i18n/en.js",
    "i18n/fr.js",
];

/// Mounts `/` and `/app/{path}`, gzip-compressed for browsers that ask.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/")
            .wrap(Compress::default())
            .route(web::get().to(index)),
    )
    .service(
        web::resource("/app/{path:.*}")
            .wrap(Compress::default())
            .route(web::get().to(asset)),
    );
}

/// Strong ETags (SHA-256 of each file), computed once.
fn etags() -> &'static [String] {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|(_, body)| format!("\"{}\"", hex::encode(&Sha256::digest(body)[..12])))
            .collect()
    })
}

fn find(path: &str) -> Option<&'static [u8]> {
    ASSETS.iter().find(|(p, _)| *p == path).map(|(_, b)| *b)
}

fn etag_of(path: &str) -> Option<&'static str> {
    let i = ASSETS.iter().position(|(p, _)| *p == path)?;
    etags().get(i).map(String::as_str)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

fn respond(req: &HttpRequest, path: &str, body: &'static [u8]) -> HttpResponse {
    let etag = etag_of(path).unwrap_or_default();
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut res = if unchanged {
        HttpResponse::NotModified().finish()
    } else {
        HttpResponse::Ok()
            .content_type(content_type(path))
            .body(body)
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    // The files change only with the binary: a browser revalidates on each
    // load (a 304 when its ETag still matches), so an old script never runs
    // against a newer API.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    res
}

/// The app's single page.
async fn index(req: HttpRequest) -> HttpResponse {
    match find("index.html") {
        Some(b) => respond(&req, "index.html", b),
        None => HttpResponse::NotFound().finish(),
    }
}

/// A script, stylesheet or catalogue of the app.
async fn asset(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    match find(&path) {
        Some(b) => respond(&req, &path, b),
        None => HttpResponse::NotFound().finish(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file added to `web/` but not to the list would be a 404 in
    /// production only.
    #[test]
    fn every_file_of_the_web_folder_is_embedded() {
        fn walk(dir: &std::path::Path, base: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("web folder") {
                let p = entry.expect("entry").path();
                if p.is_dir() {
                    walk(&p, base, out);
                } else if let Ok(rel) = p.strip_prefix(base) {
                    out.push(rel.display().to_string());
                }
            }
        }
        let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
        let mut files = Vec::new();
        walk(&base, &base, &mut files);
        for f in &files {
            assert!(find(f).is_some(), "web/{f} is not in web::ASSETS");
        }
        assert_eq!(files.len(), ASSETS.len());
    }

    #[test]
    fn the_policy_allows_no_inline_code_and_no_other_origin() {
        assert!(!CSP.contains("unsafe"));
        assert!(!CSP.contains("http"));
        assert!(CSP.contains("frame-ancestors 'none'"));
    }
}
