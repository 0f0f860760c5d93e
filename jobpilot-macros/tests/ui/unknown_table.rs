#[jobpilot_macros::table("userz")]
pub struct User {
    pub email: String,
}

fn main() {}
