//! The crate mapper authors depend on.
