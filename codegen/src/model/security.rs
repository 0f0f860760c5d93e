//! Row-level security policies, grants and default privileges.

use super::{Ident, SqlExpr};
use serde::{Deserialize, Serialize};

/// `CREATE POLICY`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Name (unique per table).
    pub name: Ident,
    /// `FOR ALL | SELECT | INSERT | UPDATE | DELETE`.
    pub command: PolicyCommand,
    /// `AS PERMISSIVE` (true, the default) or `AS RESTRICTIVE`.
    pub permissive: bool,
    /// `TO` roles, sorted; `public` for `PUBLIC` (the default).
    pub roles: Vec<Ident>,
    /// `USING (…)`, canonical.
    pub using: Option<SqlExpr>,
    /// `WITH CHECK (…)`, canonical.
    pub with_check: Option<SqlExpr>,
    /// `COMMENT ON POLICY`.
    pub comment: Option<String>,
}

/// The command a policy applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyCommand {
    /// `FOR ALL`.
    All,
    /// `FOR SELECT`.
    Select,
    /// `FOR INSERT`.
    Insert,
    /// `FOR UPDATE`.
    Update,
    /// `FOR DELETE`.
    Delete,
}

impl PolicyCommand {
    /// The SQL word.
    pub fn sql(self) -> &'static str {
        match self {
            PolicyCommand::All => "ALL",
            PolicyCommand::Select => "SELECT",
            PolicyCommand::Insert => "INSERT",
            PolicyCommand::Update => "UPDATE",
            PolicyCommand::Delete => "DELETE",
        }
    }
}

/// One privilege granted to one grantee on the object that holds this grant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Grant {
    /// The role; `public` for `PUBLIC`.
    pub grantee: Ident,
    /// The privilege.
    pub privilege: Privilege,
    /// `WITH GRANT OPTION`.
    pub with_grant_option: bool,
}

/// A privilege (`GRANT privilege ON …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Privilege {
    /// `SELECT`.
    Select,
    /// `INSERT`.
    Insert,
    /// `UPDATE`.
    Update,
    /// `DELETE`.
    Delete,
    /// `TRUNCATE`.
    Truncate,
    /// `REFERENCES`.
    References,
    /// `TRIGGER`.
    Trigger,
    /// `USAGE`.
    Usage,
    /// `CREATE`.
    Create,
    /// `EXECUTE`.
    Execute,
}

impl Privilege {
    /// The SQL word.
    pub fn sql(self) -> &'static str {
        match self {
            Privilege::Select => "SELECT",
            Privilege::Insert => "INSERT",
            Privilege::Update => "UPDATE",
            Privilege::Delete => "DELETE",
            Privilege::Truncate => "TRUNCATE",
            Privilege::References => "REFERENCES",
            Privilege::Trigger => "TRIGGER",
            Privilege::Usage => "USAGE",
            Privilege::Create => "CREATE",
            Privilege::Execute => "EXECUTE",
        }
    }

    /// The privilege of an `aclitem` letter (`r` = SELECT, `a` = INSERT…).
    pub fn from_acl_char(c: char) -> Option<Privilege> {
        Some(match c {
            'r' => Privilege::Select,
            'a' => Privilege::Insert,
            'w' => Privilege::Update,
            'd' => Privilege::Delete,
            'D' => Privilege::Truncate,
            'x' => Privilege::References,
            't' => Privilege::Trigger,
            'U' => Privilege::Usage,
            'C' => Privilege::Create,
            'X' => Privilege::Execute,
            _ => return None,
        })
    }

    /// Parses the SQL word, case-insensitively.
    pub fn parse(word: &str) -> Option<Privilege> {
        Some(match word.to_ascii_uppercase().as_str() {
            "SELECT" => Privilege::Select,
            "INSERT" => Privilege::Insert,
            "UPDATE" => Privilege::Update,
            "DELETE" => Privilege::Delete,
            "TRUNCATE" => Privilege::Truncate,
            "REFERENCES" => Privilege::References,
            "TRIGGER" => Privilege::Trigger,
            "USAGE" => Privilege::Usage,
            "CREATE" => Privilege::Create,
            "EXECUTE" => Privilege::Execute,
            _ => return None,
        })
    }
}

/// `ALTER DEFAULT PRIVILEGES [FOR ROLE r] [IN SCHEMA s] GRANT … ON objects TO grantee`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DefaultPrivilege {
    /// The role whose future objects get the privilege.
    pub for_role: Ident,
    /// Only objects created in this schema; `None` = everywhere.
    pub schema: Option<Ident>,
    /// Which objects.
    pub objects: DefaultPrivilegeObjects,
    /// The privilege granted.
    pub grant: Grant,
}

/// The kind of object an `ALTER DEFAULT PRIVILEGES` entry covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultPrivilegeObjects {
    /// `TABLES`.
    Tables,
    /// `SEQUENCES`.
    Sequences,
    /// `FUNCTIONS`.
    Functions,
    /// `TYPES`.
    Types,
    /// `SCHEMAS`.
    Schemas,
}

impl DefaultPrivilegeObjects {
    /// The SQL word.
    pub fn sql(self) -> &'static str {
        match self {
            DefaultPrivilegeObjects::Tables => "TABLES",
            DefaultPrivilegeObjects::Sequences => "SEQUENCES",
            DefaultPrivilegeObjects::Functions => "FUNCTIONS",
            DefaultPrivilegeObjects::Types => "TYPES",
            DefaultPrivilegeObjects::Schemas => "SCHEMAS",
        }
    }
}
