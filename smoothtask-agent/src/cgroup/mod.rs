//! (placeholder: cgroup lands in a later commit)
