//! A hand-built [`Schema`] that sets every field of the IR at least once (every enum variant
//! that changes the SQL, too), for the rendering snapshot and the apply-to-PostgreSQL test. Its
//! functions and policies reference real objects (the Supabase bootstrap's `auth.uid()`,
//! `storage.foldername()`, `auth.users`, `storage.objects`), so the rendered script applies on
//! top of `shared/fixtures/supabase/bootstrap.sql`.
//!
//! Expressions are written the way PostgreSQL prints them back (schema-qualified, casts
//! explicit), as introspection would produce them.

use crate::model::{
    ArgMode, Attachments, Bucket, CheckConstraint, Collation, Column, ColumnRustHints,
    CompositeAttribute, CompositeType, DefaultPrivilege, DefaultPrivilegeObjects, Deferrable,
    Domain, EnumType, ExclusionConstraint, Extension, FkAction, FkMatch, ForeignKey, Function,
    FunctionArg, FunctionBody, FunctionId, FunctionKind, FunctionReturn, Grant, Ident, Identity,
    Index, IndexColumn, IndexKey, ParallelSafety, PartitionBound, PartitionStrategy, PartitionedBy,
    PgType, Policy, PolicyCommand, PrimaryKey, Privilege, QualifiedName, ReplicaIdentity,
    RowSecurity, Schema, SchemaDef, Sequence, SqlExpr, Table, TableRustHints, Trigger,
    TriggerEvents, TriggerFiring, TriggerTiming, UniqueConstraint, View, Volatility,
};
use std::collections::BTreeSet;

fn ty(text: &str) -> PgType {
    PgType::parse(text, "public").unwrap()
}

fn qn(text: &str) -> QualifiedName {
    QualifiedName::parse(text, "public").unwrap()
}

fn id(name: &str) -> Ident {
    Ident::new(name)
}

fn ids(names: &[&str]) -> Vec<Ident> {
    names.iter().map(|n| id(n)).collect()
}

fn expr(text: &str) -> SqlExpr {
    SqlExpr::new(text)
}

fn col(name: &str, type_text: &str, nullable: bool) -> Column {
    let mut c = Column::new(name, ty(type_text));
    c.nullable = nullable;
    c
}

fn grant(grantee: &str, privilege: Privilege, with_grant_option: bool) -> Grant {
    Grant {
        grantee: id(grantee),
        privilege,
        with_grant_option,
    }
}

fn grants(items: &[(&str, Privilege, bool)]) -> BTreeSet<Grant> {
    items.iter().map(|(g, p, o)| grant(g, *p, *o)).collect()
}

fn check(name: &str, e: &str) -> CheckConstraint {
    CheckConstraint {
        name: id(name),
        expr: expr(e),
        no_inherit: false,
        not_valid: false,
        comment: None,
        renamed_from: None,
    }
}

fn key(column: &str) -> IndexColumn {
    IndexColumn {
        key: IndexKey::Column(id(column)),
        collation: None,
        opclass: None,
        descending: false,
        nulls_first: false,
    }
}

fn index(name: &str, keys: Vec<IndexColumn>) -> Index {
    Index {
        name: id(name),
        unique: false,
        nulls_not_distinct: false,
        method: "btree".to_owned(),
        keys,
        include: Vec::new(),
        predicate: None,
        options: Vec::new(),
        comment: None,
        renamed_from: None,
    }
}

fn trigger(name: &str, timing: TriggerTiming, function: &str) -> Trigger {
    Trigger {
        name: id(name),
        timing,
        events: TriggerEvents::default(),
        for_each_row: true,
        when: None,
        function: qn(function),
        args: Vec::new(),
        constraint: None,
        old_table: None,
        new_table: None,
        firing: TriggerFiring::Origin,
        comment: None,
    }
}

fn policy(name: &str, command: PolicyCommand, roles: &[&str]) -> Policy {
    Policy {
        name: id(name),
        command,
        permissive: true,
        roles: ids(roles),
        using: None,
        with_check: None,
        comment: None,
    }
}

fn pk(name: &str, columns: &[&str]) -> PrimaryKey {
    PrimaryKey {
        name: id(name),
        columns: ids(columns),
        include: Vec::new(),
        deferrable: Deferrable::No,
        comment: None,
        renamed_from: None,
    }
}

