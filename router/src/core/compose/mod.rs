//! Composition (work in progress).
