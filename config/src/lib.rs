//! CLI + TOML configuration.