fn fk(name: &str, columns: &[&str], references: &str, referenced: &[&str]) -> ForeignKey {
    ForeignKey {
        name: id(name),
        columns: ids(columns),
        references: qn(references),
        referenced_columns: ids(referenced),
        on_delete: FkAction::NoAction,
        on_update: FkAction::NoAction,
        match_type: FkMatch::Simple,
        deferrable: Deferrable::No,
        not_valid: false,
        comment: None,
        renamed_from: None,
    }
}

fn arg(mode: ArgMode, name: Option<&str>, type_text: &str) -> FunctionArg {
    FunctionArg {
        mode,
        name: name.map(id),
        ty: ty(type_text),
        default: None,
    }
}

/// A volatile function with PostgreSQL's defaults; `arg_types` are the signature's types.
fn function(name: &str, arg_types: &[&str], returns: Option<&str>, body: FunctionBody) -> Function {
    Function {
        id: FunctionId {
            name: qn(name),
            arg_types: arg_types.iter().map(|t| ty(t)).collect(),
        },
        kind: FunctionKind::Function,
        args: Vec::new(),
        returns: returns.map(|r| FunctionReturn {
            setof: false,
            ty: ty(r),
        }),
        language: "plpgsql".to_owned(),
        body,
        volatility: Volatility::Volatile,
        strict: false,
        security_definer: false,
        leakproof: false,
        parallel: ParallelSafety::Unsafe,
        cost: 100,
        rows: 0,
        config: Vec::new(),
        grants: BTreeSet::new(),
        public_execute: true,
        comment: None,
    }
}

fn source(text: &str) -> FunctionBody {
    FunctionBody::Source(text.to_owned())
}

fn table(name: &str, columns: Vec<Column>) -> Table {
    let mut t = Table::new(qn(name));
    t.columns = columns;
    t
}

fn view(name: &str, definition: &str) -> View {
    View {
        name: qn(name),
        materialized: false,
        definition: expr(definition),
        options: Vec::new(),
        indexes: Vec::new(),
        triggers: Vec::new(),
        grants: BTreeSet::new(),
        comment: None,
        column_comments: Vec::new(),
    }
}

/// The every-field schema.
pub(crate) fn every_field_schema() -> Schema {
    let mut s = Schema::default();
    namespaces(&mut s);
    types(&mut s);
    sequences(&mut s);
    users(&mut s);
    invoices(&mut s);
    other_tables(&mut s);
    views(&mut s);
    functions(&mut s);
    attached(&mut s);
    privileges_and_buckets(&mut s);
    s
}

fn namespaces(s: &mut Schema) {
    s.schemas.insert(
        id("app"),
        SchemaDef {
            name: id("app"),
            grants: grants(&[
                ("authenticated", Privilege::Usage, false),
                ("service_role", Privilege::Usage, true),
                ("service_role", Privilege::Create, true),
            ]),
            comment: Some("Application internals".to_owned()),
        },
    );
    s.schemas.insert(
        id("public"),
        SchemaDef {
            name: id("public"),
            grants: grants(&[("anon", Privilege::Usage, false)]),
            comment: Some("JobPilot's tables".to_owned()),
        },
    );
    s.extensions.insert(
        id("btree_gist"),
        Extension {
            name: id("btree_gist"),
            schema: id("extensions"),
            version: Some("1.7".to_owned()),
            comment: Some("GiST operator classes for exclusion constraints".to_owned()),
        },
    );
    s.extensions.insert(
        id("citext"),
        Extension {
            name: id("citext"),
            schema: id("extensions"),
            version: None,
            comment: None,
        },
    );
    s.collations.insert(
        qn("app.ci"),
        Collation {
            name: qn("app.ci"),
            provider: "icu".to_owned(),
            locale: Some("und-u-ks-level2".to_owned()),
            lc_ctype: None,
            deterministic: false,
            comment: Some("Case-insensitive".to_owned()),
        },
    );
    s.collations.insert(
        qn("app.posix"),
        Collation {
            name: qn("app.posix"),
            provider: "libc".to_owned(),
            locale: Some("C".to_owned()),
            lc_ctype: Some("POSIX".to_owned()),
            deterministic: true,
            comment: None,
        },
    );
}

