//! User administration, and the role matrix over every route.

use ballotbox::users::Role;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, count_rows, TestApp};

crate::both_backends!(
    duplicate_emails_are_409_whatever_their_case,
    an_admin_cannot_disable_itself_or_drop_its_own_admin_role,
    import_reports_created_existing_and_errors_in_one_transaction,
    users_list_filters_by_role_and_search_and_pages_by_cursor,
    user_administration_is_recorded_in_the_audit_chain,
    every_route_answers_each_role_as_the_matrix_says,
);

async fn duplicate_emails_are_409_whatever_their_case(app: TestApp) {
    let admin = app.admin_token().await;
    let body = json!({"email": "Mia@Example.org", "display_name": "Mia", "roles": ["voter"]});
    assert_eq!(
        app.post("/api/v1/users", &body, Some(&admin))
            .await
            .status(),
        201
    );
    let body = json!({"email": "mia@example.ORG", "display_name": "Mia 2", "roles": ["voter"]});
    assert_problem(app.post("/api/v1/users", &body, Some(&admin)).await, 409).await;
    let bad = json!({"email": "not an email", "display_name": "", "roles": []});
    let p = assert_problem(app.post("/api/v1/users", &bad, Some(&admin)).await, 422).await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["display_name", "email", "roles"], "{p}");
}

async fn an_admin_cannot_disable_itself_or_drop_its_own_admin_role(app: TestApp) {
    let me = app.seed_user("root@example.org", &[Role::Admin]).await;
    let token = app.login(&me.email, &me.password).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/users/{}", me.id);
    for body in [json!({"disabled": true}), json!({"roles": ["voter"]})] {
        let resp = app
            .send_json(reqwest::Method::PATCH, &path, &body, Some(&token))
            .await;
        assert_problem(resp, 409).await;
    }
    let resp = app
        .send_json(
            reqwest::Method::PATCH,
            &path,
            &json!({"roles": ["admin", "auditor"], "display_name": "Root"}),
            Some(&token),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let user: Value = resp.json().await.unwrap();
    assert_eq!(user["roles"], json!(["admin", "auditor"]));
    assert_eq!(user["display_name"], "Root");
    assert_problem(
        app.send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/users/{}", uuid::Uuid::new_v4()),
            &json!({"disabled": true}),
            Some(&token),
        )
        .await,
        404,
    )
    .await;
}

async fn import_reports_created_existing_and_errors_in_one_transaction(app: TestApp) {
    let admin = app.admin_token().await;
    app.seed_user("old@example.org", &[Role::Voter]).await;
    let before = count_rows(&app, "users").await;
    let body = json!({"users": [
        {"email": "new1@example.org", "display_name": "New 1"},
        {"email": "OLD@example.org", "display_name": "Old"},
        {"email": "broken", "display_name": "Broken"},
        {"email": "new2@example.org", "display_name": "New 2", "roles": ["auditor"]},
        {"email": "NEW1@example.org", "display_name": "Again"},
    ]});
    let resp = app.post("/api/v1/users/import", &body, Some(&admin)).await;
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().await.unwrap();
    let created = report["created"].as_array().unwrap();
    assert_eq!(created.len(), 2);
    assert_eq!(created[0]["user"]["roles"], json!(["voter"]));
    assert_eq!(created[1]["user"]["roles"], json!(["auditor"]));
    assert!(created[0]["invitation_token"].as_str().unwrap().len() >= 43);
    assert_eq!(report["existing"], json!(["OLD@example.org"]));
    let errors: Vec<u64> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(errors, [2, 4]);
    assert_eq!(count_rows(&app, "users").await, before + 2);
    // The imported user activates with their token.
    let resp = app
        .post("/api/v1/auth/activate", &json!({"invitation_token": created[0]["invitation_token"], "password": "imported password"}), None)
        .await;
    assert_eq!(resp.status(), 200);
    // Over the limit: refused whole.
    let many: Vec<Value> = (0..10_001)
        .map(|i| json!({"email": format!("u{i}@x.org"), "display_name": "U"}))
        .collect();
    let resp = app
        .client
        .post(app.url("/api/v1/users/import"))
        .bearer_auth(&admin)
        .json(&json!({ "users": many }))
        .send()
        .await
        .unwrap();
    assert!(
        [413, 422].contains(&resp.status().as_u16()),
        "{}",
        resp.status()
    );
    assert_eq!(count_rows(&app, "users").await, before + 2);
}

async fn users_list_filters_by_role_and_search_and_pages_by_cursor(app: TestApp) {
    let admin = app.admin_token().await;
    for i in 0..5 {
        app.seed_user(&format!("voter{i}@example.org"), &[Role::Voter])
            .await;
    }
    app.seed_user("Zed.Auditor@example.org", &[Role::Auditor])
        .await;
    let page: Value = app
        .get("/api/v1/users?role=voter&limit=2", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let mut seen: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_string())
        .collect();
    let mut cursor = page["next_cursor"].as_str().map(str::to_string);
    while let Some(c) = cursor {
        let page: Value = app
            .get(
                &format!("/api/v1/users?role=voter&limit=2&cursor={c}"),
                Some(&admin),
            )
            .await
            .json()
            .await
            .unwrap();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["email"].as_str().unwrap().to_string()),
        );
        cursor = page["next_cursor"].as_str().map(str::to_string);
    }
    seen.sort();
    assert_eq!(
        seen,
        (0..5)
            .map(|i| format!("voter{i}@example.org"))
            .collect::<Vec<_>>()
    );
    let page: Value = app
        .get("/api/v1/users?q=zed.AUD", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["roles"], json!(["auditor"]));
    assert!(page["next_cursor"].is_null());
    let page: Value = app
        .get("/api/v1/users?q=%25", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        0,
        "% is matched literally"
    );
    assert_problem(
        app.get("/api/v1/users?cursor=bm90LWEtdXVpZA", Some(&admin))
            .await,
        422,
    )
    .await;
}

