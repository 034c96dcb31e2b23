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
