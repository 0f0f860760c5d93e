jobpilot_macros::schema!("no/such/schema");

#[jobpilot_macros::table("users", schema = "no/such/schema")]
pub struct User {
    pub email: String,
}

fn main() {}
