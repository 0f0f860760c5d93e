//! End-to-end test crate: see the tests/ folder.
