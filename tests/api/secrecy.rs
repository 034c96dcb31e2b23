//! Ballot secrecy (#12): who may cast is settled before the body is read;
//! hashes are salted and the board is withheld until close; storage keeps
//! nothing that pairs a voter with a ballot; data files are private.

use ballotbox::users::Role;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, count_rows, election_body, fast_users, TestApp};

crate::both_backends!(a_caller_who_may_not_vote_learns_nothing_from_the_body,);

const SECRET_PROMPT: &str = "Unannounced merger with ACME?";

/// Every kind of body a prober could send: valid, invalid in each way the
/// validator explains, and malformed.
fn probe_bodies(e: &Value) -> Vec<String> {
    let q = &e["questions"][0];
    vec![
        json!({"answers": [{"question_id": q["id"], "selections": [q["options"][0]["id"]]}]})
            .to_string(),
        json!({"answers": []}).to_string(),
        json!({"answers": [{"question_id": q["id"], "selections": []}]}).to_string(),
        json!({"answers": [{"question_id": uuid::Uuid::new_v4(), "selections": []}]}).to_string(),
        json!({"nonsense": true}).to_string(),
        "{\"answers\": [".to_string(),
    ]
}

async fn post_raw(app: &TestApp, token: &str, id: &str, body: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/elections/{id}/ballots")))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

/// Sends every probe body and expects `status` each time, never a word of
/// the questions.
async fn probe(app: &TestApp, token: &str, e: &Value, status: u16, what: &str) {
    let id = e["id"].as_str().unwrap();
    for body in probe_bodies(e) {
        let resp = post_raw(app, token, id, &body).await;
        assert_eq!(resp.status().as_u16(), status, "{what}, body {body}");
        let text = resp.text().await.unwrap();
        assert!(
            !text.contains(SECRET_PROMPT),
            "{what} leaks the prompt: {text}"
        );
        assert!(
            !text.contains("question"),
            "{what} speaks of questions: {text}"
        );
    }
}

fn secret_election(title: &str, eligibility: &str) -> Value {
    let mut body = election_body(title, eligibility, 3);
    body["questions"][0]["prompt"] = json!(SECRET_PROMPT);
    body
}

async fn a_caller_who_may_not_vote_learns_nothing_from_the_body(app: TestApp) {
    let admin = app.admin_token().await;
    let voters = fast_users(&app, "prober", 3, &[Role::Voter]).await;
    let (on, off, other) = (&voters[0], &voters[1], &voters[2]);
    let roll = app
        .create_election(&admin, &secret_election("Roll", "roll"))
        .await;
    let roll_id = roll["id"].as_str().unwrap();
    let resp = app
        .post(
            &format!("/api/v1/elections/{roll_id}/voters"),
            &json!({"user_ids": [on.0]}),
            Some(&admin),
        )
        .await;
    assert!(resp.status().is_success(), "{}", resp.status());
    assert_eq!(app.step(&admin, roll_id, "open").await.status(), 200);
    let draft = app
        .create_election(&admin, &secret_election("Draft", "all_voters"))
        .await;
    let closed = app
        .create_election(&admin, &secret_election("Closed", "all_voters"))
        .await;
    let closed_id = closed["id"].as_str().unwrap();
    assert_eq!(app.step(&admin, closed_id, "open").await.status(), 200);
    assert_eq!(app.step(&admin, closed_id, "close").await.status(), 200);

    // Off the roll: 403 whatever the body; a draft's id: 404 whatever the body.
    probe(&app, &off.1, &roll, 403, "off the roll").await;
    probe(&app, &on.1, &draft, 404, "a draft").await;
    probe(&app, &other.1, &draft, 404, "a draft").await;
    // An unknown id: 404 whatever the body.
    let mut unknown = draft.clone();
    unknown["id"] = json!(uuid::Uuid::new_v4());
    probe(&app, &on.1, &unknown, 404, "an unknown election").await;
    // Not open: 409 whatever the body.
    probe(&app, &on.1, &closed, 409, "a closed election").await;
    assert_eq!(count_rows(&app, "ballots").await, 0);
    assert_eq!(count_rows(&app, "participations").await, 0);

    // An eligible voter of an open election is told what is wrong with it.
    let bodies = probe_bodies(&roll);
    let resp = post_raw(&app, &on.1, roll_id, &bodies[1]).await;
    let problem = assert_problem(resp, 422).await;
    assert!(problem.to_string().contains(SECRET_PROMPT), "{problem}");
    assert_problem(post_raw(&app, &on.1, roll_id, &bodies[5]).await, 400).await;
    assert_eq!(
        post_raw(&app, &on.1, roll_id, &bodies[0]).await.status(),
        201
    );
    // Having voted: 409 whatever the body, before any validation.
    probe(&app, &on.1, &roll, 409, "already voted").await;
    assert_eq!(count_rows(&app, "ballots").await, 1);
}
