//! A reader for OpenSSH client configuration (`~/.ssh/config`,
//! `/etc/ssh/ssh_config`), limited to what pigsty-tui needs.
//!
//! Semantics follow `ssh_config(5)`: files are read in order (user file
//! first), and for each keyword the *first* value obtained wins, except
//! `IdentityFile`, which accumulates. `Host` lines take patterns with `*`,
//! `?` and `!` negation (a matching negated pattern disqualifies the block).
//! `Match` supports `all`, `host`, `originalhost`, `user`, `localuser`,
//! `final` (true: there is a single pass) and `!` negation; `exec`,
//! `canonical`, `tagged` and `localnetwork` never match. `Include` is
//! honoured (glob in the file name only).
//!
//! Keywords used: `HostName`, `User`, `Port`, `IdentityFile`,
//! `IdentitiesOnly`, `IdentityAgent`, `UserKnownHostsFile`,
//! `GlobalKnownHostsFile`, `HostKeyAlias`, `HashKnownHosts`, `ProxyJump`,
//! `ProxyCommand` (refused later: not supported), `ConnectTimeout`,
//! `ServerAliveInterval`, `ServerAliveCountMax`. Others are ignored.

use std::path::{Path, PathBuf};

/// Does `text` match the wildcard `pattern` (`*` = any run, `?` = one
/// character)? Case-insensitive.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Match `text` against a list of patterns, each possibly negated with `!`:
/// `Some(true)` if a positive pattern matches and no negated one does,
/// `Some(false)` if a negated pattern matches, `None` if nothing matched.
pub fn match_pattern_list<'a, I>(text: &str, patterns: I) -> Option<bool>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut matched = None;
    for pat in patterns {
        if let Some(neg) = pat.strip_prefix('!') {
            if wildcard_match(neg, text) {
                return Some(false);
            }
        } else if wildcard_match(pat, text) {
            matched = Some(true);
        }
    }
    matched
}

/// Settings obtained for one host (`None`: not set by any applicable block).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostSettings {
    pub hostname: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    /// Raw `IdentityFile` values, in order (tokens not yet expanded).
    pub identity_files: Vec<String>,
    pub identities_only: Option<bool>,
    pub identity_agent: Option<String>,
    pub user_known_hosts_files: Option<Vec<String>>,
    pub global_known_hosts_files: Option<Vec<String>>,
    pub host_key_alias: Option<String>,
    pub hash_known_hosts: Option<bool>,
    pub proxy_jump: Option<String>,
    pub proxy_command: Option<String>,
    pub connect_timeout: Option<u64>,
    pub server_alive_interval: Option<u64>,
    pub server_alive_count_max: Option<u64>,
}

#[derive(Debug, Clone)]
enum Line {
    Host(Vec<String>),
    Match(Vec<String>),
    Include(Vec<ConfigFile>),
    Set { key: String, args: Vec<String> },
}

/// One parsed configuration file (with its `Include`s read in).
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: PathBuf,
    lines: Vec<Line>,
}

/// The OpenSSH client configuration: the files read, in order.
#[derive(Debug, Clone, Default)]
pub struct OpenSshConfig {
    files: Vec<ConfigFile>,
    /// Problems met while reading (unreadable includes, bad lines).
    pub warnings: Vec<String>,
}

/// Split a configuration line into words: whitespace separated, with
/// `"…"` / `'…'` quoting and `\` escaping a quote inside quotes.
fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == '\\' && chars.peek().is_some_and(|&n| n == q || n == '\\') {
                    cur.push(chars.next().unwrap());
                } else if c == q {
                    quote = None;
                } else {
                    cur.push(c);
                }
            }
            None => {
                if c == '"' || c == '\'' {
                    quote = Some(c);
                    in_word = true;
                } else if c.is_whitespace() {
                    if in_word {
                        words.push(std::mem::take(&mut cur));
                        in_word = false;
                    }
                } else if c == '#' && !in_word {
                    break;
                } else {
                    cur.push(c);
                    in_word = true;
                }
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// `~/x` → `$HOME/x`.
pub fn expand_tilde(path: &str, home: &Path) -> PathBuf {
    if path == "~" {
        home.to_path_buf()
    } else if let Some(rest) = path.strip_prefix("~/") {
        home.join(rest)
    } else {
        PathBuf::from(path)
    }
}

/// Values substituted for `%` tokens.
#[derive(Debug, Clone, Default)]
pub struct Tokens<'a> {
    /// `%h`: remote host name (after `HostName`).
    pub host: &'a str,
    /// `%n`: the host as given (the alias).
    pub original_host: &'a str,
    /// `%p`
    pub port: u16,
    /// `%r`
    pub remote_user: &'a str,
    /// `%u`
    pub local_user: &'a str,
    /// `%d`
    pub home: &'a str,
}

