//! The ghost VMOD: see README.md.
