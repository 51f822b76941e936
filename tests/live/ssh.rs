//! Live tests of the SSH layer (`pigsty_tui::tasks::ssh`) against the
//! sandbox's sshd on every node: identity as admin and as the database
//! superuser, host key checks (unknown, accepted, changed), authentication
//! errors, connection reuse.

use std::path::{Path, PathBuf};
use std::process::Command;

use pigsty_tui::model::Deployment;
use pigsty_tui::tasks::RemoteCommand;
use pigsty_tui::tasks::ssh::{HostKeyPolicy, SshConfig, SshErrorKind, SshPool, Target};

use pigsty_tui::app::AppState;
use pigsty_tui::app::prompt::PromptKind;

use crate::harness::{Member, Sandbox, sandbox};

/// The sandbox inventory, loaded by the real loader.
pub fn deployment(sb: &Sandbox) -> Deployment {
    pigsty_tui::inventory::load(&sb.inventory)
        .unwrap_or_else(|e| panic!("cannot load {}: {e}", sb.inventory.display()))
}

/// The target of a sandbox member, as the inventory declares it
/// (ansible_host / ansible_user / ansible_ssh_private_key_file, pg_dbsu),
/// on the port the sandbox's sshd really uses.
pub fn target(sb: &Sandbox, d: &Deployment, m: &Member) -> Target {
    let i = d
        .instance(m.instance)
        .unwrap_or_else(|| panic!("{} not in the inventory", m.instance));
    Target::from_instance(i).with_port(sb.ssh_port)
}

/// SSH settings isolated from the machine's own: an empty home (no
/// ~/.ssh/config, no default keys), no agent, the sandbox known_hosts.
pub fn config(sb: &Sandbox, home: &Path) -> SshConfig {
    let mut c = SshConfig::bare(home.to_path_buf());
    c.use_agent = false;
    c.known_hosts = Some(vec![sb.known_hosts.clone()]);
    c
}

fn keygen(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&p)
        .status()
        .expect("ssh-keygen");
    assert!(st.success());
    p
}

/// `[ip]:port` or `ip` as in known_hosts.
fn kh_name(ip: &str, port: u16) -> String {
    if port == 22 {
        ip.to_string()
    } else {
        format!("[{ip}]:{port}")
    }
}

#[tokio::test]
async fn runs_as_admin_and_as_dbsu_through_sudo() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let home = tempfile::tempdir().unwrap();
    let d = deployment(sb);
    let pool = SshPool::new(config(sb, home.path()));
    for m in &sb.members {
        let t = target(sb, &d, m);
        assert_eq!(t.ssh.user.as_deref(), Some(sb.admin_user.as_str()));
        assert_eq!(t.dbsu, sb.dbsu);
        let s = pool.session(&t).await.unwrap_or_else(|e| panic!("{e}"));
        let o = s.output(&RemoteCommand::admin("id -un")).await.unwrap();
        assert!(o.status.success(), "{o:?}");
        assert_eq!(o.stdout_str().trim(), "dba");
        assert_eq!(o.stderr_str(), "", "marker line stripped");

        let o = s
            .output(&RemoteCommand::dbsu(
                "whoami; echo \"$HOME\"; printf '%s\\n' \"it's\" $((6*7))",
            ))
            .await
            .unwrap();
        assert!(o.status.success(), "{o:?}");
        let out = o.stdout_str();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "postgres", "{out}");
        assert!(lines[1].starts_with('/'), "login environment: {out}");
        assert_eq!(&lines[2..], ["it's", "42"], "{out}");

        // Exit codes and stderr come back as they are.
        let o = s
            .output(&RemoteCommand::dbsu("echo oops >&2; exit 7"))
            .await
            .unwrap();
        assert_eq!(o.status.code(), Some(7));
        assert_eq!(o.stderr_str(), "oops\n");

        // Root through sudo too (RunAs::User).
        let o = s
            .output(&RemoteCommand::as_user("root", "id -u"))
            .await
            .unwrap();
        assert_eq!(o.stdout_str().trim(), "0");
    }
    // One connection per node, reused by every command.
    assert_eq!(pool.live_connections(), sb.members.len());
}

