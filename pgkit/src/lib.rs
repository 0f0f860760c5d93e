//! PostgreSQL harness.