/// Expand `%h %n %p %r %u %d %%` (unknown tokens are kept as they are).
pub fn expand_tokens(s: &str, t: &Tokens<'_>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('h') => out.push_str(t.host),
            Some('n') => out.push_str(t.original_host),
            Some('p') => out.push_str(&t.port.to_string()),
            Some('r') => out.push_str(t.remote_user),
            Some('u') => out.push_str(t.local_user),
            Some('d') => out.push_str(t.home),
            Some(o) => {
                out.push('%');
                out.push(o);
            }
            None => out.push('%'),
        }
    }
    out
}

const MAX_INCLUDE_DEPTH: usize = 16;

impl ConfigFile {
    fn parse(
        path: &Path,
        text: &str,
        include_base: &Path,
        home: &Path,
        depth: usize,
        warnings: &mut Vec<String>,
    ) -> ConfigFile {
        let mut lines = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            // Keyword, then whitespace and/or one `=`.
            let kw_end = line
                .find(|c: char| c.is_whitespace() || c == '=')
                .unwrap_or(line.len());
            let key = line[..kw_end].to_ascii_lowercase();
            let mut rest = line[kw_end..].trim_start();
            if let Some(r) = rest.strip_prefix('=') {
                rest = r.trim_start();
            }
            let args = match split_words(rest) {
                Ok(a) => a,
                Err(e) => {
                    warnings.push(format!("{}:{}: {e}", path.display(), n + 1));
                    continue;
                }
            };
            match key.as_str() {
                "host" => lines.push(Line::Host(args)),
                "match" => lines.push(Line::Match(args)),
                "include" => {
                    let mut files = Vec::new();
                    if depth >= MAX_INCLUDE_DEPTH {
                        warnings.push(format!(
                            "{}:{}: Include nested too deeply",
                            path.display(),
                            n + 1
                        ));
                        continue;
                    }
                    for arg in &args {
                        let p = expand_tilde(arg, home);
                        let p = if p.is_absolute() {
                            p
                        } else {
                            include_base.join(p)
                        };
                        for f in glob_file_names(&p, warnings) {
                            match std::fs::read_to_string(&f) {
                                Ok(t) => files.push(ConfigFile::parse(
                                    &f,
                                    &t,
                                    include_base,
                                    home,
                                    depth + 1,
                                    warnings,
                                )),
                                Err(e) => warnings.push(format!("{}: {e}", f.display())),
                            }
                        }
                    }
                    lines.push(Line::Include(files));
                }
                _ => lines.push(Line::Set { key, args }),
            }
        }
        ConfigFile {
            path: path.to_path_buf(),
            lines,
        }
    }
}

/// Files matching `path`, whose last component may hold `*` / `?`.
fn glob_file_names(path: &Path, warnings: &mut Vec<String>) -> Vec<PathBuf> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains(['*', '?']) {
        return if path.exists() {
            vec![path.to_path_buf()]
        } else {
            Vec::new()
        };
    }
    let dir = path.parent().unwrap_or(Path::new("/"));
    if dir.to_string_lossy().contains(['*', '?']) {
        warnings.push(format!(
            "Include {}: wildcards are supported in the file name only",
            path.display()
        ));
        return Vec::new();
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| wildcard_match(&name, &e.file_name().to_string_lossy()))
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn parse_yes_no(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        _ => None,
    }
}

struct EvalCtx<'a> {
    original_host: &'a str,
    local_user: &'a str,
}

impl OpenSshConfig {
    /// No configuration at all.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Read `~/.ssh/config` then `/etc/ssh/ssh_config` (missing files are
    /// fine).
    pub fn load(home: &Path) -> Self {
        let mut cfg = OpenSshConfig::default();
        cfg.add_file(&home.join(".ssh").join("config"), &home.join(".ssh"), home);
        cfg.add_file(
            Path::new("/etc/ssh/ssh_config"),
            Path::new("/etc/ssh"),
            home,
        );
        cfg
    }

