#[jobpilot_macros::table("users")]
pub struct User {
    pub display_name: String,
}

fn main() {}