fn types(s: &mut Schema) {
    s.enums.insert(
        qn("application_status"),
        EnumType {
            name: qn("application_status"),
            labels: vec!["saved".into(), "applied".into(), "it's done".into()],
            comment: Some("Where an application stands".to_owned()),
            renamed_from: Some(qn("app_status")),
            rust_name: Some("ApplicationStatus".to_owned()),
            renamed_labels: Vec::new(),
        },
    );
    let mut not_valid = check("email_length", "(length((VALUE)::text) < 300)");
    not_valid.not_valid = true;
    let mut valid = check("email_check", "(VALUE ~ '@'::text)");
    valid.comment = Some("Must look like an address".to_owned());
    s.domains.insert(
        qn("email"),
        Domain {
            name: qn("email"),
            base: ty("text"),
            collation: Some(QualifiedName::new("pg_catalog", "C")),
            default: Some(expr("'nobody@example.com'::text")),
            not_null: true,
            checks: vec![valid, not_valid],
            comment: Some("An e-mail address".to_owned()),
        },
    );
    s.composites.insert(
        qn("money_amount"),
        CompositeType {
            name: qn("money_amount"),
            attributes: vec![
                CompositeAttribute {
                    name: id("amount"),
                    ty: ty("numeric(12,2)"),
                    collation: None,
                },
                CompositeAttribute {
                    name: id("currency"),
                    ty: ty("character(3)"),
                    collation: Some(qn("app.posix")),
                },
            ],
            comment: Some("An amount in a currency".to_owned()),
        },
    );
}

fn sequences(s: &mut Schema) {
    s.sequences.insert(
        qn("invoice_no"),
        Sequence {
            name: qn("invoice_no"),
            data_type: ty("integer"),
            start: 1000,
            increment: 1,
            min_value: 1,
            max_value: i64::from(i32::MAX),
            cache: 10,
            cycle: true,
            owned_by: Some((qn("invoices"), id("number"))),
            grants: grants(&[
                ("authenticated", Privilege::Select, false),
                ("authenticated", Privilege::Usage, false),
            ]),
            comment: Some("Invoice numbers".to_owned()),
        },
    );
    s.sequences.insert(
        qn("countdown"),
        Sequence {
            name: qn("countdown"),
            data_type: ty("bigint"),
            start: -1,
            increment: -1,
            min_value: i64::MIN,
            max_value: -1,
            cache: 1,
            cycle: false,
            owned_by: None,
            grants: BTreeSet::new(),
            comment: None,
        },
    );
}

