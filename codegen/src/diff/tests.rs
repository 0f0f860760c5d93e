//! Unit tests of the differ on hand-built schemas (the database-backed tests, which apply and
//! prove plans, are in `codegen/tests/diff.rs`).

use super::*;
use crate::model::{Column, EnumType, PgType, PrimaryKey, QualifiedName, Schema, SqlExpr, Table};

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
        renamed_from: None,
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
        renamed_labels: Vec::new(),
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
    t.columns
        .push(Column::new("title", PgType::Varchar(Some(50))));
    t.primary_key = Some(PrimaryKey {
        name: "posts_pkey".into(),
        columns: vec!["id".into()],
        include: Vec::new(),
        deferrable: Default::default(),
        comment: None,
        renamed_from: None,
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
        renamed_from: None,
    });
    posts(&mut to).checks.push(CheckConstraint {
        name: "posts_title_check".into(),
        expr: SqlExpr::new("(length((title)::text) > 0)"),
        no_inherit: false,
        not_valid: false,
        comment: None,
        renamed_from: None,
    });
    // A unique key: built concurrently, attached USING INDEX.
    posts(&mut to).uniques.push(UniqueConstraint {
        name: "posts_title_key".into(),
        columns: vec!["title".into()],
        nulls_not_distinct: false,
        include: Vec::new(),
        deferrable: Default::default(),
        comment: None,
        renamed_from: None,
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
    assert!(
        kinds(&plan, "ADD COLUMN token").contains(&HazardKind::TableRewrite),
        "{sql}"
    );
    assert!(
        kinds(&plan, "ADD COLUMN slug").contains(&HazardKind::Validation),
        "{sql}"
    );
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
    assert!(
        sql.contains("REFERENCES public.users (id) NOT VALID;"),
        "{sql}"
    );
    assert_eq!(
        segment_of("VALIDATE CONSTRAINT posts_user_id_fkey"),
        Segment::Validate
    );
    assert_eq!(
        segment_of("VALIDATE CONSTRAINT posts_title_check"),
        Segment::Validate
    );
    assert_eq!(
        segment_of("CREATE UNIQUE INDEX CONCURRENTLY posts_title_key"),
        Segment::Concurrent
    );
    assert_eq!(
        segment_of("UNIQUE USING INDEX posts_title_key"),
        Segment::Validate
    );
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
    assert!(
        key.hazards
            .iter()
            .any(|h| h.kind == HazardKind::IndexBuild && h.safer.is_some())
    );
}

#[test]
fn dropping_a_table_is_data_loss_and_its_foreign_keys_go_first() {
    let mut from = blog();
    posts(&mut from)
        .foreign_keys
        .push(crate::model::ForeignKey {
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
            renamed_from: None,
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

/// `status` (an enum) and `apps(id, state status DEFAULT 'interviewing' CHECK (state <> 'offer'))`.
fn with_status(labels: &[&str], default: &str) -> Schema {
    use crate::model::CheckConstraint;
    let mut s = users(&[("id", PgType::BigInt, false)]);
    let name = QualifiedName::public("status");
    s.enums.insert(
        name.clone(),
        EnumType {
            name: name.clone(),
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            comment: None,
            renamed_from: None,
            renamed_labels: Vec::new(),
            rust_name: None,
        },
    );
    let users = s.tables.get_mut(&QualifiedName::public("users")).unwrap();
    let mut c = Column::new("state", PgType::Named(name));
    c.default = Some(SqlExpr::new(format!("'{default}'::public.status")));
    users.columns.push(c);
    users.checks.push(CheckConstraint {
        name: "users_state_check".into(),
        expr: SqlExpr::new(format!(
            "(state <> '{default}'::public.status_kind) AND (state <> '{default}'::public.status)"
        )),
        no_inherit: false,
        not_valid: false,
        comment: None,
        renamed_from: None,
    });
    s
}

fn sql_of(plan: &Plan) -> Vec<&str> {
    plan.steps.iter().map(|s| s.sql.as_str()).collect()
}

#[test]
fn renamed_enum_label_is_renamed_in_place_and_back() {
    let from = with_status(&["saved", "interviewing", "offer"], "interviewing");
    let mut to = with_status(&["saved", "interview", "offer"], "interview");
    // The constant of the other type is not this enum's: PostgreSQL leaves it alone.
    let check = &mut to
        .tables
        .get_mut(&QualifiedName::public("users"))
        .unwrap()
        .checks[0];
    check.expr = SqlExpr::new(
        "(state <> 'interviewing'::public.status_kind) AND (state <> 'interview'::public.status)",
    );
    let status = QualifiedName::public("status");
    if let Some(e) = to.enums.get_mut(&status) {
        e.renamed_labels = vec![("interview".to_owned(), "interviewing".to_owned())];
    }
    let plan = diff(&from, &to, &DiffOptions::default());
    // One rename: no rebuild of the enum (no data-loss hazard), and the default and the check
    // that mention the label are left to PostgreSQL, which renames them along.
    assert_eq!(
        sql_of(&plan),
        [
            "SET lock_timeout = '5s';",
            "ALTER TYPE public.status RENAME VALUE 'interviewing' TO 'interview';"
        ],
        "{}",
        plan.to_sql()
    );
    assert!(plan.disallowed_losses(&[]).is_empty());
    let kinds: Vec<HazardKind> = plan.steps[1].hazards.iter().map(|h| h.kind).collect();
    assert_eq!(kinds, [HazardKind::Lock]);
    assert_eq!(plan.steps[1].segment, Segment::Main);

    let down = diff_down(&from, &to, &DiffOptions::default());
    assert_eq!(
        sql_of(&down),
        [
            "SET lock_timeout = '5s';",
            "ALTER TYPE public.status RENAME VALUE 'interview' TO 'interviewing';"
        ],
        "{}",
        down.to_sql()
    );
    assert!(down.disallowed_losses(&[]).is_empty());

    // Once applied, the declaration that still says `renamed_values` asks for nothing.
    assert!(diff(&to.database_view(), &to, &DiffOptions::default()).is_empty());
}

#[test]
fn renamed_enum_label_follows_a_renamed_enum() {
    let mut from = with_status(&["a", "b"], "a");
    let mut to = from.clone();
    let (old, new) = (
        QualifiedName::public("status"),
        QualifiedName::public("state"),
    );
    if let Some(mut e) = to.enums.remove(&old) {
        e.name = new.clone();
        e.labels = vec!["a".to_owned(), "bee".to_owned()];
        e.renamed_from = Some(old.clone());
        e.renamed_labels = vec![("bee".to_owned(), "b".to_owned())];
        to.enums.insert(new.clone(), e);
    }
    for s in [&mut from, &mut to] {
        s.tables
            .get_mut(&QualifiedName::public("users"))
            .unwrap()
            .checks
            .clear();
    }
    let users = to.tables.get_mut(&QualifiedName::public("users")).unwrap();
    users.columns[1].ty = PgType::Named(new.clone());
    users.columns[1].default = Some(SqlExpr::new("'a'::public.state"));
    let plan = diff(&from, &to, &DiffOptions::default());
    let sql = sql_of(&plan);
    assert_eq!(sql[1], "ALTER TYPE public.status RENAME TO state;");
    assert_eq!(sql[2], "ALTER TYPE public.state RENAME VALUE 'b' TO 'bee';");
    assert!(plan.disallowed_losses(&[]).is_empty(), "{}", plan.to_sql());
    let down = diff_down(&from, &to, &DiffOptions::default());
    let sql = sql_of(&down);
    assert_eq!(sql[1], "ALTER TYPE public.state RENAME TO status;");
    assert_eq!(
        sql[2],
        "ALTER TYPE public.status RENAME VALUE 'bee' TO 'b';"
    );
    assert!(down.disallowed_losses(&[]).is_empty(), "{}", down.to_sql());
}

#[test]
fn renamed_label_that_is_not_in_from_is_not_renamed() {
    // `from` already has the new label (the rename ran): nothing to do, whatever `to` says.
    let from = with_status(&["saved", "interview"], "interview");
    let mut to = from.clone();
    if let Some(e) = to.enums.get_mut(&QualifiedName::public("status")) {
        e.renamed_labels = vec![("interview".to_owned(), "interviewing".to_owned())];
    }
    assert!(diff(&from, &to, &DiffOptions::default()).is_empty());
    assert!(diff_down(&from, &to, &DiffOptions::default()).is_empty());
}

/// `blog()` with a foreign key and a CHECK on posts.
fn blog_with_constraints(fk: &str, check: &str) -> Schema {
    use crate::model::{CheckConstraint, ForeignKey};
    let mut s = blog();
    posts(&mut s).foreign_keys.push(ForeignKey {
        name: fk.into(),
        columns: vec!["user_id".into()],
        references: QualifiedName::public("users"),
        referenced_columns: vec!["id".into()],
        on_delete: Default::default(),
        on_update: Default::default(),
        match_type: Default::default(),
        deferrable: Default::default(),
        not_valid: false,
        comment: None,
        renamed_from: None,
    });
    posts(&mut s).checks.push(CheckConstraint {
        name: check.into(),
        expr: SqlExpr::new("(length((title)::text) > 0)"),
        no_inherit: false,
        not_valid: false,
        comment: None,
        renamed_from: None,
    });
    s
}

#[test]
fn renamed_check_and_foreign_key_are_renamed_constraints() {
    let from = blog_with_constraints("posts_user_id_fkey", "posts_title_check");
    let mut to = blog_with_constraints("posts_author_fkey", "posts_title_not_empty");
    posts(&mut to).foreign_keys[0].renamed_from = Some("posts_user_id_fkey".into());
    posts(&mut to).checks[0].renamed_from = Some("posts_title_check".into());
    let plan = diff(&from, &to, &DiffOptions::default());
    assert_eq!(
        sql_of(&plan),
        [
            "SET lock_timeout = '5s';",
            "ALTER TABLE public.posts RENAME CONSTRAINT posts_user_id_fkey TO posts_author_fkey;",
            "ALTER TABLE public.posts RENAME CONSTRAINT posts_title_check TO posts_title_not_empty;",
        ],
        "{}",
        plan.to_sql()
    );
    for step in &plan.steps[1..] {
        let kinds: Vec<HazardKind> = step.hazards.iter().map(|h| h.kind).collect();
        assert_eq!(kinds, [HazardKind::Lock], "{}", step.sql);
    }
    let down = diff_down(&from, &to, &DiffOptions::default());
    assert_eq!(
        sql_of(&down),
        [
            "SET lock_timeout = '5s';",
            "ALTER TABLE public.posts RENAME CONSTRAINT posts_author_fkey TO posts_user_id_fkey;",
            "ALTER TABLE public.posts RENAME CONSTRAINT posts_title_not_empty TO posts_title_check;",
        ],
        "{}",
        down.to_sql()
    );
    // Once applied, the declaration that still says `renamed_from` asks for nothing.
    assert!(diff(&to.database_view(), &to, &DiffOptions::default()).is_empty());
}

#[test]
fn renamed_primary_key_and_unique_keep_their_index() {
    use crate::model::UniqueConstraint;
    let unique = |name: &str| UniqueConstraint {
        name: name.into(),
        columns: vec!["title".into()],
        nulls_not_distinct: false,
        include: Vec::new(),
        deferrable: Default::default(),
        comment: None,
        renamed_from: None,
    };
    let mut from = blog();
    posts(&mut from).uniques.push(unique("posts_title_key"));
    let mut to = blog();
    posts(&mut to).uniques.push(unique("posts_title_uq"));
    posts(&mut to).uniques[0].renamed_from = Some("posts_title_key".into());
    if let Some(pk) = &mut posts(&mut to).primary_key {
        pk.name = "posts_pk".into();
        pk.renamed_from = Some("posts_pkey".into());
    }
    let plan = diff(&from, &to, &DiffOptions::default());
    assert_eq!(
        sql_of(&plan),
        [
            "SET lock_timeout = '5s';",
            "ALTER TABLE public.posts RENAME CONSTRAINT posts_pkey TO posts_pk;",
            "ALTER TABLE public.posts RENAME CONSTRAINT posts_title_key TO posts_title_uq;",
        ],
        "{}",
        plan.to_sql()
    );
    let down = diff_down(&from, &to, &DiffOptions::default());
    assert_eq!(
        sql_of(&down),
        [
            "SET lock_timeout = '5s';",
            "ALTER TABLE public.posts RENAME CONSTRAINT posts_pk TO posts_pkey;",
            "ALTER TABLE public.posts RENAME CONSTRAINT posts_title_uq TO posts_title_key;",
        ],
        "{}",
        down.to_sql()
    );
}

#[test]
fn enum_constants_are_relabelled_only_where_they_stand_alone() {
    use super::objects::replace_constant;
    let (from, to) = ("'b'::public.s", "'bee'::public.s");
    assert_eq!(
        replace_constant("x = 'b'::public.s OR x = 'b'::public.s", from, to),
        "x = 'bee'::public.s OR x = 'bee'::public.s"
    );
    assert_eq!(
        replace_constant("ARRAY['b'::public.s, 'a'::public.s]", from, to),
        "ARRAY['bee'::public.s, 'a'::public.s]"
    );
    // Another type whose name starts with this one's, and a longer literal.
    assert_eq!(
        replace_constant("'b'::public.s2", from, to),
        "'b'::public.s2"
    );
    assert_eq!(
        replace_constant("'a''b'::public.s", from, to),
        "'a''b'::public.s"
    );
    assert_eq!(
        replace_constant("'b'::public.s[]", from, to),
        "'bee'::public.s[]"
    );
}