    /// Read one more file (lower precedence than those already read);
    /// relative `Include`s resolve against `include_base`.
    pub fn add_file(&mut self, path: &Path, include_base: &Path, home: &Path) {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let f = ConfigFile::parse(path, &text, include_base, home, 0, &mut self.warnings);
                self.files.push(f);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => self.warnings.push(format!("{}: {e}", path.display())),
        }
    }

    /// Parse configuration text (tests, or a file given inline).
    pub fn parse_str(text: &str, home: &Path) -> Self {
        let mut cfg = OpenSshConfig::default();
        let base = home.join(".ssh");
        let f = ConfigFile::parse(
            &base.join("config"),
            text,
            &base,
            home,
            0,
            &mut cfg.warnings,
        );
        cfg.files.push(f);
        cfg
    }

    /// The settings that apply to `host` (the name as given, before
    /// `HostName`), for a local user `local_user`. `user` is a remote user
    /// fixed beforehand (like `ssh -l`): `Match user` sees it and `User`
    /// lines do not replace it.
    pub fn lookup(&self, host: &str, local_user: &str, user: Option<&str>) -> HostSettings {
        let ctx = EvalCtx {
            original_host: host,
            local_user,
        };
        let mut s = HostSettings {
            user: user.map(str::to_string),
            ..HostSettings::default()
        };
        for f in &self.files {
            Self::apply(&f.lines, &ctx, true, &mut s);
        }
        s
    }

    fn apply(lines: &[Line], ctx: &EvalCtx<'_>, initially: bool, s: &mut HostSettings) {
        let mut active = initially;
        for line in lines {
            match line {
                Line::Host(patterns) => {
                    active = match_pattern_list(
                        &ctx.original_host.to_lowercase(),
                        patterns.iter().map(String::as_str),
                    ) == Some(true);
                }
                Line::Match(criteria) => active = Self::eval_match(criteria, ctx, s),
                Line::Include(files) => {
                    for f in files {
                        Self::apply(&f.lines, ctx, active, s);
                    }
                }
                Line::Set { key, args } if active => Self::set(key, args, s),
                Line::Set { .. } => {}
            }
        }
    }

    fn eval_match(criteria: &[String], ctx: &EvalCtx<'_>, s: &HostSettings) -> bool {
        let mut i = 0;
        while i < criteria.len() {
            let raw = criteria[i].to_ascii_lowercase();
            let (neg, name) = match raw.strip_prefix('!') {
                Some(n) => (true, n.to_string()),
                None => (false, raw.clone()),
            };
            let takes_arg = matches!(
                name.as_str(),
                "host" | "originalhost" | "user" | "localuser" | "exec" | "tagged" | "localnetwork"
            );
            let arg = if takes_arg {
                i += 1;
                match criteria.get(i) {
                    Some(a) => a.as_str(),
                    None => return false,
                }
            } else {
                ""
            };
            let list =
                |text: &str| match_pattern_list(&text.to_lowercase(), arg.split(',')) == Some(true);
            let result = match name.as_str() {
                "all" | "final" => true,
                "host" => list(s.hostname.as_deref().unwrap_or(ctx.original_host)),
                "originalhost" => list(ctx.original_host),
                "user" => list(s.user.as_deref().unwrap_or(ctx.local_user)),
                "localuser" => list(ctx.local_user),
                _ => false,
            };
            if result == neg {
                return false;
            }
            i += 1;
        }
        true
    }

    fn set(key: &str, args: &[String], s: &mut HostSettings) {
        let Some(first) = args.first() else {
            return;
        };
        fn once<T>(slot: &mut Option<T>, v: Option<T>) {
            if slot.is_none() {
                *slot = v;
            }
        }
        match key {
            "hostname" => once(&mut s.hostname, Some(first.clone())),
            "user" => once(&mut s.user, Some(first.clone())),
            "port" => once(&mut s.port, first.parse().ok()),
            "identityfile" => s.identity_files.push(first.clone()),
            "identitiesonly" => once(&mut s.identities_only, parse_yes_no(first)),
            "identityagent" => once(&mut s.identity_agent, Some(first.clone())),
            "userknownhostsfile" => once(&mut s.user_known_hosts_files, Some(args.to_vec())),
            "globalknownhostsfile" => once(&mut s.global_known_hosts_files, Some(args.to_vec())),
            "hostkeyalias" => once(&mut s.host_key_alias, Some(first.clone())),
            "hashknownhosts" => once(&mut s.hash_known_hosts, parse_yes_no(first)),
            "proxyjump" => once(&mut s.proxy_jump, Some(first.clone())),
            "proxycommand" => once(&mut s.proxy_command, Some(args.join(" "))),
            "connecttimeout" => once(&mut s.connect_timeout, first.parse().ok()),
            "serveraliveinterval" => once(&mut s.server_alive_interval, first.parse().ok()),
            "serveralivecountmax" => once(&mut s.server_alive_count_max, first.parse().ok()),
            _ => {}
        }
    }
}

