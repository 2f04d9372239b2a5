//! (placeholder: runtime lands in a later commit)
