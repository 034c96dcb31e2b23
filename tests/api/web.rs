//! The web app's files: served from the binary at `/` and `/app/...`, each
//! with a policy that allows only this origin's scripts and styles.

use crate::helpers::{assert_problem, TestApp};

crate::both_backends!(
    the_start_page_is_the_app_with_a_strict_policy,
    every_script_and_style_is_served_with_its_type_and_the_same_policy,
    an_unknown_or_escaping_asset_path_is_a_404_problem,
    a_file_the_browser_holds_is_not_sent_again_and_files_are_compressed,
);

fn assert_strict_policy(resp: &reqwest::Response, what: &str) {
    let h = resp.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(!csp.contains("unsafe"), "{what}: {csp}");
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{what} lacks {part}: {csp}");
    }
    assert!(!csp.contains("http"), "{what} allows another origin: {csp}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["x-frame-options"], "DENY", "{what}");
}

async fn the_start_page_is_the_app_with_a_strict_policy(app: TestApp) {
    let resp = app.get("/", None).await;
    assert_eq!(resp.status(), 200);
    assert_strict_policy(&resp, "/");
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = resp.text().await.unwrap();
    assert!(html.contains(r#"<script type="module" src="/app/js/main.js">"#));
    // No inline script or style that the policy would block.
    assert!(!html.contains("<script>") && !html.contains("<style") && !html.contains("style="));
}

async fn every_script_and_style_is_served_with_its_type_and_the_same_policy(app: TestApp) {
    for (path, ty) in [
        ("/app/js/main.js", "text/javascript"),
        ("/app/js/views/booth.js", "text/javascript"),
        ("/app/i18n/fr.js", "text/javascript"),
        ("/app/app.css", "text/css"),
    ] {
        let resp = app.get(path, None).await;
        assert_eq!(resp.status(), 200, "{path}");
        assert_strict_policy(&resp, path);
        let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with(ty), "{path}: {ct}");
        assert!(!resp.text().await.unwrap().is_empty(), "{path}");
    }
}

async fn an_unknown_or_escaping_asset_path_is_a_404_problem(app: TestApp) {
    for path in [
        "/app/nope.js",
        "/app/../Cargo.toml",
        "/app/%2e%2e/Cargo.toml",
        "/app/",
        "/index.html",
    ] {
        assert_problem(app.get(path, None).await, 404).await;
    }
}

async fn a_file_the_browser_holds_is_not_sent_again_and_files_are_compressed(app: TestApp) {
    let first = app.get("/app/js/views/booth.js", None).await;
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && etag.len() > 10, "{etag}");
    let again = app
        .client
        .get(app.url("/app/js/views/booth.js"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_strict_policy(&again, "304");
    let other = app
        .client
        .get(app.url("/app/js/main.js"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200, "another file's tag does not match");
    let gz = app
        .client
        .get(app.url("/app/js/views/booth.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.status(), 200);
    assert_eq!(gz.headers()["content-encoding"], "gzip");
}