/// One hop of a `ProxyJump` list: `[user@]host[:port]` or
/// `ssh://[user@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JumpSpec {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

/// Parse a `ProxyJump` value; `none` gives an empty list.
pub fn parse_proxy_jump(value: &str) -> Result<Vec<JumpSpec>, String> {
    if value.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(|hop| {
            let hop = hop.trim();
            let hop = hop.strip_prefix("ssh://").unwrap_or(hop);
            let (user, hostport) = match hop.rsplit_once('@') {
                Some((u, h)) => (Some(u.to_string()), h),
                None => (None, hop),
            };
            let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
                let (h, after) = rest
                    .split_once(']')
                    .ok_or_else(|| format!("bad ProxyJump host {hop:?}"))?;
                let port = match after.strip_prefix(':') {
                    Some(p) => Some(
                        p.parse()
                            .map_err(|_| format!("bad ProxyJump port {hop:?}"))?,
                    ),
                    None => None,
                };
                (h.to_string(), port)
            } else {
                match hostport.rsplit_once(':') {
                    Some((h, p)) => (
                        h.to_string(),
                        Some(
                            p.parse()
                                .map_err(|_| format!("bad ProxyJump port {hop:?}"))?,
                        ),
                    ),
                    None => (hostport.to_string(), None),
                }
            };
            if host.is_empty() {
                return Err(format!("bad ProxyJump host {hop:?}"));
            }
            Ok(JumpSpec { user, host, port })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home() -> PathBuf {
        PathBuf::from("/home/op")
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match("10.10.10.*", "10.10.10.11"));
        assert!(!wildcard_match("10.10.10.*", "10.10.11.11"));
        assert!(wildcard_match("pg-?-1", "pg-a-1"));
        assert!(!wildcard_match("pg-?-1", "pg-ab-1"));
        assert!(wildcard_match("*.example.COM", "db.Example.com"));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("a*b*c", "aXXbYY"));
        assert!(wildcard_match("", ""));
        assert!(!wildcard_match("", "x"));
        assert!(wildcard_match("**", ""));
    }

    #[test]
    fn pattern_lists_with_negation() {
        let l = ["10.10.10.*", "!10.10.10.1"];
        assert_eq!(match_pattern_list("10.10.10.11", l), Some(true));
        assert_eq!(match_pattern_list("10.10.10.1", l), Some(false));
        assert_eq!(match_pattern_list("192.168.0.1", l), None);
        assert_eq!(match_pattern_list("x", ["!y"]), None);
    }

    const SAMPLE: &str = r#"
# comment
Host bastion
    HostName 203.0.113.5
    User jumper
    Port 2200

Host 10.10.10.* !10.10.10.1
    User dba
    IdentityFile ~/.ssh/pigsty_ed25519
    ProxyJump bastion
    UserKnownHostsFile ~/.ssh/known_hosts_pigsty "/path with space/kh"

Host pg-*
    HostName %h.db.internal
    Port=2222

Host *
    User fallback
    IdentityFile ~/.ssh/id_default
    ConnectTimeout 7
    Port 22
