//! known_hosts files: lookup of a server key and recording of new keys.
//!
//! Lines are `[@marker] patterns keytype base64 [comment]`. Patterns are
//! comma-separated host names (`host` for port 22, `[host]:port` otherwise)
//! with `*`, `?` and `!` negation, or hashed entries `|1|salt|hash` (HMAC-SHA1
//! of the name, as written by `HashKnownHosts yes` / `ssh-keygen -H`).
//! `@revoked` keys are refused; `@cert-authority` lines are skipped (host
//! certificates are not supported). Unparsable lines are skipped, never
//! fatal.
//!
//! russh ships `russh::keys::known_hosts`, but it fails on the first line it
//! cannot parse (markers, tabs, several spaces), ignores wildcards and
//! negation, and does not say which key a *changed* entry holds, which the
//! error message must show; hence this module.

use std::io::Write;
use std::path::{Path, PathBuf};

use russh::keys::{HashAlg, PublicKey};

use super::config::match_pattern_list;
use super::sha1::hmac_sha1;

/// The name a host is recorded under: `host` for port 22, else `[host]:port`.
pub fn host_port_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// `SHA256:…` fingerprint of a key, as OpenSSH prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// A known_hosts line that applies to the host looked up.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownEntry {
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
    pub key: PublicKey,
}

impl KnownEntry {
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.key)
    }
}

/// What the known_hosts files say about a server key.
#[derive(Debug, Clone, PartialEq)]
pub enum HostKeyStatus {
    /// A line for this host holds exactly this key.
    Known(KnownEntry),
    /// No line for this host at all.
    Unknown,
    /// A line for this host holds another key of the same type: the key
    /// changed (or someone is in the middle).
    Changed(KnownEntry),
    /// Lines for this host hold keys of other types only.
    OtherTypes(Vec<KnownEntry>),
    /// The key is marked `@revoked`.
    Revoked(KnownEntry),
}

/// Are two keys of the same type (all RSA variants count as one)?
fn same_type(a: &PublicKey, b: &PublicKey) -> bool {
    let (x, y) = (a.algorithm(), b.algorithm());
    let rsa = |al: &russh::keys::Algorithm| matches!(al, russh::keys::Algorithm::Rsa { .. });
    (rsa(&x) && rsa(&y)) || x == y
}

fn hashed_match(entry: &str, name: &str) -> bool {
    let mut parts = entry.split('|').skip(2);
    let (Some(salt), Some(hash)) = (parts.next(), parts.next()) else {
        return false;
    };
    match (
        crate::encoding::b64_decode(salt),
        crate::encoding::b64_decode(hash),
    ) {
        (Some(salt), Some(hash)) => hmac_sha1(&salt, name.as_bytes())[..] == hash[..],
        _ => false,
    }
}

/// Does the host-pattern field of a line match `name` (`host` or
/// `[host]:port`)?
pub fn patterns_match(field: &str, name: &str) -> bool {
    let name = name.to_lowercase();
    if field.starts_with("|1|") {
        return field.split(',').any(|e| hashed_match(e, &name));
    }
    match_pattern_list(&name, field.split(',')) == Some(true)
}

/// One parsed line.
struct Line<'a> {
    marker: Option<&'a str>,
    patterns: &'a str,
    key: Option<PublicKey>,
}

fn parse_line(line: &str) -> Option<Line<'_>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut words = line.split_whitespace();
    let mut first = words.next()?;
    let mut marker = None;
    if first.starts_with('@') {
        marker = Some(first);
        first = words.next()?;
    }
    let ktype = words.next()?;
    let b64 = words.next()?;
    let key = PublicKey::from_openssh(&format!("{ktype} {b64}")).ok();
    Some(Line {
        marker,
        patterns: first,
        key,
    })
}

/// Every entry of `path` that applies to `name` (`host` or `[host]:port`),
/// excluding `@cert-authority` lines; the bool is true for `@revoked`.
pub fn entries_for(path: &Path, name: &str) -> Vec<(KnownEntry, bool)> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let Some(line) = parse_line(raw) else {
            continue;
        };
        let revoked = match line.marker {
            None => false,
            Some("@revoked") => true,
            Some(_) => continue,
        };
        // A revoked key applies whatever the host patterns say ("*" usually).
        if !revoked && !patterns_match(line.patterns, name) {
            continue;
        }
        if revoked && !patterns_match(line.patterns, name) && line.patterns != "*" {
            continue;
        }
        if let Some(key) = line.key {
            out.push((
                KnownEntry {
                    path: path.to_path_buf(),
                    line: i + 1,
                    key,
                },
                revoked,
            ));
        }
    }
    out
}