#[tokio::test]
async fn unknown_host_key_is_refused_headless_and_recorded_with_accept_new() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let home = tempfile::tempdir().unwrap();
    let d = deployment(sb);
    let m = sb.member("node-1");
    let t = target(sb, &d, m);
    let kh = home.path().join("known_hosts");
    std::fs::write(&kh, "").unwrap();

    let mut c = config(sb, home.path());
    c.known_hosts = Some(vec![kh.clone()]);
    let err = SshPool::new(c.clone())
        .session(&t)
        .await
        .expect_err("unknown host key must be refused");
    let msg = err.to_string();
    assert!(
        matches!(
            *err.kind,
            SshErrorKind::HostKeyUnknown {
                rejected: false,
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.starts_with(&format!(
            "ssh {}:{}: unknown host key ssh-ed25519 SHA256:",
            m.ip, sb.ssh_port
        )),
        "{msg}"
    );
    assert!(msg.contains(&kh.display().to_string()), "{msg}");
    assert_eq!(
        std::fs::read_to_string(&kh).unwrap(),
        "",
        "nothing recorded"
    );

    // accept_new_host_keys: accepted and appended, then known.
    c.host_key_policy = HostKeyPolicy::AcceptNew;
    let pool = SshPool::new(c.clone());
    let o = pool
        .output(&t, &RemoteCommand::admin("true"))
        .await
        .unwrap();
    assert!(o.status.success());
    let text = std::fs::read_to_string(&kh).unwrap();
    let sandbox_kh = std::fs::read_to_string(&sb.known_hosts).unwrap();
    let line = text.trim();
    assert!(
        line.starts_with(&format!("{} ssh-ed25519 ", kh_name(m.ip, sb.ssh_port))),
        "{text}"
    );
    assert!(
        sandbox_kh.lines().any(|l| l.trim() == line),
        "same key as the sandbox's known_hosts"
    );
    c.host_key_policy = HostKeyPolicy::Strict;
    let o = SshPool::new(c)
        .output(&t, &RemoteCommand::admin("true"))
        .await
        .unwrap();
    assert!(o.status.success());
}

#[tokio::test]
async fn hashed_known_hosts_entries_are_honoured() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let home = tempfile::tempdir().unwrap();
    let kh = home.path().join("known_hosts");
    std::fs::copy(&sb.known_hosts, &kh).unwrap();
    let st = Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&kh)
        .output()
        .unwrap();
    assert!(st.status.success(), "{st:?}");
    let text = std::fs::read_to_string(&kh).unwrap();
    assert!(text.lines().all(|l| l.starts_with("|1|")), "{text}");
    let d = deployment(sb);
    let mut c = config(sb, home.path());
    c.known_hosts = Some(vec![kh]);
    let pool = SshPool::new(c);
    for m in &sb.members {
        let o = pool
            .output(&target(sb, &d, m), &RemoteCommand::admin("true"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(o.status.success());
    }
}

#[tokio::test]
async fn changed_host_key_is_refused_loudly() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let home = tempfile::tempdir().unwrap();
    let d = deployment(sb);
    let m = sb.member("node-2");
    let t = target(sb, &d, m);
    // known_hosts claims another ed25519 key for the node.
    let other = keygen(home.path(), "other");
    let other_pub = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let other_pub: Vec<&str> = other_pub.split_whitespace().collect();
    let kh = home.path().join("known_hosts");
    std::fs::write(
        &kh,
        format!(
            "# a comment\n{} {} {}\n",
            kh_name(m.ip, sb.ssh_port),
            other_pub[0],
            other_pub[1]
        ),
    )
    .unwrap();
    let fp_other = String::from_utf8(
        Command::new("ssh-keygen")
            .arg("-lf")
            .arg(other.with_extension("pub"))
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .split_whitespace()
    .nth(1)
    .unwrap()
    .to_string();

    let mut c = config(sb, home.path());
    c.known_hosts = Some(vec![kh.clone()]);
    // Even accept-new refuses a changed key.
    c.host_key_policy = HostKeyPolicy::AcceptNew;
    let err = SshPool::new(c)
        .session(&t)
        .await
        .expect_err("changed key must be refused");
    let msg = err.to_string();
    let SshErrorKind::HostKeyChanged {
        known,
        sent,
        path,
        line,
    } = &*err.kind
    else {
        panic!("{msg}");
    };
    assert_eq!(known, &fp_other);
    assert_ne!(sent, known);
    assert_eq!(path, &kh);
    assert_eq!(*line, 2);
    assert!(
        msg.starts_with(&format!(
            "ssh {}:{}: HOST KEY CHANGED! {}:2 records {fp_other}, the server sent {sent} — refusing to connect",
            m.ip,
            sb.ssh_port,
            kh.display()
        )),
        "{msg}"
    );
    // Nothing was appended.
    assert_eq!(std::fs::read_to_string(&kh).unwrap().lines().count(), 2);
}

#[tokio::test]
async fn wrong_client_key_gives_a_clear_auth_error() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let home = tempfile::tempdir().unwrap();
    let wrong = keygen(home.path(), "wrong_key");
    let d = deployment(sb);
    let m = sb.member("node-1");
    let t = target(sb, &d, m).with_key_file(wrong.display().to_string());
    let err = SshPool::new(config(sb, home.path()))
        .session(&t)
        .await
        .expect_err("wrong key must be refused");
    assert!(
        matches!(*err.kind, SshErrorKind::AuthRefused { .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "ssh dba@{}:{}: authentication refused (tried ~/wrong_key)",
            m.ip, sb.ssh_port
        )
    );

    // A missing key file is named as such.
    let t = target(sb, &d, m).with_key_file("/nonexistent/key");
    let err = SshPool::new(config(sb, home.path()))
        .session(&t)
        .await
        .expect_err("no key");
    assert!(
        err.to_string()
            .ends_with("authentication refused (tried /nonexistent/key (missing))"),
        "{err}"
    );
}

#[tokio::test]
async fn encrypted_key_without_prompt_says_so() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let home = tempfile::tempdir().unwrap();
    let enc = home.path().join("enc_key");
    std::fs::copy(&sb.ssh_key, &enc).unwrap();
    let st = Command::new("ssh-keygen")
        .args(["-q", "-p", "-N", "s3cret", "-P", "", "-f"])
        .arg(&enc)
        .output()
        .unwrap();
    assert!(st.status.success(), "{st:?}");
    let d = deployment(sb);
    let m = sb.member("meta");
    let t = target(sb, &d, m).with_key_file(enc.display().to_string());
    let err = SshPool::new(config(sb, home.path()))
        .session(&t)
        .await
        .expect_err("no prompt, no key");
    let msg = err.to_string();
    assert!(msg.contains("authentication refused"), "{msg}");
    assert!(msg.contains("~/enc_key (encrypted"), "{msg}");

    // With a prompter answering the passphrase, it works.
    struct Pass;
    impl pigsty_tui::tasks::ssh::Prompter for Pass {
        fn confirm_host_key(
            &self,
            _: pigsty_tui::tasks::ssh::HostKeyQuestion,
        ) -> futures::future::BoxFuture<'static, pigsty_tui::tasks::ssh::HostKeyAnswer> {
            Box::pin(async { pigsty_tui::tasks::ssh::HostKeyAnswer::Reject })
        }
        fn passphrase(
            &self,
            _: pigsty_tui::tasks::ssh::PassphraseQuestion,
        ) -> futures::future::BoxFuture<'static, Option<pigsty_tui::tasks::ssh::Passphrase>>
        {
            Box::pin(async { Some(pigsty_tui::tasks::ssh::Passphrase::new("s3cret".into())) })
        }
    }
    let mut c = config(sb, home.path());
    c.prompter = Some(std::sync::Arc::new(Pass));
    let o = SshPool::new(c)
        .output(&t, &RemoteCommand::admin("id -un"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.stdout_str().trim(), "dba");
}

