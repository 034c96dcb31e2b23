//! The logical schema shared by both backends, kept by hand: `diesel
//! print-schema` would emit backend-specific types.

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::{SqlUuid as Uuid, UtcTime};

    users (id) {
        id -> Uuid,
        email -> Text,
        email_normalized -> Text,
        display_name -> Text,
        password_hash -> Nullable<Text>,
        disabled -> Bool,
        created_at -> UtcTime,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::SqlUuid as Uuid;

    user_roles (user_id, role) {
        user_id -> Uuid,
        role -> Text,
    }
}

diesel::joinable!(user_roles -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, user_roles);

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::{SqlUuid as Uuid, UtcTime};

    sessions (id) {
        id -> Uuid,
        user_id -> Uuid,
        created_at -> UtcTime,
        expires_at -> UtcTime,
        revoked_at -> Nullable<UtcTime>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::{SqlUuid as Uuid, UtcTime};

    refresh_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        family_id -> Uuid,
        token_hash -> Text,
        created_at -> UtcTime,
        expires_at -> UtcTime,
        revoked_at -> Nullable<UtcTime>,
        replaced_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::{SqlUuid as Uuid, UtcTime};

    invitations (token_hash) {
        token_hash -> Text,
        user_id -> Uuid,
        created_at -> UtcTime,
        expires_at -> UtcTime,
        used_at -> Nullable<UtcTime>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::UtcTime;

    login_throttle (key) {
        key -> Text,
        count -> Integer,
        window_start -> UtcTime,
        locked_until -> Nullable<UtcTime>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::{SqlUuid as Uuid, UtcTime};

    audit_events (seq) {
        seq -> BigInt,
        at -> UtcTime,
        actor_id -> Nullable<Uuid>,
        action -> Text,
        election_id -> Nullable<Uuid>,
        details -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::UtcTime;

    audit_checkpoints (seq) {
        seq -> BigInt,
        hash -> Text,
        at -> UtcTime,
        kid -> Nullable<Text>,
        signature -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::{SqlUuid as Uuid, UtcTime};

    device_tokens (token_hash) {
        token_hash -> Text,
        user_id -> Uuid,
        created_at -> UtcTime,
        last_used_at -> UtcTime,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, sessions, refresh_tokens, invitations);
diesel::allow_tables_to_appear_in_same_query!(sessions, user_roles);

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::{SqlUuid as Uuid, UtcTime};

    elections (id) {
        id -> Uuid,
        title -> Text,
        description -> Text,
        state -> Text,
        eligibility -> Text,
        opens_at -> Nullable<UtcTime>,
        closes_at -> Nullable<UtcTime>,
        scheduled -> Bool,
        created_at -> UtcTime,
        created_by -> Uuid,
        merkle_root -> Nullable<Text>,
        notify_on_open -> Bool,
        notify_on_publish -> Bool,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::SqlUuid as Uuid;

    questions (id) {
        id -> Uuid,
        election_id -> Uuid,
        position -> Integer,
        prompt -> Text,
        method -> Text,
        seats -> Integer,
        min_selections -> Integer,
        max_selections -> Integer,
        allow_blank -> Bool,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::SqlUuid as Uuid;

    options (id) {
        id -> Uuid,
        question_id -> Uuid,
        election_id -> Uuid,
        position -> Integer,
        label -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::{SqlUuid as Uuid, UtcTime};

    election_voters (election_id, user_id) {
        election_id -> Uuid,
        user_id -> Uuid,
        added_at -> UtcTime,
    }
}

diesel::joinable!(questions -> elections (election_id));
diesel::joinable!(options -> questions (question_id));
diesel::joinable!(election_voters -> elections (election_id));
diesel::joinable!(election_voters -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(
    elections,
    questions,
    options,
    election_voters,
    users
);
diesel::allow_tables_to_appear_in_same_query!(election_voters, user_roles);

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::{SqlUuid as Uuid, UtcTime};

    participations (election_id, voter_id) {
        election_id -> Uuid,
        voter_id -> Uuid,
        cast_at -> UtcTime,
        idempotency_key_hash -> Nullable<Text>,
        idempotency_sealed -> Nullable<Binary>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::SqlUuid as Uuid;

    ballots (id) {
        id -> Uuid,
        election_id -> Uuid,
        tracking_code -> Text,
        ballot_hash -> Text,
        content -> Text,
        salt -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(elections, participations, ballots);
diesel::allow_tables_to_appear_in_same_query!(participations, election_voters);
diesel::allow_tables_to_appear_in_same_query!(participations, users);

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::{SqlUuid as Uuid, UtcTime};

    results (election_id) {
        election_id -> Uuid,
        document -> Text,
        merkle_root -> Text,
        signature -> Text,
        kid -> Text,
        computed_at -> UtcTime,
    }
}

diesel::joinable!(results -> elections (election_id));
diesel::allow_tables_to_appear_in_same_query!(elections, results);

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::{SqlUuid as Uuid, UtcTime};

    mail_outbox (id) {
        id -> Uuid,
        kind -> Text,
        to_addr -> Text,
        user_id -> Nullable<Uuid>,
        election_id -> Nullable<Uuid>,
        locale -> Text,
        secret_sealed -> Nullable<Binary>,
        status -> Text,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        next_attempt_at -> UtcTime,
        claimed_until -> Nullable<UtcTime>,
        created_at -> UtcTime,
        sent_at -> Nullable<UtcTime>,
    }
}
