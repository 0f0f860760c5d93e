#[jobpilot_macros::table("users")]
pub struct User {
    pub email: String,
    pub nickname: String,
}

fn main() {}
