//! `pigsty-tui info`: where things are read and written.

use std::path::PathBuf;

use crate::paths::Paths;

pub fn run(paths: &Paths, config_file: &PathBuf) {
    println!("config file:   {}", config_file.display());
    println!(
        "themes dir:    {} (built-in: default, light, high-contrast)",
        paths.themes_dir().display()
    );
    println!("state dir:     {}", paths.state_dir.display());
    println!("log file:      {}", paths.log_file().display());
    println!("inventory search order (when -i is absent):");
    for p in candidate_paths() {
        let mark = if p.exists() { "found" } else { "absent" };
        println!("  {} ({mark})", p.display());
    }
}

/// The inventory locations tried when `-i` is absent, in order.
fn candidate_paths() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(home) = std::env::var_os("PIGSTY_HOME") {
        out.push(PathBuf::from(home).join("pigsty.yml"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        out.push(PathBuf::from(home).join("pigsty").join("pigsty.yml"));
    }
    out.push(PathBuf::from("./pigsty.yml"));
    out
}
