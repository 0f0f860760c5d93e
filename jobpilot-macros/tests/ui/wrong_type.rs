#[jobpilot_macros::table("users")]
pub struct User {
    pub id: jobpilot_db::JobId,
    pub email: String,
    pub is_active: i32,
}

fn main() {}
