//! Shared helpers for the privileged integration tests (placeholder until filled in).