fn users(s: &mut Schema) {
    let mut t = table("users", Vec::new());
    let mut c_id = col("id", "uuid", false);
    c_id.default = Some(expr("gen_random_uuid()"));
    let mut email = col("email", "email", false);
    email.comment = Some("Login e-mail".to_owned());
    email.grants = grants(&[
        ("anon", Privilege::Select, false),
        ("anon", Privilege::Update, false),
    ]);
    email.renamed_from = Some(id("mail"));
    let mut name = col("name", "varchar(120)", true);
    name.collation = Some(QualifiedName::new("pg_catalog", "C"));
    let mut lower_name = col("lower_name", "text", true);
    lower_name.generated = Some(expr("lower((name)::text)"));
    let mut seq_no = col("seq_no", "bigint", false);
    seq_no.identity = Some(Identity {
        start: 10,
        increment: 5,
        ..Identity::with_defaults(true, &PgType::BigInt)
    });
    let mut profile = col("profile", "jsonb", false);
    profile.default = Some(expr("'{}'::jsonb"));
    let mut display = col("Display Name", "text", true);
    display.rust = ColumnRustHints {
        rust_type: Some("String".to_owned()),
        field_name: Some("display_name".to_owned()),
    };
    let mut created_at = col("created_at", "timestamptz", false);
    created_at.default = Some(expr("now()"));
    t.columns = vec![
        c_id,
        email,
        name,
        lower_name,
        seq_no,
        profile,
        display,
        col("last_invoice_id", "bigint", true),
        created_at,
    ];
    let mut p = pk("users_pkey", &["id"]);
    p.comment = Some("Surrogate key".to_owned());
    t.primary_key = Some(p);
    t.uniques = vec![UniqueConstraint {
        name: id("users_email_key"),
        columns: ids(&["email"]),
        nulls_not_distinct: true,
        include: ids(&["name"]),
        deferrable: Deferrable::No,
        comment: Some("One account per address".to_owned()),
        renamed_from: None,
    }];
    let mut name_check = check("users_name_check", "(char_length((name)::text) > 0)");
    name_check.comment = Some("No empty names".to_owned());
    t.checks = vec![name_check];
    let mut last_invoice = fk(
        "users_last_invoice_id_fkey",
        &["last_invoice_id"],
        "invoices",
        &["id"],
    );
    last_invoice.on_delete = FkAction::SetNull;
    t.foreign_keys = vec![last_invoice];

    let mut by_name = index(
        "users_name_lower_idx",
        vec![
            IndexColumn {
                key: IndexKey::Expr(expr("lower((name)::text)")),
                collation: Some(QualifiedName::new("pg_catalog", "C")),
                opclass: Some(QualifiedName::new("pg_catalog", "text_pattern_ops")),
                descending: false,
                nulls_first: false,
            },
            IndexColumn {
                descending: true,
                nulls_first: false,
                ..key("created_at")
            },
        ],
    );
    by_name.include = ids(&["id"]);
    by_name.predicate = Some(expr("(name IS NOT NULL)"));
    by_name.options = vec!["fillfactor=70".to_owned()];
    by_name.comment = Some("Prefix search on names".to_owned());
    by_name.renamed_from = Some(id("users_name_idx"));
    let mut by_profile = index(
        "users_profile_idx",
        vec![IndexColumn {
            opclass: Some(QualifiedName::new("pg_catalog", "jsonb_path_ops")),
            ..key("profile")
        }],
    );
    by_profile.method = "gin".to_owned();
    let mut by_seq = index("users_seq_no_idx", vec![key("seq_no")]);
    by_seq.unique = true;
    by_seq.nulls_not_distinct = true;
    let by_created = index(
        "users_created_at_idx",
        vec![IndexColumn {
            nulls_first: true,
            ..key("created_at")
        }],
    );
    t.indexes = vec![by_created, by_name, by_profile, by_seq];

    let mut updated = trigger(
        "users_set_updated_at",
        TriggerTiming::Before,
        "set_updated_at",
    );
    updated.events = TriggerEvents {
        update: true,
        update_columns: ids(&["name", "email"]),
        ..TriggerEvents::default()
    };
    updated.when = Some(expr("((old.name)::text IS DISTINCT FROM (new.name)::text)"));
    updated.args = vec!["updated".to_owned(), "it's".to_owned()];
    updated.comment = Some("Keeps updated_at current".to_owned());
    let mut audit_insert = trigger("users_audit_insert", TriggerTiming::After, "audit");
    audit_insert.events.insert = true;
    audit_insert.for_each_row = false;
    audit_insert.new_table = Some(id("inserted"));
    audit_insert.firing = TriggerFiring::Disabled;
    let mut audit_update = trigger("users_audit_update", TriggerTiming::After, "audit");
    audit_update.events.update = true;
    audit_update.for_each_row = false;
    audit_update.old_table = Some(id("old_rows"));
    audit_update.new_table = Some(id("new_rows"));
    let mut deferred = trigger("users_deferred_check", TriggerTiming::After, "audit");
    deferred.events.insert = true;
    deferred.events.delete = true;
    deferred.constraint = Some(Deferrable::InitiallyDeferred);
    deferred.firing = TriggerFiring::Replica;
    let mut truncate = trigger("users_truncate", TriggerTiming::After, "audit");
    truncate.events.truncate = true;
    truncate.for_each_row = false;
    truncate.firing = TriggerFiring::Always;
    t.triggers = vec![audit_insert, audit_update, deferred, updated, truncate];

    t.row_security = RowSecurity {
        enabled: true,
        forced: true,
    };
    let mut select_own = policy(
        "users_select_own",
        PolicyCommand::Select,
        &["authenticated"],
    );
    select_own.using = Some(expr("(id = auth.uid())"));
    let mut update_own = policy(
        "users_update_own",
        PolicyCommand::Update,
        &["anon", "authenticated"],
    );
    update_own.permissive = false;
    update_own.using = Some(expr("(id = auth.uid())"));
    update_own.with_check = Some(expr("(id = auth.uid())"));
    update_own.comment = Some("Only your own row".to_owned());
    let mut everyone = policy("users_visible", PolicyCommand::All, &["public"]);
    everyone.using = Some(expr("true"));
    let mut insert = policy("users_insert", PolicyCommand::Insert, &["authenticated"]);
    insert.with_check = Some(expr("(id = auth.uid())"));
    let mut delete = policy("users_delete", PolicyCommand::Delete, &["service_role"]);
    delete.using = Some(expr("true"));
    t.policies = vec![delete, insert, select_own, update_own, everyone];
    t.grants = grants(&[
        ("authenticated", Privilege::Select, false),
        ("authenticated", Privilege::Insert, false),
        ("authenticated", Privilege::Update, false),
        ("service_role", Privilege::Select, true),
        ("service_role", Privilege::Delete, true),
        ("service_role", Privilege::Truncate, false),
        ("service_role", Privilege::References, false),
        ("service_role", Privilege::Trigger, false),
    ]);
    t.options = vec![
        "autovacuum_enabled=false".to_owned(),
        "fillfactor=90".to_owned(),
    ];
    t.replica_identity = ReplicaIdentity::Index(id("users_seq_no_idx"));
    t.comment = Some("Application users; it's the root of everything".to_owned());
    t.renamed_from = Some(qn("accounts"));
    t.rust = TableRustHints {
        struct_name: Some("User".to_owned()),
    };
    s.tables.insert(t.name.clone(), t);
}

