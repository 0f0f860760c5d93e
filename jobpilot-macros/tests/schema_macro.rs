//! `schema!("../schema")` compiles in a crate and its items are usable: models, typed ids,
//! enums and repositories are the same as the generated crate's.

mod db {
    jobpilot_macros::schema!("../schema");
}

use db::{ApplicationStatus, NewUser, UserId, UserPatch, UserRepo};

#[test]
fn models_ids_and_enums_are_usable() {
    let mut user = NewUser::new("clerk_1", "ada@example.com");
    user.id = Some(UserId(uuid::Uuid::nil()));
    assert_eq!(user.email, "ada@example.com");
    assert_eq!(user.display_name, None);

    let status = ApplicationStatus::Applied;
    assert_eq!(status.as_str(), "applied");
    assert_eq!(status.to_string(), "applied");
    assert!(ApplicationStatus::ALL.contains(&ApplicationStatus::Withdrawn));
    let json = serde_json::to_string(&status).unwrap();
    assert_eq!(json, "\"applied\"");

    // The patch shape and the repository exist with the generated names.
    let _ = UserPatch::default();
    let _ = std::mem::size_of::<UserRepo>();
}

#[test]
fn typed_ids_of_the_macro_and_the_generated_crate_have_the_same_shape() {
    let id = uuid::Uuid::from_u128(7);
    assert_eq!(db::UserId(id).0, jobpilot_db::UserId(id).0);
}