/// Look `key` up for `host:port` in `files` (user files first, then global).
pub fn check(files: &[PathBuf], host: &str, port: u16, key: &PublicKey) -> HostKeyStatus {
    let name = host_port_name(host, port);
    let entries: Vec<(KnownEntry, bool)> =
        files.iter().flat_map(|f| entries_for(f, &name)).collect();
    if let Some((e, _)) = entries
        .iter()
        .find(|(e, revoked)| *revoked && e.key.key_data() == key.key_data())
    {
        return HostKeyStatus::Revoked(e.clone());
    }
    let entries: Vec<KnownEntry> = entries
        .into_iter()
        .filter(|(_, r)| !r)
        .map(|(e, _)| e)
        .collect();
    if let Some(e) = entries.iter().find(|e| e.key.key_data() == key.key_data()) {
        return HostKeyStatus::Known(e.clone());
    }
    if let Some(e) = entries.iter().find(|e| same_type(&e.key, key)) {
        return HostKeyStatus::Changed(e.clone());
    }
    if entries.is_empty() {
        HostKeyStatus::Unknown
    } else {
        HostKeyStatus::OtherTypes(entries)
    }
}

/// Key types recorded for `host:port`, in file order (to prefer them when
/// negotiating, as OpenSSH does).
pub fn known_algorithms(files: &[PathBuf], host: &str, port: u16) -> Vec<russh::keys::Algorithm> {
    let name = host_port_name(host, port);
    let mut out: Vec<russh::keys::Algorithm> = Vec::new();
    for (e, revoked) in files.iter().flat_map(|f| entries_for(f, &name)) {
        let alg = e.key.algorithm();
        if !revoked && !out.contains(&alg) {
            out.push(alg);
        }
    }
    out
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        if f.read_exact(&mut buf).is_ok() {
            return buf;
        }
    }
    // Fallback: not secret material, only a salt.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
        ^ u128::from(std::process::id());
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (seed >> ((i % 16) * 8)) as u8 ^ (i as u8).wrapping_mul(151);
    }
    buf
}

/// The host field for a new line, hashed if asked.
pub fn host_field(name: &str, hashed: bool) -> String {
    if !hashed {
        return name.to_string();
    }
    let salt: [u8; 20] = random_bytes();
    let hash = hmac_sha1(&salt, name.to_lowercase().as_bytes());
    format!(
        "|1|{}|{}",
        crate::encoding::b64_encode(&salt),
        crate::encoding::b64_encode(&hash)
    )
}

