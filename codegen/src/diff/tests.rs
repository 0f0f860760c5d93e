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

/// `users(id)` and `posts(id, user_id, title)`, both existing.
fn blog() -> Schema {
    let mut s = users(&[("id", PgType::BigInt, false)]);
    let mut t = Table::new(QualifiedName::public("posts"));
    let mut id = Column::new("id", PgType::BigInt);
    id.nullable = false;
    t.columns.push(id);
    t.columns.push(Column::new("user_id", PgType::BigInt));
    t.columns.push(Column::new("title", PgType::Varchar(Some(50))));
    t.primary_key = Some(PrimaryKey {
        name: "posts_pkey".into(),
        columns: vec!["id".into()],
        include: Vec::new(),
        deferrable: Default::default(),
        comment: None,
    });
    s.tables.insert(t.name.clone(), t);
    s
}

fn posts(s: &mut Schema) -> &mut Table {
    s.tables.get_mut(&QualifiedName::public("posts")).unwrap()
}

fn kinds(plan: &Plan, needle: &str) -> Vec<HazardKind> {
    plan.steps
        .iter()
        .filter(|s| s.sql.contains(needle))
        .flat_map(|s| s.hazards.iter().map(|h| h.kind))
        .collect()
}

#[test]
fn each_hazard_kind_and_online_form() {
    use crate::model::{
        CheckConstraint, ForeignKey, Grant, Policy, PolicyCommand, Privilege, SqlExpr,
        UniqueConstraint,
    };
    let from = blog();
    let mut to = blog();
    // Volatile default: the table is rewritten.
    let mut c = Column::new("token", PgType::Uuid);
    c.default = Some(SqlExpr::new("gen_random_uuid()"));
    posts(&mut to).columns.push(c);
    // NOT NULL without a default: fails on a table with rows.
    let mut c = Column::new("slug", PgType::Text);
    c.nullable = false;
    posts(&mut to).columns.push(c);
    // A foreign key and a CHECK: NOT VALID, validated in a later transaction.
    posts(&mut to).foreign_keys.push(ForeignKey {
        name: "posts_user_id_fkey".into(),
        columns: vec!["user_id".into()],
        references: QualifiedName::public("users"),
        referenced_columns: vec!["id".into()],
        on_delete: Default::default(),
        on_update: Default::default(),
        match_type: Default::default(),
        deferrable: Default::default(),
        not_valid: false,
        comment: None,
    });
    posts(&mut to).checks.push(CheckConstraint {
        name: "posts_title_check".into(),
        expr: SqlExpr::new("(length((title)::text) > 0)"),
        no_inherit: false,
        not_valid: false,
        comment: None,
    });
    // A unique key: built concurrently, attached USING INDEX.
    posts(&mut to).uniques.push(UniqueConstraint {
        name: "posts_title_key".into(),
        columns: vec!["title".into()],
        nulls_not_distinct: false,
        include: Vec::new(),
        deferrable: Default::default(),
        comment: None,
    });
    // Narrowing: data loss.
    posts(&mut to).columns[2].ty = PgType::Varchar(Some(20));
    // Authorization: RLS, a policy, a grant.
    posts(&mut to).row_security.enabled = true;
    posts(&mut to).policies.push(Policy {
        name: "posts_read".into(),
        command: PolicyCommand::Select,
        permissive: true,
        roles: vec!["authenticated".into()],
        using: Some(SqlExpr::new("true")),
        with_check: None,
        comment: None,
    });
    posts(&mut to).grants.insert(Grant {
        grantee: "authenticated".into(),
        privilege: Privilege::Select,
        with_grant_option: false,
    });
    let plan = diff(&from, &to, &DiffOptions::default());
    let sql = plan.to_sql();
    assert!(kinds(&plan, "ADD COLUMN token").contains(&HazardKind::TableRewrite), "{sql}");
    assert!(kinds(&plan, "ADD COLUMN slug").contains(&HazardKind::Validation), "{sql}");
    assert!(
        kinds(&plan, "title TYPE").contains(&HazardKind::DataLoss(Loss::ChangeType)),
        "{sql}"
    );
    assert!(kinds(&plan, "ENABLE ROW LEVEL SECURITY").contains(&HazardKind::Authorization));
    assert!(kinds(&plan, "CREATE POLICY").contains(&HazardKind::Authorization));
    assert!(kinds(&plan, "GRANT SELECT").contains(&HazardKind::Authorization));
    let segment_of = |needle: &str| {
        plan.steps
            .iter()
            .find(|s| s.sql.contains(needle))
            .map(|s| s.segment)
            .unwrap_or_else(|| panic!("no {needle} in\n{sql}"))
    };
    assert_eq!(segment_of("FOREIGN KEY (user_id)"), Segment::Main);
    assert!(sql.contains("REFERENCES public.users (id) NOT VALID;"), "{sql}");
    assert_eq!(segment_of("VALIDATE CONSTRAINT posts_user_id_fkey"), Segment::Validate);
    assert_eq!(segment_of("VALIDATE CONSTRAINT posts_title_check"), Segment::Validate);
    assert_eq!(
        segment_of("CREATE UNIQUE INDEX CONCURRENTLY posts_title_key"),
        Segment::Concurrent
    );
    assert_eq!(segment_of("UNIQUE USING INDEX posts_title_key"), Segment::Validate);
    assert!(kinds(&plan, "CONCURRENTLY").contains(&HazardKind::IndexBuild));
    assert!(sql.starts_with("-- step: main (in one transaction)\nSET lock_timeout = '5s';"));

    // The plain forms, each with its safer form named.
    let plain = diff(
        &from,
        &to,
        &DiffOptions {
            online: false,
            lock_timeout: None,
        },
    );
    assert!(plain.steps.iter().all(|s| s.segment == Segment::Main));
    let fk = plain
        .steps
        .iter()
        .find(|s| s.sql.contains("FOREIGN KEY (user_id)"))
        .unwrap();
    assert!(!fk.sql.contains("NOT VALID"));
    assert!(fk.hazards.iter().any(|h| h.safer.is_some()));
    let key = plain
        .steps
        .iter()
        .find(|s| s.sql.contains("ADD CONSTRAINT posts_title_key UNIQUE"))
        .unwrap();
    assert!(key.hazards.iter().any(|h| h.kind == HazardKind::IndexBuild && h.safer.is_some()));
}

#[test]
fn dropping_a_table_is_data_loss_and_its_foreign_keys_go_first() {
    let mut from = blog();
    posts(&mut from).foreign_keys.push(crate::model::ForeignKey {
        name: "posts_user_id_fkey".into(),
        columns: vec!["user_id".into()],
        references: QualifiedName::public("users"),
        referenced_columns: vec!["id".into()],
        on_delete: Default::default(),
        on_update: Default::default(),
        match_type: Default::default(),
        deferrable: Default::default(),
        not_valid: false,
        comment: None,
    });
    let to = users(&[("id", PgType::BigInt, false)]);
    let plan = diff(&from, &to, &DiffOptions::default());
    let sql: Vec<&str> = plan.steps.iter().map(|s| s.sql.as_str()).collect();
    assert_eq!(
        sql,
        [
            "SET lock_timeout = '5s';",
            "ALTER TABLE public.posts DROP CONSTRAINT posts_user_id_fkey;",
            "DROP TABLE public.posts;"
        ]
    );
    assert_eq!(plan.disallowed_losses(&[])[0].1, Loss::DropTable);
}
