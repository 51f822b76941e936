//! The connection pool: connecting (directly or through a jump host),
//! host key verification, authentication.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use russh::MethodKind;
use russh::client::{self, Handle};
use russh::keys::agent::client::AgentClient;
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use tokio::time::Instant;

use super::known_hosts::{self, HostKeyStatus, fingerprint};
use super::{
    CommandOutput, Endpoint, HostKeyAnswer, HostKeyPolicy, HostKeyQuestion, PassphraseQuestion,
    Session, SshConfig, SshError, SshErrorKind, Target,
};
use crate::tasks::shell::RemoteCommand;

// ---------------------------------------------------------------------------
// Time limit that stops while the operator is being asked something

struct Deadline {
    state: Mutex<DeadlineState>,
    total: Duration,
}

struct DeadlineState {
    at: Instant,
    paused: usize,
    since: Option<Instant>,
}

struct PauseGuard<'a>(&'a Deadline);

impl Drop for PauseGuard<'_> {
    fn drop(&mut self) {
        let mut s = self.0.state.lock().unwrap();
        s.paused -= 1;
        if s.paused == 0
            && let Some(since) = s.since.take()
        {
            s.at += since.elapsed();
        }
    }
}

impl Deadline {
    fn new(total: Duration) -> Self {
        Deadline {
            state: Mutex::new(DeadlineState {
                at: Instant::now() + total,
                paused: 0,
                since: None,
            }),
            total,
        }
    }

