//! Unit tests of the differ on hand-built schemas (the database-backed tests, which apply and
//! prove plans, are in `codegen/tests/diff.rs`).

use super::*;
use crate::model::{Column, EnumType, PgType, PrimaryKey, QualifiedName, Schema, Table};

fn users(columns: &[(&str, PgType, bool)]) -> Schema {
    let mut s = Schema::default();
    let mut t = Table::new(QualifiedName::public("users"));
    for (name, ty, nullable) in columns {
        let mut c = Column::new(*name, ty.clone());
        c.nullable = *nullable;
        t.columns.push(c);
    }
    t.primary_key = Some(PrimaryKey {
        name: "users_pkey".into(),
        columns: vec!["id".into()],
        include: Vec::new(),
        deferrable: Default::default(),
        comment: None,
    });
    s.tables.insert(t.name.clone(), t);
    s
}

#[test]
fn same_schema_gives_an_empty_plan() {
    let s = users(&[("id", PgType::BigInt, false)]);
    assert!(diff(&s, &s, &DiffOptions::default()).is_empty());
}

#[test]
fn added_column_is_one_alter_with_a_lock_hazard() {
    let from = users(&[("id", PgType::BigInt, false)]);
    let to = users(&[
        ("id", PgType::BigInt, false),
        ("avatar_url", PgType::Text, true),
    ]);
    let plan = diff(&from, &to, &DiffOptions::default());
    let sql: Vec<&str> = plan.steps.iter().map(|s| s.sql.as_str()).collect();
    assert_eq!(
        sql,
        [
            "SET lock_timeout = '5s';",
            "ALTER TABLE public.users ADD COLUMN avatar_url text;"
        ]
    );
    assert_eq!(plan.steps[1].hazards[0].kind, HazardKind::Lock);
}

#[test]
fn dropped_column_is_data_loss() {
    let from = users(&[("id", PgType::BigInt, false), ("bio", PgType::Text, true)]);
    let to = users(&[("id", PgType::BigInt, false)]);
    let plan = diff(&from, &to, &DiffOptions::default());
    let losses = plan.disallowed_losses(&[]);
    assert_eq!(losses.len(), 1);
    assert_eq!(losses[0].1, Loss::DropColumn);
    assert!(plan.disallowed_losses(&[Loss::DropColumn]).is_empty());
}

#[test]
fn renamed_column_is_a_rename() {
    let from = users(&[("id", PgType::BigInt, false), ("name", PgType::Text, true)]);
    let mut to = users(&[
        ("id", PgType::BigInt, false),
        ("full_name", PgType::Text, true),
    ]);
    if let Some(t) = to.tables.values_mut().next() {
        t.columns[1].renamed_from = Some("name".into());
    }
    let plan = diff(&from, &to, &DiffOptions::default());
    let sql: Vec<&str> = plan.steps.iter().map(|s| s.sql.as_str()).collect();
    assert_eq!(
        sql,
        [
            "SET lock_timeout = '5s';",
            "ALTER TABLE public.users RENAME COLUMN name TO full_name;"
        ]
    );
}

#[test]
fn enum_labels_added_in_place_and_removed_by_rebuild() {
    let mut from = Schema::default();
    let name = QualifiedName::public("status");
    let e = |labels: &[&str]| EnumType {
        name: name.clone(),
        labels: labels.iter().map(|l| (*l).to_owned()).collect(),
        comment: None,
        renamed_from: None,
        rust_name: None,
    };
    from.enums.insert(name.clone(), e(&["a", "c"]));
    let mut to = Schema::default();
    to.enums.insert(name.clone(), e(&["a", "b", "c", "d"]));
    let plan = diff(&from, &to, &DiffOptions::default());
    let sql: Vec<&str> = plan.steps.iter().map(|s| s.sql.as_str()).collect();
    assert_eq!(
        sql,
        [
            "ALTER TYPE public.status ADD VALUE 'b' AFTER 'a';",
            "ALTER TYPE public.status ADD VALUE 'd' AFTER 'c';"
        ]
    );
    assert!(plan.steps.iter().all(|s| s.segment == Segment::EnumValues));
    let back = diff(&to, &from, &DiffOptions::default());
    assert_eq!(back.disallowed_losses(&[]).len(), 1);
}