#[tokio::test]
async fn connection_refused_names_user_host_and_port() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let home = tempfile::tempdir().unwrap();
    let d = deployment(sb);
    let m = sb.member("node-3");
    // Nothing listens on port 1.
    let t = target(sb, &d, m).with_port(1);
    let err = SshPool::new(config(sb, home.path()))
        .session(&t)
        .await
        .expect_err("refused");
    assert_eq!(
        err.to_string(),
        format!("ssh dba@{}:1: connection refused", m.ip)
    );
}

#[tokio::test]
async fn proxy_jump_through_another_node() {
    let sb = sandbox();
    let _s = sb.shared().await;
    let home = tempfile::tempdir().unwrap();
    let d = deployment(sb);
    let jump = sb.member("meta");
    let m = sb.member("node-3");
    let mut c = config(sb, home.path());
    c.openssh = pigsty_tui::tasks::ssh::OpenSshConfig::parse_str(
        &format!(
            "Host {}\n  ProxyJump dba@{}:{}\nHost *\n  IdentityFile {}\n",
            m.ip,
            jump.ip,
            sb.ssh_port,
            sb.ssh_key.display()
        ),
        home.path(),
    );
    let pool = SshPool::new(c);
    let s = pool
        .session(&target(sb, &d, m))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s.endpoint().to_string(),
        format!(
            "dba@{}:{} via dba@{}:{}",
            m.ip, sb.ssh_port, jump.ip, sb.ssh_port
        )
    );
    // The node's sshd sees the connection coming from the jump host's side.
    let o = s
        .output(&RemoteCommand::admin(
            "echo \"$PIGSTY_NODE $SSH_CONNECTION\"",
        ))
        .await
        .unwrap();
    let out = o.stdout_str();
    assert!(out.starts_with(&format!("{} ", m.node)), "{out}");
    assert!(
        out.trim().ends_with(&format!("{} {}", m.ip, sb.ssh_port)),
        "{out}"
    );
    assert_eq!(pool.live_connections(), 2, "jump connection pooled too");
}

