//! Users, tokens and elections for a test: argon2 only where a test logs
//! in, the rest through `ballotbox::testkit` (shared with `tools/load`).

use ballotbox::crypto::Keys;
use ballotbox::db::DbPool;
use serde_json::Value;

use super::app::TestApp;

/// A user made directly through the library (no HTTP), and its password.
pub struct Seeded {
    pub id: String,
    pub email: String,
    pub password: String,
}

impl TestApp {
    /// Creates a user with these roles (one argon2 hash, no HTTP).
    pub async fn seed_user(&self, email: &str, roles: &[ballotbox::users::Role]) -> Seeded {
        let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
        let hasher = ballotbox::auth::password::Hasher::new(&self.settings.auth).unwrap();
        let hash = hasher.hash(&password).unwrap();
        let (email_c, roles) = (email.to_string(), roles.to_vec());
        let id = self
            .with_conn(move |c| {
                ballotbox::testkit::create_user(c, &email_c, &email_c, &roles, &hash).unwrap()
            })
            .await;
        Seeded {
            id: id.to_string(),
            email: email.to_string(),
            password,
        }
    }

    /// Logs in and returns the whole token response.
    pub async fn login(&self, email: &str, password: &str) -> Value {
        let resp = self
            .post(
                "/api/v1/auth/login",
                &serde_json::json!({"email": email, "password": password}),
                None,
            )
            .await;
        assert_eq!(resp.status(), 200, "login of {email}");
        resp.json().await.unwrap()
    }

    /// Seeds a user with `roles` and returns an access token for them.
    pub async fn token_for(&self, email: &str, roles: &[ballotbox::users::Role]) -> String {
        let u = self.seed_user(email, roles).await;
        self.login(&u.email, &u.password).await["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn admin_token(&self) -> String {
        self.token_for("admin@example.org", &[ballotbox::users::Role::Admin])
            .await
    }
}

/// Many voters at once: one shared password hash, sessions written straight
/// to the database and tokens signed with the app's key (no argon2 per voter,
/// no login round trip). Returns (user id, access token) pairs.
pub async fn fast_users(
    app: &TestApp,
    prefix: &str,
    n: usize,
    roles: &[ballotbox::users::Role],
) -> Vec<(String, String)> {
    fast_users_on(&app.pool, &app.keys, &app.settings.auth, prefix, n, roles).await
}

/// [`fast_users`] on any database, with any server's keys.
pub async fn fast_users_on(
    pool: &DbPool,
    keys: &Keys,
    auth: &ballotbox::config::AuthSettings,
    prefix: &str,
    n: usize,
    roles: &[ballotbox::users::Role],
) -> Vec<(String, String)> {
    let (prefix, roles, keys, auth, pool) = (
        prefix.to_string(),
        roles.to_vec(),
        keys.clone(),
        auth.clone(),
        pool.clone(),
    );
    tokio::task::spawn_blocking(move || {
        let c = &mut pool.get().expect("connection");
        ballotbox::testkit::users_with_tokens(c, &keys, &auth, &prefix, n, &roles)
            .expect("seeding")
            .into_iter()
            .map(|(id, token)| (id.to_string(), token))
            .collect()
    })
    .await
    .expect("seeding")
}

/// A valid election body: one plurality question with `n` options.
pub fn election_body(title: &str, eligibility: &str, n: usize) -> Value {
    let options: Vec<Value> = (0..n)
        .map(|i| serde_json::json!({"label": format!("Option {i}")}))
        .collect();
    serde_json::json!({
        "title": title,
        "description": "",
        "eligibility": eligibility,
        "questions": [{"prompt": "Who?", "method": "plurality", "options": options}]
    })
}

impl TestApp {
    /// Creates an election and returns it.
    pub async fn create_election(&self, admin: &str, body: &Value) -> Value {
        let resp = self.post("/api/v1/elections", body, Some(admin)).await;
        assert_eq!(resp.status(), 201, "create election");
        resp.json().await.unwrap()
    }

    /// POSTs an admin step (`open`, `close`, `schedule`, ...) and returns the status.
    pub async fn step(&self, admin: &str, id: &str, action: &str) -> reqwest::Response {
        self.post(
            &format!("/api/v1/elections/{id}/{action}"),
            &serde_json::json!({}),
            Some(admin),
        )
        .await
    }

    /// Casts `answers` in election `id`.
    pub async fn cast(&self, token: &str, id: &str, answers: &Value) -> reqwest::Response {
        self.post(
            &format!("/api/v1/elections/{id}/ballots"),
            &serde_json::json!({ "answers": answers }),
            Some(token),
        )
        .await
    }
}

/// The answers choosing option `pick` of every question (rankings rank it first).
pub fn answers_picking(election: &Value, pick: usize) -> Value {
    Value::Array(
        election["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| serde_json::json!({"question_id": q["id"], "selections": [q["options"][pick]["id"]]}))
            .collect(),
    )
}
