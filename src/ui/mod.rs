//! Views: one file per view; they render a model and the newest snapshot.
