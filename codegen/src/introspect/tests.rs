//! Introspection tests against a real PostgreSQL (one database per test).