/// An unknown key is shown to the operator (the TUI's prompt) with its
/// fingerprint; the answer decides.
#[tokio::test]
async fn unknown_host_key_is_asked_through_the_prompter() {
    use pigsty_tui::tasks::ssh::{ChannelPrompter, HostKeyAnswer, PromptRequest};
    let sb = sandbox();
    let _s = sb.shared().await;
    let home = tempfile::tempdir().unwrap();
    let d = deployment(sb);
    let m = sb.member("node-3");
    let t = target(sb, &d, m);
    let kh = home.path().join("known_hosts");
    std::fs::write(&kh, "").unwrap();
    let expected_fp = {
        let out = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(&sb.known_hosts)
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .find(|l| l.contains(&kh_name(m.ip, sb.ssh_port)))
            .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
            .unwrap()
    };

    for (answer, ok, recorded) in [
        (HostKeyAnswer::Reject, false, false),
        (HostKeyAnswer::AcceptOnce, true, false),
        (HostKeyAnswer::Accept, true, true),
    ] {
        let (prompter, mut questions) = ChannelPrompter::new();
        let mut c = config(sb, home.path());
        c.known_hosts = Some(vec![kh.clone()]);
        c.host_key_policy = HostKeyPolicy::Ask;
        c.prompter = Some(std::sync::Arc::new(prompter));
        let fp = expected_fp.clone();
        let ui = tokio::spawn(async move {
            let Some(PromptRequest::HostKey { question, reply }) = questions.recv().await else {
                panic!("expected a host key question");
            };
            assert_eq!(question.fingerprint, fp);
            assert_eq!(question.key_type, "ssh-ed25519");
            reply.send(answer).unwrap();
        });
        let r = SshPool::new(c)
            .output(&t, &RemoteCommand::admin("true"))
            .await;
        ui.await.unwrap();
        match r {
            Ok(o) => assert!(ok && o.status.success(), "{answer:?}: {o:?}"),
            Err(e) => {
                assert!(!ok, "{answer:?}: {e}");
                assert!(e.to_string().contains("rejected by the operator"), "{e}");
            }
        }
        let text = std::fs::read_to_string(&kh).unwrap();
        assert_eq!(!text.is_empty(), recorded, "{answer:?}: {text}");
    }
}

