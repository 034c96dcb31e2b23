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

diesel::joinable!(sessions -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, sessions, refresh_tokens, invitations);
diesel::allow_tables_to_appear_in_same_query!(sessions, user_roles);
