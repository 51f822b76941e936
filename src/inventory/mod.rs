//! Reads Pigsty inventories (`pigsty.yml`, v1 to v4) into a [`crate::model::Deployment`].
//!
//! The file is read unchanged, in both generations of Pigsty's layout:
//!
//! * v1 (Consul era): a `meta` group (`meta_node: true`), `pg_dcs_type` /
//!   `dcs_type` and `dcs_servers` (name: IP) in `all.vars`;
//! * v2 to v4 (etcd era): an `infra` group (`infra_seq`), an `etcd` group
//!   (`etcd_seq`, `etcd_cluster`), optionally `minio`.
//!
//! The generation comes from `all.vars.version` (v1.x … v4.x) when present,
//! else from the layout. Every group whose vars hold `pg_cluster` is a
//! PostgreSQL cluster; its hosts (keyed by service IP) are instances named
//! `{pg_cluster}-{pg_seq}`. Variables resolve as in Ansible (host > group >
//! `all.vars` > Pigsty's built-in defaults, see [`defaults`]); YAML anchors,
//! aliases and `<<:` merge keys work.
//!
//! Problems with the file are [`InventoryError`]s located at
//! `file:line:column`; doubtful but usable declarations (two primaries,
//! duplicate `pg_seq`, a host in two clusters, duplicate keys…) become
//! [`crate::model::Warning`]s in `Deployment.warnings`.

mod build;
pub mod catalog;
pub mod defaults;
mod discover;
mod error;
mod generate;
mod groups;
mod yaml;

use std::path::{Path, PathBuf};

use crate::model::Deployment;

pub use build::deployment_name;
pub use discover::{DiscoverEnv, discover_in};
pub use error::{Diagnostic, InventoryError};
pub use generate::generate_inventory;

/// Read and parse the inventory file at `path`.
pub fn load(path: &Path) -> Result<Deployment, InventoryError> {
    let text = std::fs::read_to_string(path).map_err(|source| InventoryError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Parse inventory `text`; `path` names the file in messages and gives the
/// deployment its name (see [`deployment_name`]).
pub fn parse(text: &str, path: &Path) -> Result<Deployment, InventoryError> {
    let root = yaml::parse(text)
        .map_err(|e| InventoryError::one(path, e.pos, format!("invalid YAML: {}", e.message)))?;
    build::build(&root, path)
}

/// The inventory to read: `explicit` (from `-i/--inventory`) as is when it
/// exists, else the first of `$PIGSTY_HOME/pigsty.yml`, `~/pigsty/pigsty.yml`
/// and `./pigsty.yml` that exists. The error names what was tried and how to
/// pass a file.
pub fn discover(explicit: Option<&Path>) -> Result<PathBuf, InventoryError> {
    discover_in(explicit, &DiscoverEnv::from_process())
}
