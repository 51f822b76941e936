//! Shell quoting and the command lines sent to remote hosts.
//!
//! A [`RemoteCommand`] is a shell script (run by `bash -c`) plus the user it
//! runs as ([`RunAs`]). [`remote_command_line`] turns it into the exact
//! string given to the SSH `exec` request:
//!
//! * as the login (admin) user: `exec sh -c '<wrapper>'`;
//! * as another user (the database superuser, root, …):
//!   `exec sudo -n -iu <user> -- bash -c 'eval "$(echo <base64 wrapper> | base64 -d)"'`.
//!
//! The wrapper first reports the process group of the command on stderr (one
//! line starting with [`PGID_MARKER`], stripped again by the executor), then
//! `exec`s `bash -c '<script>'`. Cancelling a command kills that process group
//! with a second command ([`kill_script`]), run as the same user, so nothing
//! is left behind on the host.
//!
//! The payload for `sudo -i` is base64-encoded because `sudo -i` hands its
//! arguments to the target user's login shell with backslash escapes on every
//! special character *except `$`* (so `$$`, `$1`, `$HOME` would be expanded by
//! the wrong shell) and turns newlines into line continuations. Base64 text
//! survives that unchanged.

use std::borrow::Cow;
use std::fmt;

/// First bytes of the line the wrapper writes on stderr before the command
/// starts: `"\x1epigsty-tui:pgid=<pgid>\n"`.
pub const PGID_MARKER: &str = "\u{1e}pigsty-tui:pgid=";

/// Quote one word for a POSIX shell.
///
/// Words made only of safe characters are returned as they are; anything else
/// is wrapped in single quotes, with each `'` written as `'\''`.
///
/// ```
/// use pigsty_tui::tasks::shell::quote;
/// assert_eq!(quote("pg-test-1"), "pg-test-1");
/// assert_eq!(quote("it's"), r#"'it'\''s'"#);
/// assert_eq!(quote(""), "''");
/// ```
pub fn quote(word: &str) -> Cow<'_, str> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./=:,@%+".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        return Cow::Borrowed(word);
    }
    let mut out = String::with_capacity(word.len() + 2);
    out.push('\'');
    for c in word.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    Cow::Owned(out)
}

/// Quote every word and join them with spaces: a command line that runs
/// exactly `words` as argv.
///
/// ```
/// use pigsty_tui::tasks::shell::join;
/// assert_eq!(join(["patronictl", "switchover", "--candidate", "pg test"]),
///            "patronictl switchover --candidate 'pg test'");
/// ```
pub fn join<I, S>(words: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    words
        .into_iter()
        .map(|w| quote(w.as_ref()).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Who a remote command runs as.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunAs {
    /// The user SSH logs in as (the admin user, `ansible_user`).
    Admin,
    /// The database superuser of the target (`pg_dbsu`, default `postgres`),
    /// through `sudo -iu` unless the login user already is it.
    Dbsu,
    /// Any other user, through `sudo -iu` (e.g. `root` for `systemctl`).
    User(String),
}

/// A shell script to run on a host, and as whom.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct RemoteCommand {
    /// The script, run by `bash -c` (several lines are fine).
    pub script: String,
    pub run_as: RunAs,
    /// What logs, events and the audit log show instead of the script, when
    /// the script holds a secret.
    pub display: Option<String>,
}

impl fmt::Debug for RemoteCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The script may hold a secret when a display form is set.
        f.debug_struct("RemoteCommand")
            .field("command", &self.shown())
            .field("run_as", &self.run_as)
            .finish()
    }
}

impl RemoteCommand {
    /// A script run as the login (admin) user.
    pub fn admin(script: impl Into<String>) -> Self {
        RemoteCommand {
            script: script.into(),
            run_as: RunAs::Admin,
            display: None,
        }
    }

    /// A script run as the database superuser (`sudo -iu {pg_dbsu}`).
    pub fn dbsu(script: impl Into<String>) -> Self {
        RemoteCommand {
            script: script.into(),
            run_as: RunAs::Dbsu,
            display: None,
        }
    }

    /// A script run as `user` through `sudo -iu`.
    pub fn as_user(user: impl Into<String>, script: impl Into<String>) -> Self {
        RemoteCommand {
            script: script.into(),
            run_as: RunAs::User(user.into()),
            display: None,
        }
    }

    /// Show `display` instead of the script in logs and the audit log.
    pub fn with_display(mut self, display: impl Into<String>) -> Self {
        self.display = Some(display.into());
        self
    }

