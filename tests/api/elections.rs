//! Elections: validation, lifecycle, draft-only edits, rolls, visibility and
//! the timer.

use std::time::{Duration, Instant};

use ballotbox::users::Role;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, election_body, fast_users, spawn_instance, TestApp};

crate::both_backends!(
    every_validation_rule_gives_422_with_its_field,
    only_the_lifecycle_transitions_are_allowed,
    only_drafts_can_be_edited_or_deleted,
    roll_add_reports_added_already_unknown_and_non_voters,
    voters_see_only_non_drafts_they_are_eligible_for,
    a_scheduled_election_opens_and_closes_by_itself,
    two_instances_run_the_timer_and_each_transition_happens_once,
    elections_list_filters_by_state_and_pages,
);

async fn every_validation_rule_gives_422_with_its_field(app: TestApp) {
    let admin = app.admin_token().await;
    let q = |v: Value| json!({"title": "T", "eligibility": "roll", "questions": [v]});
    let opts = |n: usize| {
        (0..n)
            .map(|i| json!({"label": format!("o{i}")}))
            .collect::<Vec<_>>()
    };
    let soon = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let later = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"title": " ", "eligibility": "roll", "questions": [{"prompt": "p", "method": "irv", "options": opts(2)}]}),
            "title",
        ),
        (
            json!({"title": "T", "eligibility": "roll", "questions": []}),
            "questions",
        ),
        (
            q(json!({"prompt": "p", "method": "irv", "options": opts(1)})),
            "questions[0].options",
        ),
        (
            q(
                json!({"prompt": "p", "method": "irv", "options": [{"label": "A"}, {"label": "a "}]}),
            ),
            "questions[0].options[1].label",
        ),
        (
            q(json!({"prompt": "p", "method": "stv", "seats": 0, "options": opts(3)})),
            "questions[0].seats",
        ),
        (
            q(json!({"prompt": "p", "method": "stv", "seats": 3, "options": opts(3)})),
            "questions[0].seats",
        ),
        (
            q(json!({"prompt": "p", "method": "schulze", "seats": 2, "options": opts(4)})),
            "questions[0].seats",
        ),
        (
            q(
                json!({"prompt": "p", "method": "approval", "min_selections": 3, "max_selections": 2, "options": opts(4)}),
            ),
            "questions[0].min_selections",
        ),
        (
            q(json!({"prompt": "", "method": "borda", "options": opts(2)})),
            "questions[0].prompt",
        ),
        (
            json!({"title": "T", "eligibility": "roll", "opens_at": later, "closes_at": soon,
                "questions": [{"prompt": "p", "method": "irv", "options": opts(2)}]}),
            "closes_at",
        ),
    ];
    for (body, field) in cases {
        let p = assert_problem(
            app.post("/api/v1/elections", &body, Some(&admin)).await,
            422,
        )
        .await;
        let fields: Vec<&str> = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, [field], "{body}");
    }
    // A bad method name or eligibility is a wrong type: 400. Unknown fields too.
    let mut bad = election_body("T", "roll", 2);
    bad["questions"][0]["method"] = json!("dictator");
    assert_problem(app.post("/api/v1/elections", &bad, Some(&admin)).await, 400).await;
    let mut extra = election_body("T", "roll", 2);
    extra["state"] = json!("open");
    assert_problem(
        app.post("/api/v1/elections", &extra, Some(&admin)).await,
        400,
    )
    .await;
    assert_eq!(
        crate::helpers::count_rows(&app, "elections").await,
        0,
        "nothing was created"
    );
}

