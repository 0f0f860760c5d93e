//! A hand-written struct that matches `users`: typed id and inner type, `Option` on nullable
//! columns, `#[column]` for a renamed field, full and short type paths.

use chrono::{DateTime, Utc};

#[jobpilot_macros::table("users")]
#[derive(Debug, Clone, PartialEq)]
pub struct UserSummary {
    pub id: jobpilot_db::UserId,
    pub email: String,
    pub display_name: Option<String>,
    #[column("is_active")]
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[jobpilot_macros::table("profiles", schema = "../schema")]
pub struct ProfileRow {
    pub id: uuid::Uuid,
    pub user_id: jobpilot_db::UserId,
    pub desired_titles: Vec<String>,
    pub desired_salary_min: Option<rust_decimal::Decimal>,
    pub preferences: serde_json::Value,
}

fn main() {
    let s = UserSummary {
        id: jobpilot_db::UserId(uuid::Uuid::nil()),
        email: "a@b.c".into(),
        display_name: None,
        active: true,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    };
    assert_eq!(s.clone(), s);
    let _ = ProfileRow {
        id: uuid::Uuid::nil(),
        user_id: s.id,
        desired_titles: Vec::new(),
        desired_salary_min: None,
        preferences: serde_json::Value::Null,
    };
}