    /// The form shown to people and written to logs.
    pub fn shown(&self) -> &str {
        self.display.as_deref().unwrap_or(&self.script)
    }

    /// The user the script runs as, given the SSH login user and the
    /// target's database superuser.
    pub fn effective_user<'a>(&'a self, login_user: &'a str, dbsu: &'a str) -> &'a str {
        match &self.run_as {
            RunAs::Admin => login_user,
            RunAs::Dbsu => dbsu,
            RunAs::User(u) => u,
        }
    }
}

/// Bash: TERM process group `$g`, wait up to 5 s until no live member is
/// left but this shell and its children (zombies do not count: some init
/// processes reap slowly), then KILL.
const TERM_THEN_KILL: &str = "kill -TERM -- -$g 2>/dev/null || exit 0; i=0; \
    while [ $i -lt 20 ]; do sleep 0.25; \
    ps -e -o pid=,ppid=,pgid=,stat= 2>/dev/null | \
    awk -v me=$$ -v g=$g '$3==g && $1!=me && $2!=me && $4 !~ /^Z/ {n++} END {exit !n}' || exit 0; \
    i=$((i+1)); done; kill -KILL -- -$g 2>/dev/null; exit 0";

/// The script run in the target user's context: report the process group,
/// arm the hang-up watcher, then replace itself by `bash -c '<script>'`
/// (stdin from /dev/null).
///
/// The watcher keeps the channel's stdin (a pipe or socket; the client
/// never sends EOF): when the channel or the whole connection goes away
/// while the command still runs (the console died, the network dropped),
/// it kills the process group (TERM, KILL after 5 s). It ignores TERM so it
/// can escalate, and does nothing when the command has already ended.
fn wrapper(script: &str) -> String {
    let watcher = format!("g=$1; {TERM_THEN_KILL}");
    // fd 3 keeps the real stdin: a background list gets /dev/null as stdin.
    format!(
        "read -r _ _ _ _ g _ </proc/$$/stat 2>/dev/null; \
         printf '\\036pigsty-tui:pgid=%s\\n' \"$g\" >&2; \
         if [ -n \"$g\" ] && {{ [ -p /dev/stdin ] || [ -S /dev/stdin ]; }}; then \
         m=$$; exec 3<&0; ( trap '' TERM INT HUP; cat <&3 >/dev/null 2>&1; \
         kill -0 \"$m\" 2>/dev/null && exec bash -c {} pigsty-tui-watcher \"$g\" \
         ) >/dev/null 2>&1 & fi; \
         exec bash -c {} pigsty-tui </dev/null 3<&-",
        quote(&watcher),
        quote(script)
    )
}

/// A script that kills process group `pgid` (TERM, then KILL after 5 s),
/// run by bash (dash's `kill` takes no negative process group ids).
pub fn kill_script(pgid: u32) -> String {
    format!(
        "exec bash -c {}",
        quote(&format!("g={pgid}; {TERM_THEN_KILL}"))
    )
}

/// Run `inner` (a POSIX `sh` script) as `user`: directly when it is the login
/// user, else through `sudo -n -iu user` with a base64 payload.
fn as_user_line(inner: &str, login_user: &str, user: &str) -> String {
    if user == login_user {
        format!("exec sh -c {}", quote(inner))
    } else {
        let payload = crate::encoding::b64_encode(inner.as_bytes());
        format!(
            "exec sudo -n -iu {} -- bash -c {}",
            quote(user),
            quote(&format!("eval \"$(echo {payload} | base64 -d)\""))
        )
    }
}

/// The exact command line for the SSH `exec` request that runs `command`
/// on a host logged in as `login_user` whose database superuser is `dbsu`.
pub fn remote_command_line(command: &RemoteCommand, login_user: &str, dbsu: &str) -> String {
    let user = command.effective_user(login_user, dbsu);
    as_user_line(&wrapper(&command.script), login_user, user)
}

/// The command line that kills the process group `pgid` of a command that
/// ran as `command.run_as` (see [`remote_command_line`]).
pub fn remote_kill_line(
    command: &RemoteCommand,
    login_user: &str,
    dbsu: &str,
    pgid: u32,
) -> String {
    let user = command.effective_user(login_user, dbsu);
    as_user_line(&kill_script(pgid), login_user, user)
}

/// Strips the process-group marker line from the start of a stderr stream.
#[derive(Debug, Default)]
pub struct MarkerFilter {
    buf: Vec<u8>,
    done: bool,
    pgid: Option<u32>,
}