"#;

    #[test]
    fn first_value_wins_and_identity_files_accumulate() {
        let cfg = OpenSshConfig::parse_str(SAMPLE, &home());
        assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);

        let s = cfg.lookup("10.10.10.11", "me", None);
        assert_eq!(s.user.as_deref(), Some("dba"));
        assert_eq!(s.port, Some(22));
        assert_eq!(s.hostname, None);
        assert_eq!(
            s.identity_files,
            vec!["~/.ssh/pigsty_ed25519", "~/.ssh/id_default"]
        );
        assert_eq!(s.proxy_jump.as_deref(), Some("bastion"));
        assert_eq!(
            s.user_known_hosts_files,
            Some(vec![
                "~/.ssh/known_hosts_pigsty".to_string(),
                "/path with space/kh".to_string()
            ])
        );
        assert_eq!(s.connect_timeout, Some(7));

        // Negated pattern disqualifies the block.
        let s = cfg.lookup("10.10.10.1", "me", None);
        assert_eq!(s.user.as_deref(), Some("fallback"));
        assert_eq!(s.proxy_jump, None);

        let s = cfg.lookup("pg-test-1", "me", None);
        assert_eq!(s.hostname.as_deref(), Some("%h.db.internal"));
        assert_eq!(s.port, Some(2222));

        let s = cfg.lookup("bastion", "me", None);
        assert_eq!(s.hostname.as_deref(), Some("203.0.113.5"));
        assert_eq!(s.user.as_deref(), Some("jumper"));
        assert_eq!(s.port, Some(2200));
    }

    #[test]
    fn match_blocks() {
        let text = r#"
Match host 10.0.0.* user admin
    IdentityFile ~/.ssh/admin_key
Match originalhost db1 !localuser root
    Port 2022
Match exec "true"
    Port 9999
Match all
    User admin
"#;
        let cfg = OpenSshConfig::parse_str(text, &home());
        // User not set yet when the first Match is evaluated: local user "op".
        let s = cfg.lookup("10.0.0.5", "op", None);
        assert!(s.identity_files.is_empty());
        assert_eq!(s.user.as_deref(), Some("admin"));
        let s = cfg.lookup("10.0.0.5", "admin", None);
        assert_eq!(s.identity_files, vec!["~/.ssh/admin_key"]);
        assert_eq!(cfg.lookup("db1", "op", None).port, Some(2022));
        assert_eq!(cfg.lookup("db1", "root", None).port, None);
    }

    #[test]
    fn settings_before_first_host_apply_to_all() {
        let cfg = OpenSshConfig::parse_str("User early\nHost x\n User late\n", &home());
        assert_eq!(cfg.lookup("x", "me", None).user.as_deref(), Some("early"));
        assert_eq!(cfg.lookup("y", "me", None).user.as_deref(), Some("early"));
    }

    #[test]
    fn includes_are_scoped() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        std::fs::create_dir_all(home.join(".ssh/conf.d")).unwrap();
        std::fs::write(
            home.join(".ssh/conf.d/10-a.conf"),
            "Port 2201\nHost special\n  User sp\n",
        )
        .unwrap();
        std::fs::write(home.join(".ssh/conf.d/20-b.conf"), "IdentityFile ~/b\n").unwrap();
        std::fs::write(
            home.join(".ssh/config"),
            "Host inc-*\n  Include conf.d/*.conf\nHost *\n  User all\n",
        )
        .unwrap();
        let mut cfg = OpenSshConfig::default();
        cfg.add_file(&home.join(".ssh/config"), &home.join(".ssh"), home);
        assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
        let s = cfg.lookup("inc-1", "me", None);
        assert_eq!(s.port, Some(2201));
        assert_eq!(s.identity_files, vec!["~/b"]);
        assert_eq!(s.user.as_deref(), Some("all"));
        // Not under the including Host block.
        let s = cfg.lookup("other", "me", None);
        assert_eq!(s.port, None);
        assert!(s.identity_files.is_empty());
        // A Host line inside the include opens its own block.
        assert_eq!(
            cfg.lookup("special", "me", None).user.as_deref(),
            Some("sp")
        );
    }

    #[test]
    fn tokens_and_tilde() {
        let t = Tokens {
            host: "10.0.0.1",
            original_host: "pg-1",
            port: 2222,
            remote_user: "dba",
            local_user: "me",
            home: "/home/me",
        };
        assert_eq!(
            expand_tokens("%d/.ssh/%r@%h:%p-%n-%u-%%-%x", &t),
            "/home/me/.ssh/dba@10.0.0.1:2222-pg-1-me-%-%x"
        );
        assert_eq!(
            expand_tilde("~/.ssh/id", Path::new("/h")),
            PathBuf::from("/h/.ssh/id")
        );
        assert_eq!(expand_tilde("/abs", Path::new("/h")), PathBuf::from("/abs"));
    }

    #[test]
    fn proxy_jump_specs() {
        assert_eq!(parse_proxy_jump("none").unwrap(), vec![]);
        assert_eq!(
            parse_proxy_jump("admin@bastion:2200,ssh://j2,[::1]:22").unwrap(),
            vec![
                JumpSpec {
                    user: Some("admin".into()),
                    host: "bastion".into(),
                    port: Some(2200)
                },
                JumpSpec {
                    user: None,
                    host: "j2".into(),
                    port: None
                },
                JumpSpec {
                    user: None,
                    host: "::1".into(),
                    port: Some(22)
                },
            ]
        );
        assert!(parse_proxy_jump("host:notaport").is_err());
    }

    #[test]
    fn word_splitting() {
        assert_eq!(
            split_words(r#"a "b c" 'd e' f\g "q\"x" # trailing"#).unwrap(),
            vec!["a", "b c", "d e", "f\\g", "q\"x"]
        );
        assert!(split_words("\"open").is_err());
    }
}