fn invoices(s: &mut Schema) {
    let mut c_id = col("id", "bigint", false);
    c_id.identity = Some(Identity::with_defaults(false, &PgType::BigInt));
    let mut number = col("number", "integer", false);
    number.default = Some(expr("nextval('public.invoice_no'::regclass)"));
    let mut status = col("status", "application_status", false);
    status.default = Some(expr("'saved'::public.application_status"));
    let mut t = table(
        "invoices",
        vec![
            c_id,
            number,
            col("user_id", "uuid", false),
            col("reviewer_id", "uuid", true),
            col("amount", "money_amount", true),
            status,
            col("period", "tstzrange", false),
        ],
    );
    t.primary_key = Some(pk("invoices_pkey", &["id"]));
    t.uniques = vec![UniqueConstraint {
        name: id("invoices_number_key"),
        columns: ids(&["number"]),
        nulls_not_distinct: false,
        include: Vec::new(),
        deferrable: Deferrable::InitiallyDeferred,
        comment: None,
        renamed_from: None,
    }];
    let mut owner = fk("invoices_user_id_fkey", &["user_id"], "users", &["id"]);
    owner.on_delete = FkAction::Cascade;
    owner.on_update = FkAction::Cascade;
    owner.match_type = FkMatch::Full;
    owner.deferrable = Deferrable::InitiallyImmediate;
    owner.comment = Some("Invoices die with their user".to_owned());
    let mut reviewer = fk(
        "invoices_reviewer_id_fkey",
        &["reviewer_id"],
        "users",
        &["id"],
    );
    reviewer.on_delete = FkAction::SetDefault;
    reviewer.on_update = FkAction::Restrict;
    reviewer.not_valid = true;
    t.foreign_keys = vec![reviewer, owner];
    let mut positive = check("invoices_number_check", "(number > 0)");
    positive.not_valid = true;
    positive.no_inherit = true;
    positive.comment = Some("Checked for new rows only".to_owned());
    t.checks = vec![positive];
    t.exclusions = vec![ExclusionConstraint {
        name: id("invoices_no_overlap"),
        definition: expr(
            "EXCLUDE USING gist (number WITH =, period WITH &&) DEFERRABLE INITIALLY DEFERRED",
        ),
        deferrable: Deferrable::InitiallyDeferred,
        comment: Some("One invoice per number and period".to_owned()),
        renamed_from: None,
    }];
    s.tables.insert(t.name.clone(), t);
}

