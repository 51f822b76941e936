//! Live integration tests: one test binary (`cargo test --test live`) run
//! against the loopback Pigsty sandbox (`sudo tests/sandbox/sandbox up
//! [--dcs consul]`, see tests/sandbox/README.md).
//!
//! Add a module per feature next to `sandbox.rs` and use the shared
//! [`harness`]: `harness::sandbox()` for the facts (panics with how to start
//! the sandbox when it is down), `sandbox().shared().await` for read-only
//! tests and `sandbox().exclusive().await` + `.release().await` for tests that
//! switch over, kill or stop something.

mod actions;
mod bare_install;
#[path = "../support/fault_proxy.rs"]
mod fault_proxy;
mod faults;
mod harness;
mod playbooks;
mod provision;
mod sandbox;
mod sources;
mod ssh;
mod tasks;
mod triage;

#[path = "../support/tmux.rs"]
mod tmux;
