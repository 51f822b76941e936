//! A guard for test and demo runs: with `PIGSTY_TUI_LOOPBACK_ONLY=1` set,
//! every network client of pigsty-tui (HTTP sources, port probes, SSH)
//! refuses a destination outside the loopback range instead of sending
//! traffic there. `tests/run` and `.ci/run` set it, so a test that loads an
//! inventory of real addresses (e.g. `inventory/sandbox.yml`, 10.10.10.x)
//! can never reach the network; the refusal shows as that source's error.

use std::net::IpAddr;

/// The environment variable that turns the guard on (`1`, `true`, `yes`).
pub const ENV: &str = "PIGSTY_TUI_LOOPBACK_ONLY";

/// Whether the guard is on for this process.
pub fn active() -> bool {
    std::env::var(ENV).is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"))
}

/// `Ok` when traffic to `host` (an IP address or a host name) is allowed.
pub fn check_host(host: &str) -> Result<(), String> {
    if !active() {
        return Ok(());
    }
    check_host_loopback(host)
}

/// The guard's rule, independent of the environment: loopback IPs and
/// `localhost` only.
pub fn check_host_loopback(host: &str) -> Result<(), String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let allowed = match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    };
    if allowed {
        Ok(())
    } else {
        Err(format!(
            "not sent: {host} is outside the loopback range and {ENV} is set"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only_rule() {
        assert!(check_host_loopback("127.0.0.11").is_ok());
        assert!(check_host_loopback("localhost").is_ok());
        assert!(check_host_loopback("[::1]").is_ok());
        let e = check_host_loopback("10.10.10.10").unwrap_err();
        assert!(e.contains("10.10.10.10") && e.contains(ENV), "{e}");
        assert!(check_host_loopback("db.example.com").is_err());
        assert!(check_host_loopback("192.168.1.1").is_err());
    }
}
