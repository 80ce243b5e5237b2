//! Test support. Filled in by its owner.