/// Append `key` for `host:port` to `path` (created with its directory if
/// needed); returns the line number written.
pub fn append(
    path: &Path,
    host: &str,
    port: u16,
    key: &PublicKey,
    hashed: bool,
) -> std::io::Result<usize> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let existing = std::fs::read(path).unwrap_or_default();
    let mut line = String::new();
    if !existing.is_empty() && !existing.ends_with(b"\n") {
        line.push('\n');
    }
    let name = host_port_name(host, port);
    let mut key = key.clone();
    key.set_comment("");
    let openssh = key
        .to_openssh()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    line.push_str(&format!(
        "{} {}\n",
        host_field(&name, hashed),
        openssh.trim()
    ));
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(line.as_bytes())?;
    let lines = existing.iter().filter(|&&b| b == b'\n').count()
        + usize::from(!existing.is_empty() && !existing.ends_with(b"\n"));
    Ok(lines + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    const ED_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6rWI3G1sz07DnfFlrouTcysQlj2P+jpNSOEWD9OJ3X";
    const ED_HASHED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILIG2T/B0l0gaqj3puu510tu9N1OkQ4znY3LYuEm5zCF";
    const ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBM5xZi1u1DaHRHRH9zY7Yqc+WpScNZmb8NhwNTq4DwhDzaJfnendE+b9wYsPb5AnCVNq3qbG3gkr+P/KPrXE7Lo=";

    fn key(s: &str) -> PublicKey {
        PublicKey::from_openssh(s).unwrap()
    }

    fn write(lines: &[&str]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("known_hosts");
        std::fs::write(&p, lines.join("\n") + "\n").unwrap();
        (dir, p)
    }

    #[test]
    fn outcomes() {
        let (_d, p) = write(&[
            "# comment",
            "@cert-authority *.example.com ssh-rsa AAAAB3NzaC1yc2E",
            &format!("[localhost]:13265 {ED_A}"),
            &format!("10.10.10.*,!10.10.10.99\t {ED_B} comment here"),
            &format!("|1|O33ESRMWPVkMYIwJ1Uw+n877jTo=|nuuC5vEqXlEZ/8BXQR7m619W6Ak= {ED_HASHED}"),
            "garbage line",
            &format!("ecdsa-host {ECDSA}"),
        ]);
        let files = vec![p.clone()];
        // Known, non-standard port.
        match check(&files, "localhost", 13265, &key(ED_A)) {
            HostKeyStatus::Known(e) => assert_eq!(e.line, 3),
            o => panic!("{o:?}"),
        }
        // Same host on port 22 is another name.
        assert_eq!(
            check(&files, "localhost", 22, &key(ED_A)),
            HostKeyStatus::Unknown
        );
        // Wildcard with negation.
        assert!(matches!(
            check(&files, "10.10.10.11", 22, &key(ED_B)),
            HostKeyStatus::Known(_)
        ));
        assert_eq!(
            check(&files, "10.10.10.99", 22, &key(ED_B)),
            HostKeyStatus::Unknown
        );
        // Hashed entry (the vector of russh's own known_hosts test).
        assert!(matches!(
            check(&files, "example.com", 22, &key(ED_HASHED)),
            HostKeyStatus::Known(_)
        ));
        // Changed: same type, other key; reports the recorded key and line.
        match check(&files, "10.10.10.12", 22, &key(ED_A)) {
            HostKeyStatus::Changed(e) => {
                assert_eq!(e.line, 4);
                assert_eq!(e.fingerprint(), fingerprint(&key(ED_B)));
                assert_eq!(e.path, p);
            }
            o => panic!("{o:?}"),
        }
        // Other types only.
        assert!(matches!(
            check(&files, "ecdsa-host", 22, &key(ED_A)),
            HostKeyStatus::OtherTypes(v) if v.len() == 1
        ));
        // Missing file: unknown.
        assert_eq!(
            check(&[PathBuf::from("/nonexistent/kh")], "x", 22, &key(ED_A)),
            HostKeyStatus::Unknown
        );
    }

    #[test]
    fn revoked_keys_are_refused() {
        let (_d, p) = write(&[&format!("host1 {ED_A}"), &format!("@revoked * {ED_A}")]);
        assert!(matches!(
            check(&[p], "host1", 22, &key(ED_A)),
            HostKeyStatus::Revoked(_)
        ));
    }

    #[test]
    fn agrees_with_russh_helper() {
        let (_d, p) = write(&[
            &format!("[127.0.0.11]:22 {ED_A}"),
            &format!("127.0.0.12 {ED_B}"),
            &format!("|1|O33ESRMWPVkMYIwJ1Uw+n877jTo=|nuuC5vEqXlEZ/8BXQR7m619W6Ak= {ED_HASHED}"),
        ]);
        for (host, port, k) in [
            ("127.0.0.12", 22, ED_B),
            ("127.0.0.12", 22, ED_A),
            ("127.0.0.13", 22, ED_A),
            ("example.com", 22, ED_HASHED),
            ("127.0.0.12", 2222, ED_B),
        ] {
            let ours = check(std::slice::from_ref(&p), host, port, &key(k));
            let theirs = russh::keys::check_known_hosts_path(host, port, &key(k), &p);
            match (ours, theirs) {
                (HostKeyStatus::Known(_), Ok(true)) => {}
                (HostKeyStatus::Unknown, Ok(false)) => {}
                (HostKeyStatus::Changed(e), Err(russh::keys::Error::KeyChanged { line })) => {
                    assert_eq!(e.line, line)
                }
                (o, t) => panic!("{host}:{port}: ours {o:?}, russh {t:?}"),
            }
        }
    }

    #[test]
    fn append_plain_and_hashed() {
        let (_d, p) = write(&[&format!("a {ED_A}")]);
        // No trailing newline: append must add one.
        std::fs::write(&p, format!("a {ED_A}")).unwrap();
        let line = append(&p, "127.0.0.11", 2222, &key(ED_B), false).unwrap();
        assert_eq!(line, 2);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.ends_with(&format!("[127.0.0.11]:2222 {ED_B}\n")),
            "{text}"
        );
        assert!(matches!(
            check(std::slice::from_ref(&p), "127.0.0.11", 2222, &key(ED_B)),
            HostKeyStatus::Known(e) if e.line == 2
        ));
        let line = append(&p, "Db.Example.com", 22, &key(ED_B), true).unwrap();
        assert_eq!(line, 3);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.lines().nth(2).unwrap().starts_with("|1|"));
        assert!(matches!(
            check(std::slice::from_ref(&p), "db.example.com", 22, &key(ED_B)),
            HostKeyStatus::Known(_)
        ));
        // And russh agrees with what we wrote.
        assert!(russh::keys::check_known_hosts_path("db.example.com", 22, &key(ED_B), &p).unwrap());
        // A new file in a new directory.
        let q = _d.path().join("sub/kh");
        assert_eq!(append(&q, "h", 22, &key(ED_A), false).unwrap(), 1);
        assert_eq!(
            known_algorithms(&[q], "h", 22),
            vec![russh::keys::Algorithm::Ed25519]
        );
    }
}
