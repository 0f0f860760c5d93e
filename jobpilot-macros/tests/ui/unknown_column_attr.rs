#[jobpilot_macros::table("users")]
pub struct User {
    #[column("mail")]
    pub email: String,
}

fn main() {}
