//! (placeholder: metrics lands in a later commit)
