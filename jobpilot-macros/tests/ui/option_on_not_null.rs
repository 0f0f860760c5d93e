#[jobpilot_macros::table("users")]
pub struct User {
    pub email: Option<String>,
}

fn main() {}
