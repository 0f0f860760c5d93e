jobpilot_macros::schema!("tests/fixtures/broken_schema");

fn main() {}
