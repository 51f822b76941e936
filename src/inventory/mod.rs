//! Reads Pigsty inventories (`pigsty.yml`, v1 to v4) into a [`crate::model::Deployment`].
