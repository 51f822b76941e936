//! Live tests of the SSH layer (`pigsty_tui::tasks::ssh`) against the
//! sandbox's sshd on every node: identity as admin and as the database
//! superuser, host key checks (unknown, accepted, changed), authentication
//! errors, connection reuse.

use std::path::{Path, PathBuf};
use std::process::Command;

use pigsty_tui::model::Deployment;
use pigsty_tui::tasks::RemoteCommand;
use pigsty_tui::tasks::ssh::{HostKeyPolicy, SshConfig, SshErrorKind, SshPool, Target};

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