/// If the console dies (connection gone, nobody cancels), the commands it
/// was running are killed on the hosts too (the wrapper's hang-up watcher).
#[tokio::test]
async fn a_dropped_connection_kills_running_commands() {
    use pigsty_tui::tasks::exec::OutputSink;
    let sb = sandbox();
    let _s = sb.shared().await;
    let home = tempfile::tempdir().unwrap();
    let d = deployment(sb);
    let m = sb.member("node-1");
    let t = target(sb, &d, m);
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        % 1_000_000_000;
    let marker = format!("{}{n}", std::process::id());
    let check = SshPool::new(config(sb, home.path()));
    let count = |check: SshPool, t: Target, marker: String| async move {
        let o = check
            .output(
                &t,
                &RemoteCommand::admin(format!("pgrep -f '[s]leep 1000\\.{marker}' | wc -l")),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        o.stdout_str().trim().parse::<usize>().unwrap()
    };
    for cmd in [
        RemoteCommand::admin(format!("sleep 1000.{marker}1; true")),
        RemoteCommand::dbsu(format!("sleep 1000.{marker}2; true")),
    ] {
        let pool = SshPool::new(config(sb, home.path()));
        let t2 = t.clone();
        let running = tokio::spawn(async move {
            let s = pool.session(&t2).await.unwrap();
            let _ = s
                .exec(
                    &cmd,
                    &OutputSink::discard(),
                    &tokio_util::sync::CancellationToken::new(),
                )
                .await;
        });
        let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while count(check.clone(), t.clone(), marker.clone()).await == 0 {
            assert!(std::time::Instant::now() < until, "the sleep never started");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        // The console "dies": the task and its connection are dropped.
        running.abort();
        let _ = running.await;
        let until = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let left = count(check.clone(), t.clone(), marker.clone()).await;
            if left == 0 {
                break;
            }
            assert!(
                std::time::Instant::now() < until,
                "{left} processes survived the connection"
            );
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
    }
}

// ---------------------------------------------------------------- console prompts

/// The console's side of the SSH questions: each request of the pool's
/// [`ChannelPrompter`] goes into the console state ([`AppState::prompts`])
/// and is answered with the key presses `answer` returns, routed like the
/// console routes them. Returns every question seen, in order, once the
/// pool (the channel's sender) is gone.
async fn console_answers(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<pigsty_tui::tasks::ssh::PromptRequest>,
    d: &Deployment,
    state_dir: &Path,
    mut answer: impl FnMut(&PromptKind) -> Vec<crossterm::event::KeyCode>,
) -> Vec<PromptKind> {
    use crossterm::event::{KeyEvent, KeyModifiers};
    let mut app = AppState::new(d);
    app.state_dir = Some(state_dir.to_path_buf());
    let snapshot = pigsty_tui::snapshot::Snapshot::empty();
    let mut seen = Vec::new();
    while let Some(request) = rx.recv().await {
        app.prompts.push(request);
        while let Some(p) = app.prompts.current() {
            let kind = p.kind.clone();
            let waiting = app.prompts.len();
            for code in answer(&kind) {
                pigsty_tui::app::handle_key(
                    &mut app,
                    d,
                    &snapshot,
                    KeyEvent::new(code, KeyModifiers::NONE),
                );
            }
            assert_eq!(app.prompts.len(), waiting - 1, "{kind:?} not answered");
            seen.push(kind);
        }
    }
    seen
}

/// Keys typing `text` then Enter.
fn typed(text: &str) -> Vec<crossterm::event::KeyCode> {
    use crossterm::event::KeyCode;
    text.chars()
        .map(KeyCode::Char)
        .chain([KeyCode::Enter])
        .collect()
}

/// `SHA256:…` of the node's ed25519 host key, as `ssh-keyscan` and
/// `ssh-keygen -lf` (OpenSSH itself) see it.
fn scanned_fingerprint(ip: &str, port: u16) -> String {
    let scan = Command::new("ssh-keyscan")
        .args(["-t", "ed25519", "-p", &port.to_string(), ip])
        .output()
        .expect("ssh-keyscan");
    assert!(scan.status.success(), "{scan:?}");
    let mut keygen = Command::new("ssh-keygen")
        .args(["-lf", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("ssh-keygen");
    use std::io::Write as _;
    keygen
        .stdin
        .take()
        .unwrap()
        .write_all(&scan.stdout)
        .unwrap();
    let out = keygen.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let fp = text
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no fingerprint in {text:?} (scan: {scan:?})"))
        .to_string();
    assert!(fp.starts_with("SHA256:"), "{text}");
    fp
}

/// OpenSSH's own client, strict, with only `known_hosts`: does it connect?
fn openssh_accepts(sb: &Sandbox, ip: &str, known_hosts: &Path) -> std::process::Output {
    Command::new("ssh")
        .args(["-F", "/dev/null", "-o", "BatchMode=yes"])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
        .args([
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "IdentityAgent=none",
            "-o",
            "ConnectTimeout=10",
            "-i",
        ])
        .arg(&sb.ssh_key)
        .args(["-p", &sb.ssh_port.to_string()])
        .arg(format!("{}@{ip}", sb.admin_user))
        .arg("true")
        .output()
        .expect("ssh")
}

/// A console-style pool (asks through a channel) with an empty known_hosts:
/// three tasks on the same unknown host raise one question, with the key's
/// real fingerprint; reject fails all three with a clear message, accept
/// and save lets them run and writes a line OpenSSH itself then accepts.
#[tokio::test(flavor = "multi_thread")]
async fn console_asks_once_about_an_unknown_host_key() {
    use crossterm::event::KeyCode;
    use pigsty_tui::tasks::ssh::ChannelPrompter;
    use pigsty_tui::tasks::{Pipeline, Step, TaskRunner, TaskStatus};
    let sb = sandbox();
    let _s = sb.shared().await;
    let home = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let d = deployment(sb);
    let kh = home.path().join("known_hosts");
    std::fs::write(&kh, "").unwrap();

    for (member, key, ok) in [
        ("node-1", KeyCode::Char('r'), false),
        ("node-2", KeyCode::Char('a'), true),
    ] {
        let m = sb.member(member);
        let expected_fp = scanned_fingerprint(m.ip, sb.ssh_port);
        let (prompter, questions) = ChannelPrompter::new();
        let mut c = config(sb, home.path());
        c.known_hosts = Some(vec![kh.clone()]);
        c.host_key_policy = HostKeyPolicy::Ask;
        c.prompter = Some(std::sync::Arc::new(prompter));
        let runner = TaskRunner::ssh(SshPool::new(c), state.path());
        let t = target(sb, &d, m);
        let tasks = async move {
            let handles: Vec<_> = (0..3)
                .map(|i| {
                    let p = Pipeline::new("inspect", format!("probe {i}")).step(Step::command(
                        "whoami",
                        t.clone(),
                        RemoteCommand::admin("id -un"),
                    ));
                    runner.start(p).unwrap().0
                })
                .collect();
            let mut out = Vec::new();
            for h in handles {
                let status = tokio::time::timeout(std::time::Duration::from_secs(60), h.wait())
                    .await
                    .expect("the task ends once answered");
                let s = h.state();
                let host = &s.steps[0].hosts[0];
                out.push((status, host.message.clone(), s.output.clone()));
            }
            drop(runner); // the pool and its prompter go: the console loop ends
            out
        };
        let (seen, results) = tokio::join!(
            console_answers(questions, &d, state.path(), |_| vec![key]),
            tasks
        );
        assert_eq!(seen.len(), 1, "one question for three tasks: {seen:?}");
        let PromptKind::HostKey(q) = &seen[0] else {
            panic!("{seen:?}");
        };
        assert_eq!(
            q.fingerprint, expected_fp,
            "same as ssh-keyscan | ssh-keygen -lf"
        );
        assert_eq!(q.key_type, "ssh-ed25519");
        assert_eq!((q.host.as_str(), q.port), (m.ip, sb.ssh_port));
        assert_eq!(q.known_hosts.as_deref(), Some(kh.as_path()));
        for (status, message, output) in &results {
            if ok {
                assert_eq!(*status, TaskStatus::Succeeded, "{message:?}");
                let text: Vec<String> = output
                    .values()
                    .flat_map(|sb| sb.lines().map(|l| l.text.clone()).collect::<Vec<_>>())
                    .collect();
                assert_eq!(text, ["dba"]);
            } else {
                assert_eq!(*status, TaskStatus::Failed);
                let msg = message.as_deref().unwrap_or_default();
                assert_eq!(
                    msg,
                    format!(
                        "ssh {}:{}: unknown host key ssh-ed25519 {expected_fp} (not in {}); rejected by the operator",
                        m.ip,
                        sb.ssh_port,
                        kh.display()
                    )
                );
            }
        }
        // The decision is audited.
        let audit = pigsty_tui::tasks::audit::AuditLog::new(state.path())
            .read_all()
            .unwrap();
        let rec = audit
            .iter()
            .rev()
            .find(|r| r.event == "host_key")
            .expect("host key decision audited");
        assert_eq!(rec.target, format!("{}:{}", m.ip, sb.ssh_port));
        assert_eq!(rec.status, if ok { "accepted" } else { "rejected" });
        assert_eq!(rec.steps[0].name, format!("ssh-ed25519 {expected_fp}"));
    }

    // Only the accepted key was written, as OpenSSH writes it, and OpenSSH
    // (strict, only that file) accepts it; it refuses the rejected host.
    let text = std::fs::read_to_string(&kh).unwrap();
    let node2 = sb.member("node-2");
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with(&format!("{} ssh-ed25519 ", kh_name(node2.ip, sb.ssh_port))),
        "{text}"
    );
    let o = openssh_accepts(sb, node2.ip, &kh);
    assert!(
        o.status.success(),
        "OpenSSH refused the recorded line: {o:?}"
    );
    let o = openssh_accepts(sb, sb.member("node-1").ip, &kh);
    assert!(
        !o.status.success(),
        "node-1 was rejected, OpenSSH must refuse it"
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Host key verification failed"),
        "{o:?}"
    );
}

/// A passphrase-protected copy of the sandbox key, no agent: the console
/// asks (a wrong passphrase is asked again, attempt 2), then authenticates;
/// two connections with the same key share the questions. Three wrong
/// passphrases give a clear error.
#[tokio::test(flavor = "multi_thread")]
async fn console_asks_for_a_key_passphrase() {
    use crossterm::event::KeyCode;
    use pigsty_tui::tasks::ssh::ChannelPrompter;
    let sb = sandbox();
    let _s = sb.shared().await;
    let home = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let enc = home.path().join("enc_key");
    std::fs::copy(&sb.ssh_key, &enc).unwrap();
    let st = Command::new("ssh-keygen")
        .args(["-q", "-p", "-N", "s3cret passphrase", "-P", "", "-f"])
        .arg(&enc)
        .output()
        .unwrap();
    assert!(st.status.success(), "{st:?}");
    let d = deployment(sb);
    let targets: Vec<Target> = ["meta", "node-1"]
        .iter()
        .map(|n| target(sb, &d, sb.member(n)).with_key_file(enc.display().to_string()))
        .collect();
    let console_pool = || {
        let (prompter, questions) = ChannelPrompter::new();
        let mut c = config(sb, home.path());
        // The agent is on, as in the console, but configured away (as an
        // operator without one): nothing to try before the key file.
        c.use_agent = true;
        c.openssh = pigsty_tui::tasks::ssh::OpenSshConfig::parse_str(
            "Host *\n  IdentityAgent none\n",
            home.path(),
        );
        c.host_key_policy = HostKeyPolicy::Ask;
        c.prompter = Some(std::sync::Arc::new(prompter));
        assert_eq!(c.resolve(&targets[0]).unwrap().agent, None);
        (SshPool::new(c), questions)
    };

    let (pool, questions) = console_pool();
    let (t0, t1) = (targets[0].clone(), targets[1].clone());
    let run = async move {
        let cmd = RemoteCommand::admin("id -un");
        tokio::join!(pool.output(&t0, &cmd), pool.output(&t1, &cmd))
    };
    let (seen, (a, b)) = tokio::join!(
        console_answers(questions, &d, state.path(), |k| match k {
            PromptKind::Passphrase(q) if q.attempt == 1 => typed("wrong"),
            _ => typed("s3cret passphrase"),
        }),
        run
    );
    for r in [a, b] {
        let o = r.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.stdout_str().trim(), "dba");
    }
    let attempts: Vec<(u32, PathBuf)> = seen
        .iter()
        .map(|k| match k {
            PromptKind::Passphrase(q) => (q.attempt, q.key_file.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(attempts, [(1, enc.clone()), (2, enc.clone())]);

    // Wrong three times: a clear error, and the task does not hang.
    let node2 = target(sb, &d, sb.member("node-2")).with_key_file(enc.display().to_string());
    let (pool, questions) = console_pool();
    let t = node2.clone();
    let run = async move { pool.session(&t).await.map(|_| ()) };
    let (seen, r) = tokio::join!(
        console_answers(questions, &d, state.path(), |_| typed("nope")),
        run
    );
    assert_eq!(seen.len(), 3, "{seen:?}");
    let err = r.expect_err("three wrong passphrases");
    assert_eq!(
        err.to_string(),
        format!(
            "ssh dba@{}:{}: authentication refused (tried ~/enc_key (encrypted, wrong passphrase 3 times))",
            sb.member("node-2").ip,
            sb.ssh_port
        )
    );
    // Esc skips the key: refused at once, saying so.
    let (pool, questions) = console_pool();
    let t = node2.clone();
    let run = async move { pool.session(&t).await.map(|_| ()) };
    let (seen, r) = tokio::join!(
        console_answers(questions, &d, state.path(), |_| vec![KeyCode::Esc]),
        run
    );
    assert_eq!(seen.len(), 1);
    assert!(
        r.expect_err("no passphrase")
            .to_string()
            .ends_with("(tried ~/enc_key (encrypted, passphrase not given))")
    );
}

/// A changed host key in the console: no question, a loud alert naming the
/// file:line and both fingerprints, and the connection refused.
#[tokio::test(flavor = "multi_thread")]
async fn console_alerts_on_a_changed_host_key() {
    use crossterm::event::KeyCode;
    use pigsty_tui::tasks::ssh::ChannelPrompter;
    let sb = sandbox();
    let _s = sb.shared().await;
    let home = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let d = deployment(sb);
    let m = sb.member("node-3");
    let other = keygen(home.path(), "other");
    let other_pub = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let other_pub: Vec<&str> = other_pub.split_whitespace().collect();
    let kh = home.path().join("known_hosts");
    std::fs::write(
        &kh,
        format!(
            "{} {} {}\n",
            kh_name(m.ip, sb.ssh_port),
            other_pub[0],
            other_pub[1]
        ),
    )
    .unwrap();
    let real_fp = scanned_fingerprint(m.ip, sb.ssh_port);
    let (prompter, questions) = ChannelPrompter::new();
    let mut c = config(sb, home.path());
    c.known_hosts = Some(vec![kh.clone()]);
    c.host_key_policy = HostKeyPolicy::Ask;
    c.prompter = Some(std::sync::Arc::new(prompter));
    let pool = SshPool::new(c);
    let t = target(sb, &d, m);
    let run = async move { pool.session(&t).await.map(|_| ()) };
    let (seen, r) = tokio::join!(
        console_answers(questions, &d, state.path(), |_| vec![KeyCode::Enter]),
        run
    );
    let err = r.expect_err("changed key refused");
    assert!(
        matches!(*err.kind, SshErrorKind::HostKeyChanged { .. }),
        "{err}"
    );
    assert_eq!(seen.len(), 1, "{seen:?}");
    let PromptKind::Alert(msg) = &seen[0] else {
        panic!("no question about a changed key: {seen:?}");
    };
    assert_eq!(msg, &err.to_string());
    assert!(msg.contains("HOST KEY CHANGED"), "{msg}");
    assert!(msg.contains(&format!("{}:1", kh.display())), "{msg}");
    assert!(msg.contains(&real_fp), "{msg}");
    assert_eq!(std::fs::read_to_string(&kh).unwrap().lines().count(), 1);
}

/// A task cancelled while its host key question is on screen withdraws
/// the question (the handshake runs in russh's own task, which would
/// otherwise keep waiting), and nothing is recorded.
#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_connection_withdraws_its_question() {
    use pigsty_tui::app::prompt::Prompts;
    use pigsty_tui::tasks::ssh::ChannelPrompter;
    let sb = sandbox();
    let _s = sb.shared().await;
    let home = tempfile::tempdir().unwrap();
    let d = deployment(sb);
    let kh = home.path().join("known_hosts");
    std::fs::write(&kh, "").unwrap();
    let (prompter, mut questions) = ChannelPrompter::new();
    let mut c = config(sb, home.path());
    c.known_hosts = Some(vec![kh.clone()]);
    c.host_key_policy = HostKeyPolicy::Ask;
    c.prompter = Some(std::sync::Arc::new(prompter));
    // The console's pool lives on; only the task goes.
    let pool = SshPool::new(c);
    let p2 = pool.clone();
    let t = target(sb, &d, sb.member("node-1"));
    let task = tokio::spawn(async move { p2.session(&t).await.map(|_| ()) });
    let request = tokio::time::timeout(std::time::Duration::from_secs(20), questions.recv())
        .await
        .expect("the question arrives")
        .expect("the prompter is alive");
    let mut prompts = Prompts::default();
    prompts.push(request);
    assert!(!prompts.prune(), "someone waits for the answer");
    task.abort();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !prompts.prune() {
        assert!(
            std::time::Instant::now() < until,
            "the question of a cancelled task is still waiting"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(prompts.is_empty());
    assert_eq!(std::fs::read_to_string(&kh).unwrap(), "");
    drop(pool);
}