    fn pause(&self) -> PauseGuard<'_> {
        let mut s = self.state.lock().unwrap();
        if s.paused == 0 {
            s.since = Some(Instant::now());
        }
        s.paused += 1;
        PauseGuard(self)
    }

    fn next_check(&self) -> (Instant, bool) {
        let s = self.state.lock().unwrap();
        if s.paused > 0 {
            (Instant::now() + Duration::from_millis(200), false)
        } else {
            (s.at, true)
        }
    }

    async fn run<F: Future>(&self, fut: F) -> Option<F::Output> {
        tokio::pin!(fut);
        loop {
            let (at, live) = self.next_check();
            tokio::select! {
                r = &mut fut => return Some(r),
                _ = tokio::time::sleep_until(at) => {
                    if live && self.next_check().1 && Instant::now() >= self.next_check().0 {
                        return None;
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Connections

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ConnKey {
    host: String,
    port: u16,
    user: String,
}

type Slot = Arc<tokio::sync::Mutex<Option<Arc<Connection>>>>;

struct PoolInner {
    config: SshConfig,
    slots: Mutex<HashMap<ConnKey, Slot>>,
    /// Decrypted keys by path; the lock also serializes passphrase prompts.
    keys: tokio::sync::Mutex<HashMap<PathBuf, Arc<PrivateKey>>>,
    /// Host keys accepted for this run only: (name, port, key).
    accepted_once: Mutex<Vec<(String, u16, PublicKey)>>,
    /// One host key question at a time.
    host_key_prompt: tokio::sync::Mutex<()>,
    /// Recent answers about host keys, reused by the connections that were
    /// already waiting when the operator answered (one question, not one
    /// per task).
    host_key_decisions: Mutex<Vec<HostKeyDecision>>,
    /// Recent refusals to decrypt a key (passphrase not given, or wrong
    /// three times), reused likewise: (path, when, why).
    key_refusals: Mutex<Vec<(PathBuf, Instant, &'static str)>>,
}

/// What came of one host key question.
struct HostKeyDecision {
    name: String,
    port: u16,
    key: PublicKey,
    at: Instant,
    result: Result<(), SshErrorKind>,
}

/// How long answers are remembered for connections that were waiting.
const DECISION_MEMORY: Duration = Duration::from_secs(600);

/// Passphrase attempts per key (as OpenSSH's `NumberOfPasswordPrompts`).
pub const PASSPHRASE_ATTEMPTS: u32 = 3;

/// An established, authenticated connection.
pub(super) struct Connection {
    pub(super) handle: Handle<ClientHandler>,
    pub(super) endpoint: Endpoint,
    /// Limits concurrent command channels below OpenSSH's `MaxSessions`
    /// (10 by default), keeping room for kill commands.
    pub(super) channels: Arc<tokio::sync::Semaphore>,
    /// Keeps the jump connection alive while this one lives.
    _jump: Option<Arc<Connection>>,
}

/// Command channels open at once on one connection (more wait).
pub const CHANNELS_PER_CONNECTION: usize = 8;

/// The SSH connections of pigsty-tui (cheap to clone, shared).
#[derive(Clone)]
pub struct SshPool {
    inner: Arc<PoolInner>,
}

impl fmt::Debug for SshPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshPool")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub(super) enum HandlerError {
    Ssh(russh::Error),
    HostKey(SshErrorKind),
}

impl From<russh::Error> for HandlerError {
    fn from(e: russh::Error) -> Self {
        HandlerError::Ssh(e)
    }
}

struct HostKeyVerifier {
    /// Weak: the russh session task owns the handler, and the pool owns
    /// the connection; a strong reference would keep both alive forever.
    pool: std::sync::Weak<PoolInner>,
    /// Name looked up in known_hosts (host or HostKeyAlias) and its port.
    name: String,
    port: u16,
    files: Vec<PathBuf>,
    save_to: Option<PathBuf>,
    hash: bool,
    connecting_to: String,
    /// When the connection attempt began (before waiting for the pool
    /// slot): answers given after it apply to it.
    since: Instant,
    /// Alive while someone waits for this connection. The handshake runs
    /// in russh's own task, which outlives a cancelled caller: without
    /// anyone waiting, a question is withdrawn rather than left on screen.
    wanted: std::sync::Weak<()>,
}

pub(super) struct ClientHandler {
    verifier: Arc<HostKeyVerifier>,
    deadline: Arc<Deadline>,
}

impl client::Handler for ClientHandler {
    type Error = HandlerError;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            PublicKeyOrCertificate::Certificate(c) => PublicKey::new(c.public_key().clone(), ""),
        };
        self.verifier
            .verify(&key, &self.deadline)
            .await
            .map(|()| true)
            .map_err(HandlerError::HostKey)
    }
}

impl HostKeyVerifier {
    /// `fut`, unless nobody waits for the connection any more (`None`).
    async fn while_wanted<F: Future>(&self, fut: F) -> Option<F::Output> {
        tokio::pin!(fut);
        loop {
            tokio::select! {
                r = &mut fut => return Some(r),
                _ = tokio::time::sleep(Duration::from_millis(200)) => {
                    if self.wanted.strong_count() == 0 {
                        return None;
                    }
                }
            }
        }
    }

    fn describe(e: &known_hosts::KnownEntry) -> String {
        format!(
            "{} {} (line {} of {})",
            e.key.algorithm().as_str(),
            e.fingerprint(),
            e.line,
            e.path.display()
        )
    }

    fn save(&self, key: &PublicKey) -> Result<(), SshErrorKind> {
        let Some(path) = &self.save_to else {
            return Err(SshErrorKind::KnownHostsWrite {
                path: PathBuf::from("(none)"),
                error: "no user known_hosts file configured".into(),
            });
        };
        known_hosts::append(path, &self.name, self.port, key, self.hash)
            .map(|line| {
                tracing::info!(host = %self.name, port = self.port, file = %path.display(), line,
                    fingerprint = %fingerprint(key), "recorded new host key");
            })
            .map_err(|e| SshErrorKind::KnownHostsWrite {
                path: path.clone(),
                error: e.to_string(),
            })
    }

    async fn verify(&self, key: &PublicKey, deadline: &Deadline) -> Result<(), SshErrorKind> {
        let Some(pool) = self.pool.upgrade() else {
            return Err(SshErrorKind::Disconnected(
                "the SSH pool was dropped".into(),
            ));
        };
        let once =
            |k: &PublicKey| {
                pool.accepted_once.lock().unwrap().iter().any(|(n, p, x)| {
                    *n == self.name && *p == self.port && x.key_data() == k.key_data()
                })
            };
        if once(key) {
            return Ok(());
        }
        let fp = fingerprint(key);
        let key_type = key.algorithm().as_str().to_string();
        let unknown = |rejected| SshErrorKind::HostKeyUnknown {
            key_type: key_type.clone(),
            fingerprint: fp.clone(),
            known_hosts: self.files.clone(),
            rejected,
        };
        let others = match known_hosts::check(&self.files, &self.name, self.port, key) {
            HostKeyStatus::Known(_) => return Ok(()),
            HostKeyStatus::Revoked(e) => {
                return Err(SshErrorKind::HostKeyRevoked {
                    fingerprint: fp,
                    path: e.path,
                    line: e.line,
                });
            }
            HostKeyStatus::Changed(e) => {
                tracing::error!(host = %self.name, port = self.port, known = %e.fingerprint(),
                    sent = %fp, file = %e.path.display(), line = e.line, "HOST KEY CHANGED");
                return Err(SshErrorKind::HostKeyChanged {
                    known: e.fingerprint(),
                    sent: fp,
                    path: e.path,
                    line: e.line,
                });
            }
            HostKeyStatus::OtherTypes(v) => v.iter().map(Self::describe).collect::<Vec<_>>(),
            HostKeyStatus::Unknown => Vec::new(),
        };
        let prompter = pool.config.prompter.clone();
        match (pool.config.host_key_policy, prompter) {
            (HostKeyPolicy::AcceptNew, _) if others.is_empty() => self.save(key),
            (HostKeyPolicy::Ask, Some(p)) => {
                let gone = || SshErrorKind::Disconnected("the connection was abandoned".into());
                let _one = {
                    // Waiting for another connection's question does not
                    // count against the handshake time limit.
                    let _paused = deadline.pause();
                    self.while_wanted(pool.host_key_prompt.lock())
                        .await
                        .ok_or_else(gone)?
                };
                // Another connection may have recorded it meanwhile.
                if once(key)
                    || matches!(
                        known_hosts::check(&self.files, &self.name, self.port, key),
                        HostKeyStatus::Known(_)
                    )
                {
                    return Ok(());
                }
                // Or the operator answered while this one was waiting.
                if let Some(result) = pool.decision_since(&self.name, self.port, key, self.since) {
                    return result;
                }
                let question = HostKeyQuestion {
                    host: self.name.clone(),
                    port: self.port,
                    key_type: key_type.clone(),
                    fingerprint: fp.clone(),
                    known_hosts: self.save_to.clone(),
                    other_known_keys: others,
                };
                tracing::info!(to = %self.connecting_to, fingerprint = %fp, "asking about unknown host key");
                let answer = {
                    let _paused = deadline.pause();
                    // A cancelled task withdraws its question.
                    self.while_wanted(p.confirm_host_key(question))
                        .await
                        .ok_or_else(gone)?
                };
                tracing::info!(to = %self.connecting_to, fingerprint = %fp, ?answer, "host key answer");
                let result = match answer {
                    HostKeyAnswer::Accept => self.save(key),
                    HostKeyAnswer::AcceptOnce => {
                        pool.accepted_once.lock().unwrap().push((
                            self.name.clone(),
                            self.port,
                            key.clone(),
                        ));
                        Ok(())
                    }
                    HostKeyAnswer::Reject => Err(unknown(true)),
                };
                pool.record_decision(HostKeyDecision {
                    name: self.name.clone(),
                    port: self.port,
                    key: key.clone(),
                    at: Instant::now(),
                    result: result.clone(),
                });
                result
            }
            _ if !others.is_empty() => Err(SshErrorKind::HostKeyOtherType {
                sent: fp,
                key_type,
                known: others,
            }),
            _ => Err(unknown(false)),
        }
    }
}

enum KeyLoad {
    Missing,
    Encrypted(&'static str),
    Unreadable(String),
}

fn map_handshake_error(ep: &Endpoint, e: HandlerError) -> SshError {
    match e {
        HandlerError::HostKey(kind) => ep.error(kind),
        HandlerError::Ssh(russh::Error::Disconnect) => ep.error(SshErrorKind::Handshake(
            "the server closed the connection during the handshake".into(),
        )),
        HandlerError::Ssh(russh::Error::IO(io)) => {
            ep.error(SshErrorKind::Handshake(io.to_string()))
        }
        HandlerError::Ssh(e) => ep.error(SshErrorKind::Handshake(e.to_string())),
    }
}

impl PoolInner {
    fn record_decision(&self, d: HostKeyDecision) {
        let mut v = self.host_key_decisions.lock().unwrap();
        v.retain(|x| x.at.elapsed() < DECISION_MEMORY);
        v.push(d);
    }

    /// The answer about `key` given after `since`, if any.
    fn decision_since(
        &self,
        name: &str,
        port: u16,
        key: &PublicKey,
        since: Instant,
    ) -> Option<Result<(), SshErrorKind>> {
        self.host_key_decisions
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|d| {
                d.at >= since
                    && d.name == name
                    && d.port == port
                    && d.key.key_data() == key.key_data()
            })
            .map(|d| d.result.clone())
    }

    fn record_key_refusal(&self, path: &Path, why: &'static str) {
        let mut v = self.key_refusals.lock().unwrap();
        v.retain(|x| x.1.elapsed() < DECISION_MEMORY);
        v.push((path.to_path_buf(), Instant::now(), why));
    }

    fn key_refused_since(&self, path: &Path, since: Instant) -> Option<&'static str> {
        self.key_refusals
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|x| x.1 >= since && x.0 == path)
            .map(|x| x.2)
    }
}

impl SshPool {
    pub fn new(config: SshConfig) -> Self {
        SshPool {
            inner: Arc::new(PoolInner {
                config,
                slots: Mutex::new(HashMap::new()),
                keys: tokio::sync::Mutex::new(HashMap::new()),
                accepted_once: Mutex::new(Vec::new()),
                host_key_prompt: tokio::sync::Mutex::new(()),
                host_key_decisions: Mutex::new(Vec::new()),
                key_refusals: Mutex::new(Vec::new()),
            }),
        }
    }

    pub fn config(&self) -> &SshConfig {
        &self.inner.config
    }

    /// A session on `target`, reusing the pooled connection when it is
    /// alive, connecting (and authenticating) otherwise.
    pub async fn session(&self, target: &Target) -> Result<Session, SshError> {
        let ep = self.inner.config.resolve(target)?;
        let conn = self.connect(&ep).await?;
        Ok(Session {
            pool: self.clone(),
            conn: Mutex::new(conn),
            endpoint: ep,
            dbsu: target.dbsu.clone(),
        })
    }

    /// Run `command` on `target` and collect its output (for short
    /// commands; use [`Session::exec`] to stream).
    pub async fn output(
        &self,
        target: &Target,
        command: &RemoteCommand,
    ) -> Result<CommandOutput, SshError> {
        self.session(target).await?.output(command).await
    }

    /// Number of live pooled connections (jump hosts included).
    pub fn live_connections(&self) -> usize {
        let slots: Vec<Slot> = self.inner.slots.lock().unwrap().values().cloned().collect();
        slots
            .iter()
            .filter(|s| {
                s.try_lock()
                    .map(|c| c.as_ref().is_some_and(|c| !c.handle.is_closed()))
                    .unwrap_or(true)
            })
            .count()
    }

    /// Disconnect everything (connections in use elsewhere close when
    /// their last session is dropped).
    pub async fn close_all(&self) {
        let slots: Vec<Slot> = self
            .inner
            .slots
            .lock()
            .unwrap()
            .drain()
            .map(|(_, s)| s)
            .collect();
        for s in slots {
            if let Some(c) = s.lock().await.take() {
                let _ = c
                    .handle
                    .disconnect(russh::Disconnect::ByApplication, "bye", "en")
                    .await;
            }
        }
    }

    fn slot(&self, ep: &Endpoint) -> Slot {
        let key = ConnKey {
            host: ep.host.clone(),
            port: ep.port,
            user: ep.user.clone(),
        };
        self.inner
            .slots
            .lock()
            .unwrap()
            .entry(key)
            .or_default()
            .clone()
    }

    pub(super) fn connect<'a>(
        &'a self,
        ep: &'a Endpoint,
    ) -> BoxFuture<'a, Result<Arc<Connection>, SshError>> {
        self.connect_since(ep, Instant::now())
    }

    /// [`connect`](Self::connect) for an attempt that began at `since`
    /// (answers the operator gave after it apply to it).
    fn connect_since<'a>(
        &'a self,
        ep: &'a Endpoint,
        since: Instant,
    ) -> BoxFuture<'a, Result<Arc<Connection>, SshError>> {
        Box::pin(async move {
            let slot = self.slot(ep);
            let mut guard = slot.lock().await;
            if let Some(c) = guard.as_ref()
                && !c.handle.is_closed()
            {
                return Ok(c.clone());
            }
            *guard = None;
            let conn = Arc::new(self.open(ep, since).await?);
            *guard = Some(conn.clone());
            Ok(conn)
        })
    }

    /// Forget `conn` if it is still the pooled one (it failed).
    pub(super) fn discard(&self, conn: &Arc<Connection>) {
        let slot = self.slot(&conn.endpoint);
        if let Ok(mut g) = slot.try_lock()
            && g.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn))
        {
            *g = None;
        }
    }

    async fn open(&self, ep: &Endpoint, since: Instant) -> Result<Connection, SshError> {
        let cfg = &self.inner.config;
        let jump = match &ep.jump {
            Some(j) => Some(self.connect_since(j, since).await.map_err(|e| {
                // Say which host we were trying to reach.
                let mut outer = ep.error(SshErrorKind::Connect(format!("jump host failed: {e}")));
                outer.via = None;
                outer
            })?),
            None => None,
        };

        // Known host key types go first, as OpenSSH does.
        let lookup_name = ep.host_key_alias.clone().unwrap_or_else(|| ep.host.clone());
        let lookup_port = if ep.host_key_alias.is_some() {
            22
        } else {
            ep.port
        };
        let files: Vec<PathBuf> = ep
            .known_hosts
            .iter()
            .chain(ep.global_known_hosts.iter())
            .cloned()
            .collect();
        let known = known_hosts::known_algorithms(&files, &lookup_name, lookup_port);
        let mut preferred = russh::Preferred::default();
        if !known.is_empty() {
            let mut algs: Vec<russh::keys::Algorithm> = Vec::new();
            for k in &known {
                let rsa =
                    |al: &russh::keys::Algorithm| matches!(al, russh::keys::Algorithm::Rsa { .. });
                if rsa(k) {
                    for a in preferred.key.iter().filter(|a| rsa(a)) {
                        if !algs.contains(a) {
                            algs.push(a.clone());
                        }
                    }
                } else if !algs.contains(k) {
                    algs.push(k.clone());
                }
            }
            for a in preferred.key.iter() {
                if !algs.contains(a) {
                    algs.push(a.clone());
                }
            }
            preferred.key = algs.into();
        }
        let config = Arc::new(client::Config {
            preferred,
            keepalive_interval: Some(ep.keepalive),
            keepalive_max: ep.keepalive_max,
            inactivity_timeout: None,
            nodelay: true,
            ..Default::default()
        });
        let deadline = Arc::new(Deadline::new(cfg.auth_timeout));
        // Dropped when this attempt ends or is dropped (its task cancelled).
        let wanted = Arc::new(());
        let handler = ClientHandler {
            verifier: Arc::new(HostKeyVerifier {
                pool: Arc::downgrade(&self.inner),
                name: lookup_name,
                port: lookup_port,
                save_to: ep.known_hosts.first().cloned(),
                files,
                hash: ep.hash_known_hosts,
                connecting_to: ep.address(),
                since,
                wanted: Arc::downgrade(&wanted),
            }),
            deadline: deadline.clone(),
        };
        let timeout = |what: &str, after| {
            ep.error(SshErrorKind::Timeout {
                what: what.to_string(),
                after,
            })
        };

        let handshake = match &jump {
            None => {
                crate::net_guard::check_host(&ep.host)
                    .map_err(|why| ep.error(SshErrorKind::Connect(why)))?;
                let tcp = tokio::time::timeout(
                    ep.connect_timeout,
                    tokio::net::TcpStream::connect((ep.host.as_str(), ep.port)),
                )
                .await
                .map_err(|_| timeout("connecting", ep.connect_timeout))?
                .map_err(|e| {
                    ep.error(match e.kind() {
                        std::io::ErrorKind::ConnectionRefused => SshErrorKind::Refused,
                        _ if e.to_string().contains("lookup")
                            || e.to_string().contains("resolve") =>
                        {
                            SshErrorKind::Resolve(e.to_string())
                        }
                        _ => SshErrorKind::Connect(e.to_string()),
                    })
                })?;
                let _ = tcp.set_nodelay(true);
                deadline
                    .run(client::connect_stream(config, tcp, handler))
                    .await
            }
            Some(j) => {
                let ch = tokio::time::timeout(
                    ep.connect_timeout,
                    j.handle.channel_open_direct_tcpip(
                        ep.host.clone(),
                        u32::from(ep.port),
                        "127.0.0.1",
                        0,
                    ),
                )
                .await
                .map_err(|_| timeout("connecting through the jump host", ep.connect_timeout))?
                .map_err(|e| {
                    ep.error(match e {
                        russh::Error::ChannelOpenFailure(
                            russh::ChannelOpenFailure::ConnectFailed,
                        ) => SshErrorKind::Connect("the jump host could not connect to it".into()),
                        e => SshErrorKind::Connect(format!("jump host refused the tunnel: {e}")),
                    })
                })?;
                deadline
                    .run(client::connect_stream(config, ch.into_stream(), handler))
                    .await
            }
        };
        let mut handle = match handshake {
            None => return Err(timeout("in the SSH handshake", deadline.total)),
            Some(Err(e)) => {
                let err = map_handshake_error(ep, e);
                if matches!(
                    *err.kind,
                    SshErrorKind::HostKeyChanged { .. } | SshErrorKind::HostKeyRevoked { .. }
                ) && let Some(p) = &cfg.prompter
                {
                    p.alert(err.to_string());
                }
                return Err(err);
            }
            Some(Ok(h)) => h,
        };
        match deadline
            .run(self.authenticate(&mut handle, ep, &deadline, since))
            .await
        {
            None => Err(timeout("authenticating", deadline.total)),
            Some(Err(e)) => Err(e),
            Some(Ok(())) => {
                tracing::debug!(endpoint = %ep, "ssh connected");
                Ok(Connection {
                    handle,
                    endpoint: ep.clone(),
                    channels: Arc::new(tokio::sync::Semaphore::new(CHANNELS_PER_CONNECTION)),
                    _jump: jump,
                })
            }
        }
    }

    /// The key of `path`, decrypted (asking for its passphrase at most
    /// [`PASSPHRASE_ATTEMPTS`] times) and kept for the life of the pool.
    async fn load_key(
        &self,
        path: &Path,
        ep: &Endpoint,
        deadline: &Deadline,
        since: Instant,
    ) -> Result<Arc<PrivateKey>, KeyLoad> {
        let mut cache = {
            // Another connection may be asking for this passphrase.
            let _paused = deadline.pause();
            self.inner.keys.lock().await
        };
        if let Some(k) = cache.get(path) {
            return Ok(k.clone());
        }
        if let Some(why) = self.inner.key_refused_since(path, since) {
            return Err(KeyLoad::Encrypted(why));
        }
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(KeyLoad::Missing),
            Err(e) => return Err(KeyLoad::Unreadable(e.to_string())),
        };
        let key = match russh::keys::decode_secret_key(&text, None) {
            Ok(k) => k,
            Err(russh::keys::Error::KeyIsEncrypted) => {
                let Some(p) = self.inner.config.prompter.clone() else {
                    return Err(KeyLoad::Encrypted(
                        "encrypted, no passphrase prompt here: add it to ssh-agent",
                    ));
                };
                let mut found = None;
                for attempt in 1..=PASSPHRASE_ATTEMPTS {
                    let answer = {
                        let _paused = deadline.pause();
                        p.passphrase(PassphraseQuestion {
                            key_file: path.to_path_buf(),
                            connecting_to: ep.address(),
                            attempt,
                        })
                        .await
                    };
                    let Some(pass) = answer else {
                        let why = "encrypted, passphrase not given";
                        self.inner.record_key_refusal(path, why);
                        return Err(KeyLoad::Encrypted(why));
                    };
                    // `pass` is wiped when dropped, at the end of this turn.
                    if let Ok(k) = russh::keys::decode_secret_key(&text, Some(pass.as_str())) {
                        found = Some(k);
                        break;
                    }
                    tracing::info!(key = %path.display(), attempt, "wrong passphrase");
                }
                match found {
                    Some(k) => k,
                    None => {
                        let why = "encrypted, wrong passphrase 3 times";
                        self.inner.record_key_refusal(path, why);
                        return Err(KeyLoad::Encrypted(why));
                    }
                }
            }
            Err(e) => return Err(KeyLoad::Unreadable(e.to_string())),
        };
        let key = Arc::new(key);
        cache.insert(path.to_path_buf(), key.clone());
        Ok(key)
    }

    async fn authenticate(
        &self,
        handle: &mut Handle<ClientHandler>,
        ep: &Endpoint,
        deadline: &Deadline,
        since: Instant,
    ) -> Result<(), SshError> {
        let cfg = &self.inner.config;
        let mut tried: Vec<String> = Vec::new();
        let mut offered: Vec<PublicKey> = Vec::new();
        let mut rsa_hash: Option<Option<russh::keys::HashAlg>> = None;
        let mut publickey_allowed = true;
        let lost = |e: &dyn fmt::Display| ep.error(SshErrorKind::Disconnected(e.to_string()));

        // Public keys of the identity files (for IdentitiesOnly).
        let wanted: Vec<PublicKey> = if ep.identities_only {
            ep.identity_files
                .iter()
                .filter_map(|f| {
                    let mut p = f.path.clone().into_os_string();
                    p.push(".pub");
                    russh::keys::load_public_key(PathBuf::from(p)).ok()
                })
                .collect()
        } else {
            Vec::new()
        };

        if let Some(sock) = &ep.agent {
            match AgentClient::connect_uds(sock).await {
                Ok(mut agent) => {
                    let ids = agent.request_identities().await.unwrap_or_default();
                    let ids: Vec<_> = ids
                        .into_iter()
                        .filter(|id| {
                            !ep.identities_only
                                || wanted
                                    .iter()
                                    .any(|w| w.key_data() == id.public_key().key_data())
                        })
                        .collect();
                    tried.push(format!(
                        "agent ({} key{})",
                        ids.len(),
                        if ids.len() == 1 { "" } else { "s" }
                    ));
                    for id in ids {
                        let key = id.public_key().into_owned();
                        let hash = if key.algorithm().is_rsa() {
                            if rsa_hash.is_none() {
                                rsa_hash = Some(
                                    handle
                                        .best_supported_rsa_hash()
                                        .await
                                        .ok()
                                        .flatten()
                                        .flatten(),
                                );
                            }
                            rsa_hash.flatten()
                        } else {
                            None
                        };
                        offered.push(key.clone());
                        match handle
                            .authenticate_publickey_with(ep.user.clone(), key, hash, &mut agent)
                            .await
                        {
                            Ok(r) if r.success() => return Ok(()),
                            Ok(client::AuthResult::Failure {
                                remaining_methods, ..
                            }) => {
                                if !remaining_methods.contains(&MethodKind::PublicKey) {
                                    publickey_allowed = false;
                                    break;
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                if handle.is_closed() {
                                    return Err(lost(&e));
                                }
                                tracing::debug!(error = %e, "agent signing failed");
                            }
                        }
                    }
                }
                Err(e) => tried.push(format!("agent (unavailable: {e})")),
            }
        }

        if publickey_allowed {
            for f in &ep.identity_files {
                let shown = cfg.display_path(&f.path);
                let key = match self.load_key(&f.path, ep, deadline, since).await {
                    Ok(k) => k,
                    Err(KeyLoad::Missing) => {
                        if f.explicit {
                            tried.push(format!("{shown} (missing)"));
                        }
                        continue;
                    }
                    Err(KeyLoad::Encrypted(why)) => {
                        tried.push(format!("{shown} ({why})"));
                        continue;
                    }
                    Err(KeyLoad::Unreadable(e)) => {
                        tried.push(format!("{shown} (unreadable: {e})"));
                        continue;
                    }
                };
                if offered
                    .iter()
                    .any(|k| k.key_data() == key.public_key().key_data())
                {
                    // Already offered through the agent.
                    continue;
                }
                tried.push(shown);
                let hash = if key.algorithm().is_rsa() {
                    if rsa_hash.is_none() {
                        rsa_hash = Some(
                            handle
                                .best_supported_rsa_hash()
                                .await
                                .ok()
                                .flatten()
                                .flatten(),
                        );
                    }
                    rsa_hash.flatten()
                } else {
                    None
                };
                offered.push(key.public_key().clone());
                match handle
                    .authenticate_publickey(ep.user.clone(), PrivateKeyWithHashAlg::new(key, hash))
                    .await
                {
                    Ok(r) if r.success() => return Ok(()),
                    Ok(client::AuthResult::Failure {
                        remaining_methods, ..
                    }) => {
                        if !remaining_methods.contains(&MethodKind::PublicKey) {
                            publickey_allowed = false;
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => return Err(lost(&e)),
                }
            }
        }
        if !publickey_allowed {
            tried.push("the server accepts no more public keys".into());
        }
        Err(ep.error(SshErrorKind::AuthRefused { tried }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_apply_to_attempts_begun_before_them_only() {
        let pool = SshPool::new(SshConfig::bare(PathBuf::from("/nonexistent")));
        let key = PublicKey::from_openssh(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ",
        )
        .unwrap();
        let other = PublicKey::from_openssh(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6rWI3G1sz07DnfFlrouTcysQlj2P+jpNSOEWD9OJ3X",
        )
        .unwrap();
        let waiting = Instant::now();
        let rejected = SshErrorKind::HostKeyUnknown {
            key_type: "ssh-ed25519".into(),
            fingerprint: fingerprint(&key),
            known_hosts: vec![],
            rejected: true,
        };
        pool.inner.record_decision(HostKeyDecision {
            name: "h".into(),
            port: 22,
            key: key.clone(),
            at: Instant::now(),
            result: Err(rejected.clone()),
        });
        // A connection that was waiting gets the same answer…
        assert_eq!(
            pool.inner.decision_since("h", 22, &key, waiting),
            Some(Err(rejected))
        );
        // …not one for another host, port or key, nor one begun later
        // (it asks again).
        assert_eq!(pool.inner.decision_since("h2", 22, &key, waiting), None);
        assert_eq!(pool.inner.decision_since("h", 2222, &key, waiting), None);
        assert_eq!(pool.inner.decision_since("h", 22, &other, waiting), None);
        let later = Instant::now() + Duration::from_millis(1);
        assert_eq!(pool.inner.decision_since("h", 22, &key, later), None);

        let k = Path::new("/k");
        pool.inner
            .record_key_refusal(k, "encrypted, passphrase not given");
        assert_eq!(
            pool.inner.key_refused_since(k, waiting),
            Some("encrypted, passphrase not given")
        );
        assert_eq!(
            pool.inner.key_refused_since(Path::new("/other"), waiting),
            None
        );
        assert_eq!(pool.inner.key_refused_since(k, later), None);
    }

    #[tokio::test]
    async fn deadline_pauses_while_prompting() {
        let d = Deadline::new(Duration::from_millis(100));
        // Expires without a pause.
        assert!(
            d.run(tokio::time::sleep(Duration::from_millis(400)))
                .await
                .is_none()
        );
        // A 500 ms prompt inside a 100 ms budget is fine.
        let d = Deadline::new(Duration::from_millis(100));
        let r = d
            .run(async {
                let _p = d.pause();
                tokio::time::sleep(Duration::from_millis(500)).await;
                drop(_p);
                tokio::time::sleep(Duration::from_millis(50)).await;
                7
            })
            .await;
        assert_eq!(r, Some(7));
    }
}