impl MarkerFilter {
    pub fn new() -> Self {
        Self::default()
    }

    /// The process group reported by the wrapper, once seen.
    pub fn pgid(&self) -> Option<u32> {
        self.pgid
    }

    /// Feed a chunk of stderr; returns the bytes to pass on (possibly none
    /// while the first line is still incomplete).
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<u8> {
        if self.done {
            return chunk.to_vec();
        }
        self.buf.extend_from_slice(chunk);
        let marker = PGID_MARKER.as_bytes();
        let n = self.buf.len().min(marker.len());
        if self.buf[..n] != marker[..n] {
            // Not our marker (e.g. a sudo error): pass everything on.
            self.done = true;
            return std::mem::take(&mut self.buf);
        }
        if let Some(nl) = self.buf.iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&self.buf[marker.len().min(nl)..nl]).into_owned();
            self.pgid = line.trim().parse().ok().filter(|&p: &u32| p > 1);
            let rest = self.buf[nl + 1..].to_vec();
            self.buf.clear();
            self.done = true;
            return rest;
        }
        if self.buf.len() > 128 {
            self.done = true;
            return std::mem::take(&mut self.buf);
        }
        Vec::new()
    }

    /// Whatever is still held back (at the end of the stream).
    pub fn finish(&mut self) -> Vec<u8> {
        self.done = true;
        std::mem::take(&mut self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn quoting() {
        assert_eq!(quote("abc"), "abc");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("$HOME"), "'$HOME'");
        assert_eq!(quote("a'b"), "'a'\\''b'");
        assert_eq!(quote("''"), "''\\'''\\'''");
        assert_eq!(quote("x\ny"), "'x\ny'");
        assert_eq!(join(["echo", "a b", "c"]), "echo 'a b' c");
    }

    /// Quoted words come back unchanged through a real shell.
    #[test]
    fn quoting_round_trips_through_sh() {
        let words = [
            "plain",
            "with space",
            "it's",
            "$HOME $(id) `id` \\ \" ' ; | & > <",
            "new\nline",
            "!bang *glob ?x [a]",
            "",
            "unicode ✓",
        ];
        let line = format!("printf '%s\\0' {}", join(words));
        let out = Command::new("sh").arg("-c").arg(&line).output().unwrap();
        let got: Vec<String> = out
            .stdout
            .split(|&b| b == 0)
            .filter(|_| true)
            .map(|s| String::from_utf8(s.to_vec()).unwrap())
            .collect();
        assert_eq!(&got[..words.len()], &words[..]);
    }

    #[test]
    fn admin_line_runs_script_and_reports_pgid() {
        let me = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let cmd = RemoteCommand::admin("echo \"it's $((1+2))\"; echo err >&2; exit 3");
        let line = remote_command_line(&cmd, &me, "postgres");
        assert!(line.starts_with("exec sh -c "), "{line}");
        let out = Command::new("bash").arg("-c").arg(&line).output().unwrap();
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "it's 3\n");
        let mut f = MarkerFilter::new();
        let mut err = f.feed(&out.stderr);
        err.extend(f.finish());
        assert_eq!(String::from_utf8_lossy(&err), "err\n");
        assert!(
            f.pgid().is_some(),
            "{:?}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn sudo_line_uses_base64_payload() {
        let cmd = RemoteCommand::dbsu("psql -c 'select 1' $PGDATA");
        let line = remote_command_line(&cmd, "dba", "postgres");
        assert!(
            line.starts_with("exec sudo -n -iu postgres -- bash -c 'eval "),
            "{line}"
        );
        // Only base64 characters between `echo` and `|`.
        let payload = line
            .split("echo ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap();
        assert!(
            payload
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c))
        );
        let decoded = crate::encoding::b64_decode(payload).unwrap();
        let inner = String::from_utf8(decoded).unwrap();
        assert!(inner.contains("exec bash -c 'psql -c '\\''select 1'\\'' $PGDATA'"));
        // Same user: no sudo.
        let line = remote_command_line(&cmd, "postgres", "postgres");
        assert!(line.starts_with("exec sh -c "), "{line}");
        // RunAs::User
        let line = remote_command_line(&RemoteCommand::as_user("root", "id"), "dba", "postgres");
        assert!(line.starts_with("exec sudo -n -iu root -- "), "{line}");
    }

    #[test]
    fn kill_line_kills_a_process_group() {
        let me = std::env::var("USER").unwrap_or_else(|_| "root".into());
        // Start a process group running two sleeps, find its pgid from the marker.
        let cmd = RemoteCommand::admin("sleep 30 & sleep 30; wait");
        let line = remote_command_line(&cmd, &me, "postgres");
        use std::os::unix::process::CommandExt;
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(&line)
            .process_group(0)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let mut f = MarkerFilter::new();
        let mut buf = [0u8; 256];
        while f.pgid().is_none() {
            use std::io::Read;
            let n = stderr.read(&mut buf).unwrap();
            assert!(n > 0);
            f.feed(&buf[..n]);
        }
        assert_eq!(f.pgid(), Some(child.id()));
        // Reap the child as soon as it dies (a zombie still counts as a
        // member of its group).
        let waiter = std::thread::spawn(move || child.wait().unwrap());
        let kill = remote_kill_line(&cmd, &me, "postgres", f.pgid().unwrap());
        let t = std::time::Instant::now();
        let st = Command::new("bash").arg("-c").arg(&kill).status().unwrap();
        assert!(st.success());
        assert!(t.elapsed() < std::time::Duration::from_secs(4));
        assert!(!waiter.join().unwrap().success());
    }

    /// Start `script` as the login user with stdin a pipe (like an SSH
    /// channel); returns the child, its stdin and the reported pgid.
    fn start_piped(script: &str) -> (std::process::Child, std::process::ChildStdin, u32) {
        use std::io::Read;
        use std::os::unix::process::CommandExt;
        use std::process::Stdio;
        let me = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let line = remote_command_line(&RemoteCommand::admin(script), &me, "postgres");
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(&line)
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let mut f = MarkerFilter::new();
        let mut buf = [0u8; 256];
        while f.pgid().is_none() {
            let n = stderr.read(&mut buf).unwrap();
            assert!(n > 0, "no marker");
            f.feed(&buf[..n]);
        }
        (child, stdin, f.pgid().unwrap())
    }

    fn group_alive(pgid: u32) -> bool {
        Command::new("bash")
            .arg("-c")
            .arg(format!("kill -0 -- -{pgid} 2>/dev/null"))
            .status()
            .unwrap()
            .success()
    }

    #[test]
    fn a_closed_channel_kills_the_running_command() {
        let (mut child, stdin, pgid) = start_piped("sleep 30 & sleep 30; wait");
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(group_alive(pgid), "the command runs while stdin stays open");
        let t = std::time::Instant::now();
        drop(stdin); // the channel closes
        let st = child.wait().unwrap();
        assert!(!st.success());
        assert!(t.elapsed() < std::time::Duration::from_secs(4));
        // The watcher and both sleeps are gone too.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while group_alive(pgid) {
            assert!(std::time::Instant::now() < until, "group {pgid} survived");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    #[test]
    fn a_finished_command_leaves_its_background_jobs_alone() {
        // `setsid` detaches on purpose (like pg_ctl start); a plain
        // background job stays in the group but the command has ended.
        let (mut child, stdin, pgid) =
            start_piped("sleep 30 >/dev/null 2>&1 & echo $! > /dev/null; exit 0");
        let st = child.wait().unwrap(); // reaped, stdin still open
        assert!(st.success());
        drop(stdin);
        std::thread::sleep(std::time::Duration::from_millis(500));
        assert!(
            group_alive(pgid),
            "background job of a finished command was killed"
        );
        let _ = Command::new("bash")
            .arg("-c")
            .arg(format!("kill -KILL -- -{pgid}"))
            .status();
    }

    #[test]
    fn marker_filter_handles_split_and_foreign_lines() {
        let mut f = MarkerFilter::new();
        assert!(f.feed(b"\x1epigsty-tui:").is_empty());
        assert!(f.feed(b"pgid=42").is_empty());
        assert_eq!(f.feed(b"\nhello"), b"hello");
        assert_eq!(f.pgid(), Some(42));
        assert_eq!(f.feed(b" world"), b" world");

        let mut f = MarkerFilter::new();
        assert_eq!(
            f.feed(b"sudo: a password is required\n"),
            b"sudo: a password is required\n"
        );
        assert_eq!(f.pgid(), None);

        let mut f = MarkerFilter::new();
        assert!(f.feed(b"\x1e").is_empty());
        assert_eq!(f.finish(), b"\x1e");
    }

    #[test]
    fn debug_hides_script_when_display_is_set() {
        let c =
            RemoteCommand::dbsu("psql 'password=s3cret'").with_display("psql (credentials hidden)");
        assert!(!format!("{c:?}").contains("s3cret"));
        assert_eq!(c.shown(), "psql (credentials hidden)");
    }
}