fn other_tables(s: &mut Schema) {
    // Range-partitioned, with a hash-partitioned partition and a default partition.
    let mut events = table(
        "events",
        vec![
            col("id", "bigint", false),
            col("created_at", "timestamptz", false),
            col("payload", "jsonb", true),
        ],
    );
    events.primary_key = Some(pk("events_pkey", &["id", "created_at"]));
    events.partitioned_by = Some(PartitionedBy {
        strategy: PartitionStrategy::Range,
        key: expr("created_at"),
    });
    let partition = |name: &str, parent: &str, bound: &str| {
        let mut t = table(name, Vec::new());
        t.partition_of = Some(PartitionBound {
            parent: qn(parent),
            bound: expr(bound),
        });
        t
    };
    let mut y2024 = partition(
        "events_2024",
        "events",
        "FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2025-01-01 00:00:00+00')",
    );
    y2024.partitioned_by = Some(PartitionedBy {
        strategy: PartitionStrategy::Hash,
        key: expr("id"),
    });
    let p0 = partition(
        "events_2024_p0",
        "events_2024",
        "FOR VALUES WITH (modulus 2, remainder 0)",
    );
    let p1 = partition(
        "events_2024_p1",
        "events_2024",
        "FOR VALUES WITH (modulus 2, remainder 1)",
    );
    let default = partition("events_default", "events", "DEFAULT");
    // List-partitioned; the partition's name sorts before its parent's.
    let mut regions = table("regions", vec![col("code", "text", false)]);
    regions.partitioned_by = Some(PartitionedBy {
        strategy: PartitionStrategy::List,
        key: expr("code"),
    });
    let mut eu = partition("a_regions_eu", "regions", "FOR VALUES IN ('eu', 'uk')");
    // A partition's own column options (its type comes from the parent).
    let mut code = col("code", "text", false);
    code.default = Some(expr("'eu'::text"));
    eu.columns = vec![code];
    // Inheritance; the child's name sorts before its parent's.
    let mut base = table(
        "base_items",
        vec![col("id", "integer", false), col("label", "text", true)],
    );
    let mut label = check("base_items_label_check", "(label <> ''::text)");
    label.no_inherit = true;
    base.checks = vec![label];
    base.replica_identity = ReplicaIdentity::Full;
    let mut child = table("a_special_items", vec![col("extra", "text", true)]);
    child.inherits = vec![qn("base_items")];
    // Unlogged, with storage options.
    let mut cache = table(
        "cache_entries",
        vec![col("key", "text", false), col("value", "jsonb", true)],
    );
    cache.primary_key = Some(pk("cache_entries_pkey", &["key"]));
    cache.unlogged = true;
    cache.options = vec!["fillfactor=70".to_owned()];
    cache.replica_identity = ReplicaIdentity::Nothing;
    // A table in another schema, with a bounded cycling identity and a custom collation.
    let mut log_id = col("id", "integer", false);
    log_id.identity = Some(Identity {
        max_value: 1_000_000,
        cache: 20,
        cycle: true,
        ..Identity::with_defaults(true, &PgType::Integer)
    });
    let mut actor = col("actor", "text", true);
    actor.collation = Some(qn("app.ci"));
    let mut at = col("at", "timestamptz", false);
    at.default = Some(expr("now()"));
    let mut log = table("app.audit_log", vec![log_id, actor, at]);
    log.primary_key = Some(PrimaryKey {
        include: ids(&["at"]),
        deferrable: Deferrable::InitiallyImmediate,
        ..pk("audit_log_pkey", &["id"])
    });
    for t in [
        events, y2024, p0, p1, default, regions, eu, base, child, cache, log,
    ] {
        s.tables.insert(t.name.clone(), t);
    }
}

fn views(s: &mut Schema) {
    let mut active = view(
        "active_users",
        " SELECT users.id,\n    users.email\n   FROM public.users\n  WHERE (users.name IS NOT NULL);",
    );
    active.options = vec!["security_invoker=true".to_owned()];
    active.grants = grants(&[("authenticated", Privilege::Select, false)]);
    active.comment = Some("Users with a name".to_owned());
    active.column_comments = vec![(id("id"), "The user's id".to_owned())];
    let mut insert = trigger(
        "active_users_insert",
        TriggerTiming::InsteadOf,
        "active_users_insert",
    );
    insert.events.insert = true;
    insert.comment = Some("Inserts go to users".to_owned());
    active.triggers = vec![insert];
    // Depends on active_users, and sorts before it.
    let mut emails = view(
        "a_user_emails",
        " SELECT active_users.id,\n    active_users.email\n   FROM public.active_users;",
    );
    emails.options = vec!["check_option=local".to_owned()];
    let mut totals = view(
        "mv_invoice_totals",
        " SELECT invoices.user_id,\n    count(*) AS n\n   FROM public.invoices\n  GROUP BY invoices.user_id;",
    );
    totals.materialized = true;
    totals.options = vec!["fillfactor=80".to_owned()];
    let mut by_user = index("mv_invoice_totals_user_id_idx", vec![key("user_id")]);
    by_user.unique = true;
    by_user.comment = Some("For REFRESH CONCURRENTLY".to_owned());
    totals.indexes = vec![by_user];
    totals.grants = grants(&[("service_role", Privilege::Select, false)]);
    totals.comment = Some("Invoice counts per user".to_owned());
    for v in [active, emails, totals] {
        s.views.insert(v.name.clone(), v);
    }
}