async fn only_the_lifecycle_transitions_are_allowed(app: TestApp) {
    let admin = app.admin_token().await;
    let e = app
        .create_election(&admin, &election_body("Lifecycle", "all_voters", 3))
        .await;
    let id = e["id"].as_str().unwrap();
    assert_eq!(e["state"], "draft");
    for action in ["close", "publish", "schedule"] {
        assert_problem(app.step(&admin, id, action).await, 409).await;
    }
    let resp = app.step(&admin, id, "open").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["state"], "open");
    for action in ["open", "publish", "schedule"] {
        assert_problem(app.step(&admin, id, action).await, 409).await;
    }
    let closed: Value = app.step(&admin, id, "close").await.json().await.unwrap();
    assert_eq!(closed["state"], "closed");
    assert!(closed["merkle_root"]
        .as_str()
        .is_some_and(|r| r.len() == 64));
    for action in ["open", "close", "publish", "schedule"] {
        assert_problem(app.step(&admin, id, action).await, 409).await;
    }
    assert_problem(
        app.step(&admin, &uuid::Uuid::new_v4().to_string(), "open")
            .await,
        404,
    )
    .await;
    // Every transition is in the audit chain.
    let actions = audit_actions(&app).await;
    assert_eq!(
        actions,
        ["election.created", "election.opened", "election.closed"]
    );
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    app.with_conn(|c| {
        use ballotbox::db::schema::audit_events::dsl::*;
        use diesel::prelude::*;
        audit_events
            .filter(action.like("election.%"))
            .order(seq.asc())
            .select(action)
            .load::<String>(c)
            .unwrap()
    })
    .await
}

async fn only_drafts_can_be_edited_or_deleted(app: TestApp) {
    let admin = app.admin_token().await;
    let e = app
        .create_election(&admin, &election_body("Draft", "roll", 3))
        .await;
    let id = e["id"].as_str().unwrap();
    let path = format!("/api/v1/elections/{id}");
    let new_questions = json!({"title": "Renamed", "questions": [
        {"prompt": "Rank", "method": "irv", "options": [{"label": "x"}, {"label": "y"}, {"label": "z"}, {"label": "w"}]}]});
    let resp = app
        .send_json(reqwest::Method::PATCH, &path, &new_questions, Some(&admin))
        .await;
    assert_eq!(resp.status(), 200);
    let edited: Value = resp.json().await.unwrap();
    assert_eq!(edited["title"], "Renamed");
    assert_eq!(edited["questions"][0]["method"], "irv");
    assert_eq!(
        edited["questions"][0]["options"].as_array().unwrap().len(),
        4
    );
    assert_ne!(
        edited["questions"][0]["id"], e["questions"][0]["id"],
        "questions replaced as a whole"
    );
    let p = assert_problem(
        app.send_json(
            reqwest::Method::PATCH,
            &path,
            &json!({"title": ""}),
            Some(&admin),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "title");
    let other = app
        .create_election(&admin, &election_body("Other", "roll", 2))
        .await;
    let resp = app
        .client
        .delete(app.url(&format!(
            "/api/v1/elections/{}",
            other["id"].as_str().unwrap()
        )))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    app.step(&admin, id, "open").await;
    assert_problem(
        app.send_json(
            reqwest::Method::PATCH,
            &path,
            &json!({"title": "Late"}),
            Some(&admin),
        )
        .await,
        409,
    )
    .await;
    let resp = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 409).await;
}

