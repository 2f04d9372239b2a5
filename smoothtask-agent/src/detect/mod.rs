//! (placeholder: detect lands in a later commit)