fn functions(s: &mut Schema) {
    let mut set_updated_at = function(
        "set_updated_at",
        &[],
        Some("trigger"),
        source(
            "\nBEGIN\n  -- a body that mentions $$ needs another dollar tag\n  RETURN NEW;\nEND\n",
        ),
    );
    set_updated_at.config = vec!["search_path=public, pg_temp".to_owned()];
    set_updated_at.public_execute = false;
    set_updated_at.grants = grants(&[("service_role", Privilege::Execute, false)]);
    set_updated_at.comment = Some("Trigger: touch updated_at".to_owned());

    let mut audit = function(
        "audit",
        &[],
        Some("trigger"),
        source("\nBEGIN\n  RETURN NULL;\nEND\n"),
    );
    audit.security_definer = true;
    audit.config = vec!["search_path=\"\"".to_owned()];

    let active_users_insert = function(
        "active_users_insert",
        &[],
        Some("trigger"),
        source(
            "\nBEGIN\n  INSERT INTO public.users (id, email) VALUES (NEW.id, NEW.email);\n  RETURN NEW;\nEND\n",
        ),
    );

    let mut handle_new_user = function(
        "handle_new_user",
        &[],
        Some("trigger"),
        source(
            "\nBEGIN\n  INSERT INTO public.users (id, email) VALUES (NEW.id, NEW.email);\n  RETURN NEW;\nEND\n",
        ),
    );
    handle_new_user.security_definer = true;

    // A SQL body that reads a table created later: needs check_function_bodies = false.
    let mut user_count = function(
        "user_count",
        &[],
        Some("bigint"),
        source("SELECT count(*) FROM public.users"),
    );
    user_count.language = "sql".to_owned();
    user_count.volatility = Volatility::Stable;
    user_count.strict = true;
    user_count.leakproof = true;
    user_count.parallel = ParallelSafety::Safe;
    user_count.cost = 50;
    user_count.config = vec!["work_mem=64MB".to_owned()];

    let mut add = function(
        "add",
        &["integer", "integer"],
        Some("integer"),
        FunctionBody::Atomic(expr("RETURN (a + b)")),
    );
    add.language = "sql".to_owned();
    add.volatility = Volatility::Immutable;
    add.parallel = ParallelSafety::Safe;
    add.args = vec![
        arg(ArgMode::In, Some("a"), "integer"),
        FunctionArg {
            default: Some(expr("1")),
            ..arg(ArgMode::In, Some("b"), "integer")
        },
    ];

    let mut invoice_count = function(
        "invoice_count",
        &["uuid"],
        Some("bigint"),
        FunctionBody::Atomic(expr(
            "BEGIN ATOMIC\n SELECT count(*) AS count\n    FROM public.invoices\n   WHERE (invoices.user_id = invoice_count.u);\nEND",
        )),
    );
    invoice_count.language = "sql".to_owned();
    invoice_count.volatility = Volatility::Stable;
    invoice_count.args = vec![arg(ArgMode::In, Some("u"), "uuid")];

    let mut by_status = function(
        "users_by_status",
        &["application_status"],
        Some("record"),
        source("SELECT u.id, u.email FROM public.users u"),
    );
    by_status.language = "sql".to_owned();
    by_status.volatility = Volatility::Stable;
    by_status.returns = Some(FunctionReturn {
        setof: true,
        ty: ty("record"),
    });
    by_status.rows = 10;
    by_status.args = vec![
        arg(ArgMode::In, Some("s"), "application_status"),
        arg(ArgMode::Table, Some("id"), "uuid"),
        arg(ArgMode::Table, Some("email"), "email"),
    ];

    // Its result is the users table's row type: created after the tables.
    let mut all_users = function(
        "all_users",
        &[],
        Some("users"),
        source("SELECT * FROM public.users"),
    );
    all_users.language = "sql".to_owned();
    all_users.returns = Some(FunctionReturn {
        setof: true,
        ty: ty("users"),
    });
    all_users.rows = 1000;

    let mut split_name = function(
        "split_name",
        &["text"],
        Some("record"),
        source("SELECT split_part($1, ' ', 1), split_part($1, ' ', 2)"),
    );
    split_name.language = "sql".to_owned();
    split_name.volatility = Volatility::Immutable;
    split_name.parallel = ParallelSafety::Restricted;
    split_name.args = vec![
        arg(ArgMode::In, Some("full"), "text"),
        arg(ArgMode::Out, Some("first"), "text"),
        arg(ArgMode::Out, Some("last"), "text"),
    ];

    let mut bump = function(
        "bump",
        &["integer", "integer[]"],
        None,
        source("\nBEGIN\n  n := n + coalesce(array_length(extra, 1), 0);\nEND\n"),
    );
    bump.kind = FunctionKind::Procedure;
    bump.args = vec![
        arg(ArgMode::InOut, Some("n"), "integer"),
        arg(ArgMode::Variadic, Some("extra"), "integer[]"),
    ];
    bump.grants = grants(&[("authenticated", Privilege::Execute, true)]);
    bump.comment = Some("Adds the number of extras".to_owned());

    let mut citext_hash = function(
        "citext_hash_of",
        &["extensions.citext"],
        Some("integer"),
        source("$libdir/citext\ncitext_hash"),
    );
    citext_hash.language = "c".to_owned();
    citext_hash.volatility = Volatility::Immutable;
    citext_hash.strict = true;
    citext_hash.parallel = ParallelSafety::Safe;
    citext_hash.cost = 1;
    citext_hash.args = vec![arg(ArgMode::In, None, "extensions.citext")];

    let mut int_plus = function(
        "int_plus",
        &["integer", "integer"],
        Some("integer"),
        source("int4pl"),
    );
    int_plus.language = "internal".to_owned();
    int_plus.volatility = Volatility::Immutable;
    int_plus.strict = true;
    int_plus.cost = 2;
    int_plus.args = vec![
        arg(ArgMode::In, None, "integer"),
        arg(ArgMode::In, None, "integer"),
    ];

    for f in [
        set_updated_at,
        audit,
        active_users_insert,
        handle_new_user,
        user_count,
        add,
        invoice_count,
        by_status,
        all_users,
        split_name,
        bump,
        citext_hash,
        int_plus,
    ] {
        s.functions.insert(f.id.clone(), f);
    }
}

