//! `pigsty-tui check`: validate an inventory.

use std::path::Path;

use crate::inventory;

/// Validate the inventory at `path`, print the verdict, return the exit code.
pub fn run(path: &Path) -> i32 {
    match inventory::load(path) {
        Ok(d) => {
            println!(
                "{}: ok: Pigsty {}{}, DCS {}, {} infra node(s), {} cluster(s), {} instance(s)",
                path.display(),
                d.generation,
                d.version
                    .as_deref()
                    .map(|v| format!(" ({v})"))
                    .unwrap_or_default(),
                d.dcs.kind,
                d.infra.len(),
                d.clusters.len(),
                d.instance_count()
            );
            for w in &d.warnings {
                println!("warning: {w}");
            }
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