async fn roll_add_reports_added_already_unknown_and_non_voters(app: TestApp) {
    let admin = app.admin_token().await;
    let voters = fast_users(&app, "rollvoter", 3, &[Role::Voter]).await;
    let auditor = app.seed_user("aud@example.org", &[Role::Auditor]).await;
    let e = app
        .create_election(&admin, &election_body("Roll", "roll", 2))
        .await;
    let id = e["id"].as_str().unwrap();
    let path = format!("/api/v1/elections/{id}/voters");
    let body = json!({"emails": ["RollVoter0@example.org", "rollvoter1@example.org", "ghost@example.org", "aud@example.org"]});
    let report: Value = app
        .post(&path, &body, Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["added"], 2);
    assert_eq!(report["already"], 0);
    assert_eq!(report["unknown"], json!(["ghost@example.org"]));
    assert_eq!(report["not_voters"], json!(["aud@example.org"]));
    let body = json!({"user_ids": [voters[1].0, voters[2].0, uuid::Uuid::new_v4()]});
    let report: Value = app
        .post(&path, &body, Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (report["added"].as_u64(), report["already"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(report["unknown"].as_array().unwrap().len(), 1);
    assert_problem(
        app.post(&path, &json!({"emails": [], "user_ids": []}), Some(&admin))
            .await,
        422,
    )
    .await;
    // The roll, with has_voted, for admins and auditors.
    let auditor_token = app.login(&auditor.email, &auditor.password).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let roll: Value = app
        .get(&path, Some(&auditor_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(roll["items"].as_array().unwrap().len(), 3);
    assert!(roll["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v["has_voted"] == false && v["email"].is_string()));
    // Removal only in draft.
    let resp = app
        .client
        .delete(app.url(&format!("{path}/{}", voters[2].0)))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    app.step(&admin, id, "open").await;
    let resp = app
        .client
        .delete(app.url(&format!("{path}/{}", voters[1].0)))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 409).await;
    // Adding stays possible while open; not once closed.
    let report: Value = app
        .post(&path, &json!({"user_ids": [voters[2].0]}), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["added"], 1);
    app.step(&admin, id, "close").await;
    assert_problem(
        app.post(&path, &json!({"user_ids": [voters[0].0]}), Some(&admin))
            .await,
        409,
    )
    .await;
}

async fn voters_see_only_non_drafts_they_are_eligible_for(app: TestApp) {
    let admin = app.admin_token().await;
    let voters = fast_users(&app, "vis", 2, &[Role::Voter]).await;
    let (on, off) = (&voters[0], &voters[1]);
    let roll = app
        .create_election(&admin, &election_body("Roll only", "roll", 2))
        .await;
    let all = app
        .create_election(&admin, &election_body("Everyone", "all_voters", 2))
        .await;
    let draft = app
        .create_election(&admin, &election_body("Still a draft", "all_voters", 2))
        .await;
    let (roll_id, all_id, draft_id) = (
        roll["id"].as_str().unwrap(),
        all["id"].as_str().unwrap(),
        draft["id"].as_str().unwrap(),
    );
    app.post(
        &format!("/api/v1/elections/{roll_id}/voters"),
        &json!({"user_ids": [on.0]}),
        Some(&admin),
    )
    .await;
    app.step(&admin, roll_id, "open").await;
    app.step(&admin, all_id, "open").await;
    let titles = |v: Value| {
        let mut t: Vec<String> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["title"].as_str().unwrap().to_string())
            .collect();
        t.sort();
        t
    };
    assert_eq!(
        titles(
            app.get("/api/v1/elections", Some(&on.1))
                .await
                .json()
                .await
                .unwrap()
        ),
        ["Everyone", "Roll only"]
    );
    assert_eq!(
        titles(
            app.get("/api/v1/elections", Some(&off.1))
                .await
                .json()
                .await
                .unwrap()
        ),
        ["Everyone"]
    );
    assert_eq!(
        titles(
            app.get("/api/v1/elections", Some(&admin))
                .await
                .json()
                .await
                .unwrap()
        ),
        ["Everyone", "Roll only", "Still a draft"]
    );
    assert_problem(
        app.get(&format!("/api/v1/elections/{roll_id}"), Some(&off.1))
            .await,
        404,
    )
    .await;
    assert_problem(
        app.get(&format!("/api/v1/elections/{draft_id}"), Some(&on.1))
            .await,
        404,
    )
    .await;
    let seen: Value = app
        .get(&format!("/api/v1/elections/{roll_id}"), Some(&on.1))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        seen.get("ballot_count").is_none(),
        "voters see no count before results"
    );
    let staff: Value = app
        .get(&format!("/api/v1/elections/{roll_id}"), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(staff["ballot_count"], 0);
    // Casting off the roll is 403; in a draft, 404.
    let answers = crate::helpers::answers_picking(&roll, 0);
    assert_problem(app.cast(&off.1, roll_id, &answers).await, 403).await;
    assert_problem(
        app.cast(&on.1, draft_id, &crate::helpers::answers_picking(&draft, 0))
            .await,
        404,
    )
    .await;
}

async fn wait_for_state(
    app: &TestApp,
    token: &str,
    id: &str,
    state: &str,
    within: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        let e: Value = app
            .get(&format!("/api/v1/elections/{id}"), Some(token))
            .await
            .json()
            .await
            .unwrap();
        if e["state"] == state {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{id} still {} after {within:?}",
            e["state"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn a_scheduled_election_opens_and_closes_by_itself(app: TestApp) {
    let admin = app.admin_token().await;
    let mut body = election_body("Timed", "all_voters", 2);
    let opens = chrono::Utc::now() + chrono::Duration::milliseconds(2500);
    let closes = opens + chrono::Duration::milliseconds(1500);
    body["opens_at"] = json!(opens.to_rfc3339());
    body["closes_at"] = json!(closes.to_rfc3339());
    let e = app.create_election(&admin, &body).await;
    let id = e["id"].as_str().unwrap();
    // Not armed: stays a draft.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let resp = app.step(&admin, id, "schedule").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["state"], "draft");
    wait_for_state(&app, &admin, id, "open", Duration::from_secs(8)).await;
    let late = chrono::Utc::now() - opens;
    assert!(late < chrono::Duration::seconds(3), "opened {late} late");
    wait_for_state(&app, &admin, id, "closed", Duration::from_secs(6)).await;
    let actions = audit_actions(&app).await;
    assert_eq!(
        actions,
        [
            "election.created",
            "election.scheduled",
            "election.opened",
            "election.closed"
        ]
    );
    // The timer's events carry no actor.
    let actors = app
        .with_conn(|c| {
            use ballotbox::db::schema::audit_events::dsl::*;
            use diesel::prelude::*;
            audit_events
                .filter(action.eq_any(["election.opened", "election.closed"]))
                .select(actor_id)
                .load::<Option<ballotbox::users::UserId>>(c)
                .unwrap()
        })
        .await;
    assert!(actors.iter().all(Option::is_none));
}

async fn two_instances_run_the_timer_and_each_transition_happens_once(app: TestApp) {
    let admin = app.admin_token().await;
    // A second (and third) server on the same database, each with its own timer.
    let mut others = Vec::new();
    for i in 0..2 {
        others.push(
            spawn_instance(
                &app.settings.database.url,
                app.settings.data.dir.join(format!("i{i}")),
                app.keys.clone(),
            )
            .await,
        );
    }
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut body = election_body(&format!("Multi {i}"), "all_voters", 2);
        let opens = chrono::Utc::now() + chrono::Duration::milliseconds(4000);
        body["opens_at"] = json!(opens.to_rfc3339());
        body["closes_at"] = json!((opens + chrono::Duration::milliseconds(1200)).to_rfc3339());
        let e = app.create_election(&admin, &body).await;
        let id = e["id"].as_str().unwrap().to_string();
        assert_eq!(app.step(&admin, &id, "schedule").await.status(), 200);
        ids.push(id);
    }
    for id in &ids {
        wait_for_state(&app, &admin, id, "closed", Duration::from_secs(12)).await;
    }
    let actions = audit_actions(&app).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "election.opened").count(),
        5,
        "{actions:?}"
    );
    assert_eq!(
        actions.iter().filter(|a| *a == "election.closed").count(),
        5,
        "{actions:?}"
    );
}

async fn elections_list_filters_by_state_and_pages(app: TestApp) {
    let admin = app.admin_token().await;
    for i in 0..5 {
        let e = app
            .create_election(&admin, &election_body(&format!("E{i}"), "all_voters", 2))
            .await;
        if i % 2 == 0 {
            app.step(&admin, e["id"].as_str().unwrap(), "open").await;
        }
    }
    let open: Value = app
        .get("/api/v1/elections?state=open", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(open["items"].as_array().unwrap().len(), 3);
    let mut seen = 0;
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("/api/v1/elections?limit=2&cursor={c}"),
            None => "/api/v1/elections?limit=2".to_string(),
        };
        let page: Value = app.get(&url, Some(&admin)).await.json().await.unwrap();
        seen += page["items"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, 5);
    assert_problem(
        app.get("/api/v1/elections?state=nonsense", Some(&admin))
            .await,
        400,
    )
    .await;
}