fn attached(s: &mut Schema) {
    let mut read = policy(
        "Users read own documents",
        PolicyCommand::Select,
        &["authenticated"],
    );
    read.using = Some(expr(
        "((bucket_id = 'documents'::text) AND ((storage.foldername(name))[1] = (auth.uid())::text))",
    ));
    read.comment = Some("Objects under the user's own folder".to_owned());
    let mut upload = policy(
        "Users upload own documents",
        PolicyCommand::Insert,
        &["authenticated"],
    );
    upload.with_check = Some(expr(
        "((bucket_id = 'documents'::text) AND ((storage.foldername(name))[1] = (auth.uid())::text))",
    ));
    s.attached.insert(
        qn("storage.objects"),
        Attachments {
            policies: vec![read, upload],
            triggers: Vec::new(),
        },
    );
    let mut created = trigger(
        "on_auth_user_created",
        TriggerTiming::After,
        "handle_new_user",
    );
    created.events.insert = true;
    created.comment = Some("Creates the profile row".to_owned());
    s.attached.insert(
        qn("auth.users"),
        Attachments {
            policies: Vec::new(),
            triggers: vec![created],
        },
    );
}

fn privileges_and_buckets(s: &mut Schema) {
    let entry =
        |schema: Option<&str>, objects, grantee: &str, privilege, option| DefaultPrivilege {
            for_role: id("postgres"),
            schema: schema.map(id),
            objects,
            grant: grant(grantee, privilege, option),
        };
    s.default_privileges = vec![
        entry(
            Some("public"),
            DefaultPrivilegeObjects::Tables,
            "anon",
            Privilege::Select,
            false,
        ),
        entry(
            Some("public"),
            DefaultPrivilegeObjects::Tables,
            "anon",
            Privilege::Insert,
            false,
        ),
        entry(
            None,
            DefaultPrivilegeObjects::Functions,
            "authenticated",
            Privilege::Execute,
            true,
        ),
        entry(
            Some("app"),
            DefaultPrivilegeObjects::Sequences,
            "service_role",
            Privilege::Usage,
            false,
        ),
        entry(
            None,
            DefaultPrivilegeObjects::Types,
            "authenticated",
            Privilege::Usage,
            false,
        ),
        entry(
            None,
            DefaultPrivilegeObjects::Schemas,
            "service_role",
            Privilege::Create,
            false,
        ),
    ];
    for b in [
        Bucket {
            id: "avatars".to_owned(),
            name: "avatars".to_owned(),
            public: true,
            file_size_limit: None,
            allowed_mime_types: None,
        },
        Bucket {
            id: "documents".to_owned(),
            name: "documents".to_owned(),
            public: false,
            file_size_limit: Some(10_485_760),
            allowed_mime_types: Some(vec!["application/pdf".to_owned(), "image/*".to_owned()]),
        },
    ] {
        s.buckets.insert(b.id.clone(), b);
    }
}
