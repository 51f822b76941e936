//! `pigsty-tui info`: where things are read and written.

use std::path::Path;

use crate::inventory::DiscoverEnv;

use crate::paths::Paths;

pub fn run(paths: &Paths, config_file: &Path) {
    println!("config file:   {}", config_file.display());
    println!(
        "themes dir:    {} (built-in: default, light, high-contrast)",
        paths.themes_dir().display()
    );
    println!("state dir:     {}", paths.state_dir.display());
    println!("log file:      {}", paths.log_file().display());
    println!("inventory search order (when -i is absent):");
    for p in DiscoverEnv::from_process().candidates() {
        let mark = if p.exists() { "found" } else { "absent" };
        println!("  {} ({mark})", p.display());
    }
}