async fn user_administration_is_recorded_in_the_audit_chain(app: TestApp) {
    let admin = app.admin_token().await;
    let resp = app
        .post(
            "/api/v1/users",
            &json!({"email": "n@example.org", "display_name": "N", "roles": ["voter"]}),
            Some(&admin),
        )
        .await;
    let id = resp.json::<Value>().await.unwrap()["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.send_json(
        reqwest::Method::PATCH,
        &format!("/api/v1/users/{id}"),
        &json!({"roles": ["voter", "auditor"]}),
        Some(&admin),
    )
    .await;
    app.post(
        "/api/v1/users/import",
        &json!({"users": [{"email": "m@example.org", "display_name": "M"}]}),
        Some(&admin),
    )
    .await;
    let events = app
        .with_conn(|c| {
            use ballotbox::db::schema::audit_events::dsl::*;
            use diesel::prelude::*;
            audit_events
                .order(seq.asc())
                .select(ballotbox::audit::model::AuditRow::as_select())
                .load(c)
                .unwrap()
        })
        .await;
    let events: Vec<_> = events
        .into_iter()
        .map(ballotbox::audit::AuditEvent::from_row)
        .collect();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["user.created", "user.updated", "users.imported"]);
    ballotbox::audit::model::verify_chain(&events).unwrap();
    assert!(
        !serde_json::to_string(&events)
            .unwrap()
            .contains("n@example.org"),
        "no emails in the audit log"
    );
}

/// Who may call each operation of the OpenAPI document. A route missing here
/// fails the matrix test, so every new route must declare its roles.
fn allowed(method: &str, path: &str) -> Option<&'static [&'static str]> {
    const PUBLIC: &[&str] = &["anonymous", "voter", "auditor", "admin", "disabled"];
    const ANY_USER: &[&str] = &["voter", "auditor", "admin"];
    const ADMIN: &[&str] = &["admin"];
    const STAFF: &[&str] = &["auditor", "admin"];
    const VOTER: &[&str] = &["voter"];
    Some(match (method, path) {
        ("get", "/healthz" | "/readyz" | "/api/v1/keys") => PUBLIC,
        ("post", "/api/v1/auth/login" | "/api/v1/auth/refresh" | "/api/v1/auth/activate") => PUBLIC,
        ("post", "/api/v1/auth/logout")
        | ("get", "/api/v1/me")
        | ("put", "/api/v1/me/password") => ANY_USER,
        (_, p) if p.starts_with("/api/v1/users") => ADMIN,
        ("get", "/api/v1/elections" | "/api/v1/elections/{id}") => ANY_USER,
        ("get", "/api/v1/elections/{id}/board" | "/api/v1/elections/{id}/turnout") => ANY_USER,
        ("get", "/api/v1/elections/{id}/receipts/{tracking_code}") => ANY_USER,
        ("get", "/api/v1/elections/{id}/voters") => STAFF,
        ("post", "/api/v1/elections/{id}/ballots")
        | ("get", "/api/v1/elections/{id}/my-ballot") => VOTER,
        // Voters read published results (404 before), so they pass the guard.
        ("get", "/api/v1/elections/{id}/results") => ANY_USER,
        ("get", "/api/v1/elections/{id}/export" | "/api/v1/elections/{id}/audit-log") => STAFF,
        ("get", "/api/v1/audit-log" | "/api/v1/audit-log/checkpoints") => STAFF,
        ("post", "/api/v1/elections/{id}/tally") => ADMIN,
        (_, p) if p.starts_with("/api/v1/elections") => ADMIN,
        _ => return None,
    })
}

async fn every_route_answers_each_role_as_the_matrix_says(app: TestApp) {
    let doc: Value = app
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    let mut tokens = vec![("anonymous", None)];
    for (name, role) in [
        ("voter", Role::Voter),
        ("auditor", Role::Auditor),
        ("admin", Role::Admin),
    ] {
        tokens.push((
            name,
            Some(
                app.token_for(&format!("{name}@matrix.example"), &[role])
                    .await,
            ),
        ));
    }
    let disabled = app
        .seed_user(
            "disabled@matrix.example",
            &[Role::Admin, Role::Voter, Role::Auditor],
        )
        .await;
    let disabled_token = app.login(&disabled.email, &disabled.password).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let admin_token = tokens[3].1.clone().unwrap();
    let resp = app
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/users/{}", disabled.id),
            &json!({"disabled": true}),
            Some(&admin_token),
        )
        .await;
    assert_eq!(resp.status(), 200);
    tokens.push(("disabled", Some(disabled_token)));

    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let roles = allowed(method, path)
                .unwrap_or_else(|| panic!("no matrix entry for {method} {path}"));
            let concrete = path
                .split('/')
                .map(|seg| {
                    if seg.starts_with('{') {
                        uuid::Uuid::new_v4().to_string()
                    } else {
                        seg.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            for (who, token) in &tokens {
                let mut req = app
                    .client
                    .request(method.to_uppercase().parse().unwrap(), app.url(&concrete));
                if method != "get" {
                    req = req.json(&json!({}));
                }
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                let status = req.send().await.unwrap().status().as_u16();
                let expected_ok = roles.contains(who);
                match (*who, expected_ok) {
                    (_, true) => assert!(
                        status != 401 && status != 403,
                        "{who} {method} {path}: {status}"
                    ),
                    ("anonymous" | "disabled", false) => {
                        assert_eq!(status, 401, "{who} {method} {path}")
                    }
                    (_, false) => assert_eq!(status, 403, "{who} {method} {path}"),
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 5 * 14, "only {checked} checks");
}
