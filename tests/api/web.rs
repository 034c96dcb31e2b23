//! The web app's files: served from the binary at `/` and `/app/...`, each
//! with a policy that allows only this origin's scripts and styles.

use crate::helpers::{assert_problem, TestApp};

crate::both_backends!(
    the_start_page_is_the_app_with_a_strict_policy,
    every_script_and_style_is_served_with_its_type_and_the_same_policy,
    an_unknown_or_escaping_asset_path_is_a_404_problem,
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
