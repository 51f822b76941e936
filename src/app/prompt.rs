//! Questions from SSH connections to the operator, and SSH alerts.
//!
//! The console's [`SshPool`](crate::tasks::SshPool) asks through a
//! [`ChannelPrompter`](crate::tasks::ssh::ChannelPrompter): each
//! [`PromptRequest`] arrives on a channel the event loop reads, is queued
//! here and shown as a modal dialog (`ui::prompt_dialog`), one at a time.
//! The SSH task waits on the reply slot without blocking anything; the
//! event loop never waits on the task. A requester that gave up (its task
//! was cancelled) is noticed ([`Prompts::prune`]) and its question removed.
//!
//! * unknown host key: `a` accept and save to known_hosts, `o` accept once
//!   (this session), `r` / Esc reject; ↑↓ and Enter choose (reject is
//!   highlighted first).
//! * key passphrase: typed masked, Enter unlocks, Esc skips the key. The
//!   text typed is wiped from memory when the dialog closes.
//! * alert (changed or revoked host key): Enter / Esc closes it.

use std::collections::VecDeque;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::oneshot;

use crate::tasks::ssh::{
    HostKeyAnswer, HostKeyQuestion, Passphrase, PassphraseQuestion, PromptRequest,
};

/// The choices of the host key dialog, in display order.
pub const HOST_KEY_CHOICES: [(char, HostKeyAnswer, &str); 3] = [
    ('a', HostKeyAnswer::Accept, "accept and save to known_hosts"),
    (
        'o',
        HostKeyAnswer::AcceptOnce,
        "accept once (this session only)",
    ),
    ('r', HostKeyAnswer::Reject, "reject (the task fails)"),
];

/// Index of [`HostKeyAnswer::Reject`] in [`HOST_KEY_CHOICES`]: highlighted
/// first, so that a stray Enter refuses.
const REJECT: usize = 2;

/// What is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    HostKey(HostKeyQuestion),
    Passphrase(PassphraseQuestion),
    /// A connection refused for a reason to see at once (no answer).
    Alert(String),
}

enum Reply {
    HostKey(oneshot::Sender<HostKeyAnswer>),
    Passphrase(oneshot::Sender<Option<Passphrase>>),
}

/// One question on screen or waiting.
#[derive(Clone)]
pub struct Prompt {
    pub kind: PromptKind,
    /// Host key dialog: the highlighted entry of [`HOST_KEY_CHOICES`].
    pub choice: usize,
    /// Passphrase dialog: what was typed (drawn masked; wiped on drop).
    pub input: Passphrase,
    /// Shared so that the console state stays cloneable; taken when answered.
    reply: Arc<Mutex<Option<Reply>>>,
}

impl fmt::Debug for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the passphrase, not even its length.
        f.debug_struct("Prompt")
            .field("kind", &self.kind)
            .field("choice", &self.choice)
            .finish_non_exhaustive()
    }
}

impl Prompt {
    fn new(kind: PromptKind, reply: Option<Reply>) -> Self {
        Prompt {
            kind,
            choice: REJECT,
            // Room enough that typing does not reallocate (and leave copies
            // of the first characters behind in freed memory).
            input: Passphrase::new(String::with_capacity(256)),
            reply: Arc::new(Mutex::new(reply)),
        }
    }

    /// The requester stopped waiting (its task ended or was cancelled).
    pub fn abandoned(&self) -> bool {
        match &*self.reply.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(Reply::HostKey(tx)) => tx.is_closed(),
            Some(Reply::Passphrase(tx)) => tx.is_closed(),
            None => !matches!(self.kind, PromptKind::Alert(_)),
        }
    }

    fn take_reply(&self) -> Option<Reply> {
        self.reply.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// What the operator decided about the question on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    HostKey {
        question: HostKeyQuestion,
        answer: HostKeyAnswer,
    },
    /// A passphrase was given (`true`) or the key skipped (`false`). The
    /// passphrase itself went to the connection only.
    Passphrase {
        key_file: PathBuf,
        connecting_to: String,
        given: bool,
    },
    /// An alert was closed.
    Dismissed,
}

/// What a key did to the prompts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKey {
    /// Nothing asked: the key is not for the prompts.
    Idle,
    /// The dialog changed (typing, choice moved) or the key was swallowed.
    Handled,
    /// The question on screen was answered and removed.
    Decided(Decision),
}

/// The questions waiting for the operator, oldest first; the first one is
/// on screen.
#[derive(Debug, Clone, Default)]
pub struct Prompts {
    queue: VecDeque<Prompt>,
}

impl Prompts {
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// The question on screen.
    pub fn current(&self) -> Option<&Prompt> {
        self.queue.front()
    }

    /// Queues a request from the SSH pool. An alert already waiting is not
    /// queued twice (several tasks hitting the same changed key).
    pub fn push(&mut self, request: PromptRequest) {
        let prompt = match request {
            PromptRequest::HostKey { question, reply } => {
                Prompt::new(PromptKind::HostKey(question), Some(Reply::HostKey(reply)))
            }
            PromptRequest::Passphrase { question, reply } => Prompt::new(
                PromptKind::Passphrase(question),
                Some(Reply::Passphrase(reply)),
            ),
            PromptRequest::Alert { message } => {
                if self
                    .queue
                    .iter()
                    .any(|p| matches!(&p.kind, PromptKind::Alert(m) if *m == message))
                {
                    return;
                }
                Prompt::new(PromptKind::Alert(message), None)
            }
        };
        self.queue.push_back(prompt);
    }

    /// Removes the questions nobody waits for any more; true if one was.
    pub fn prune(&mut self) -> bool {
        let before = self.queue.len();
        self.queue.retain(|p| !p.abandoned());
        self.queue.len() != before
    }

    /// Handles a key for the question on screen.
    pub fn handle_key(&mut self, key: KeyEvent) -> PromptKey {
        self.handle_key_with(key, |_| {})
    }

    /// [`handle_key`](Self::handle_key), calling `before_reply` with the
    /// decision before the waiting connection gets it (to audit it first).
    pub fn handle_key_with(
        &mut self,
        key: KeyEvent,
        before_reply: impl FnOnce(&Decision),
    ) -> PromptKey {
        let Some(p) = self.queue.front_mut() else {
            return PromptKey::Idle;
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let answer = match &p.kind {
            PromptKind::Alert(_) => match key.code {
                KeyCode::Enter | KeyCode::Esc | KeyCode::Char(' ') | KeyCode::Char('q') => {
                    Some(Decision::Dismissed)
                }
                _ => None,
            },
            PromptKind::HostKey(question) => {
                let chosen = match key.code {
                    KeyCode::Esc => Some(REJECT),
                    KeyCode::Enter => Some(p.choice),
                    KeyCode::Up | KeyCode::Char('k') | KeyCode::BackTab => {
                        p.choice = p.choice.saturating_sub(1);
                        None
                    }
                    KeyCode::Down | KeyCode::Char('j') | KeyCode::Tab => {
                        p.choice = (p.choice + 1).min(HOST_KEY_CHOICES.len() - 1);
                        None
                    }
                    KeyCode::Char(c) if !ctrl => HOST_KEY_CHOICES
                        .iter()
                        .position(|(k, _, _)| *k == c.to_ascii_lowercase())
                        .or_else(|| (c == 'n').then_some(REJECT)),
                    _ => None,
                };
                chosen.map(|i| Decision::HostKey {
                    question: question.clone(),
                    answer: HOST_KEY_CHOICES[i].1,
                })
            }
            PromptKind::Passphrase(question) => match key.code {
                KeyCode::Enter => Some(Decision::Passphrase {
                    key_file: question.key_file.clone(),
                    connecting_to: question.connecting_to.clone(),
                    given: true,
                }),
                KeyCode::Esc => Some(Decision::Passphrase {
                    key_file: question.key_file.clone(),
                    connecting_to: question.connecting_to.clone(),
                    given: false,
                }),
                KeyCode::Backspace => {
                    p.input.pop();
                    None
                }
                KeyCode::Char('u') | KeyCode::Char('w') if ctrl => {
                    p.input.clear();
                    None
                }
                KeyCode::Char(c) if !ctrl => {
                    p.input.push(c);
                    None
                }
                _ => None,
            },
        };
        let Some(decision) = answer else {
            return PromptKey::Handled;
        };
        let Some(mut p) = self.queue.pop_front() else {
            return PromptKey::Handled;
        };
        before_reply(&decision);
        match (p.take_reply(), &decision) {
            (Some(Reply::HostKey(tx)), Decision::HostKey { answer, .. }) => {
                let _ = tx.send(*answer);
            }
            (Some(Reply::Passphrase(tx)), Decision::Passphrase { given, .. }) => {
                // The typed text moves into the reply (or is wiped with `p`).
                let pass = given.then(|| Passphrase::new(std::mem::take(&mut *p.input)));
                let _ = tx.send(pass);
            }
            _ => {}
        }
        // `p` (and its input) is dropped, hence wiped, here.
        drop(p);
        PromptKey::Decided(decision)
    }

    /// Refuses everything still waiting (the console is closing).
    pub fn refuse_all(&mut self) {
        self.queue.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn host_question(host: &str) -> HostKeyQuestion {
        HostKeyQuestion {
            host: host.into(),
            port: 22,
            key_type: "ssh-ed25519".into(),
            fingerprint: "SHA256:abc".into(),
            known_hosts: Some("/home/op/.ssh/known_hosts".into()),
            other_known_keys: vec![],
        }
    }

    fn ask_host(p: &mut Prompts, host: &str) -> oneshot::Receiver<HostKeyAnswer> {
        let (reply, rx) = oneshot::channel();
        p.push(PromptRequest::HostKey {
            question: host_question(host),
            reply,
        });
        rx
    }

    fn ask_pass(p: &mut Prompts, attempt: u32) -> oneshot::Receiver<Option<Passphrase>> {
        let (reply, rx) = oneshot::channel();
        p.push(PromptRequest::Passphrase {
            question: PassphraseQuestion {
                key_file: "/home/op/.ssh/id_ed25519".into(),
                connecting_to: "dba@h:22".into(),
                attempt,
            },
            reply,
        });
        rx
    }

    #[test]
    fn host_key_letters_answer_and_reject_is_the_default() {
        let mut p = Prompts::default();
        assert_eq!(p.handle_key(key(KeyCode::Enter)), PromptKey::Idle);
        let mut a = ask_host(&mut p, "a");
        let mut b = ask_host(&mut p, "b");
        let mut c = ask_host(&mut p, "c");
        let mut d = ask_host(&mut p, "d");
        assert_eq!(p.len(), 4);
        assert_eq!(p.current().unwrap().choice, REJECT);
        // Other keys change nothing and answer nothing.
        assert_eq!(p.handle_key(key(KeyCode::Char('x'))), PromptKey::Handled);
        assert!(a.try_recv().is_err());
        // Enter on the highlighted default rejects.
        assert_eq!(
            p.handle_key(key(KeyCode::Enter)),
            PromptKey::Decided(Decision::HostKey {
                question: host_question("a"),
                answer: HostKeyAnswer::Reject
            })
        );
        assert_eq!(a.try_recv(), Ok(HostKeyAnswer::Reject));
        // Letters choose directly.
        assert!(matches!(
            p.handle_key(key(KeyCode::Char('a'))),
            PromptKey::Decided(Decision::HostKey {
                answer: HostKeyAnswer::Accept,
                ..
            })
        ));
        assert_eq!(b.try_recv(), Ok(HostKeyAnswer::Accept));
        // Arrows move the highlight, Enter takes it.
        p.handle_key(key(KeyCode::Up));
        assert_eq!(p.current().unwrap().choice, 1);
        p.handle_key(key(KeyCode::Enter));
        assert_eq!(c.try_recv(), Ok(HostKeyAnswer::AcceptOnce));
        // Esc rejects whatever is highlighted; the decision is seen (to be
        // audited) before the connection gets it.
        p.handle_key(key(KeyCode::Up));
        p.handle_key(key(KeyCode::Up));
        let mut seen = None;
        p.handle_key_with(key(KeyCode::Esc), |decision| {
            assert!(d.try_recv().is_err(), "not sent yet");
            seen = Some(decision.clone());
        });
        assert!(matches!(
            seen,
            Some(Decision::HostKey {
                answer: HostKeyAnswer::Reject,
                ..
            })
        ));
        assert_eq!(d.try_recv(), Ok(HostKeyAnswer::Reject));
        assert!(p.is_empty());
    }

    #[test]
    fn passphrase_is_typed_masked_and_sent_once() {
        let mut p = Prompts::default();
        let mut rx = ask_pass(&mut p, 1);
        for c in "s3crx".chars() {
            p.handle_key(key(KeyCode::Char(c)));
        }
        p.handle_key(key(KeyCode::Backspace));
        p.handle_key(key(KeyCode::Char('e')));
        p.handle_key(key(KeyCode::Char('t')));
        assert_eq!(p.current().unwrap().input.as_str(), "s3cret");
        // The debug form (logs, panics) never shows it.
        assert!(!format!("{p:?}").contains("s3cret"));
        let d = p.handle_key(key(KeyCode::Enter));
        assert_eq!(
            d,
            PromptKey::Decided(Decision::Passphrase {
                key_file: "/home/op/.ssh/id_ed25519".into(),
                connecting_to: "dba@h:22".into(),
                given: true
            })
        );
        assert_eq!(
            rx.try_recv().unwrap().as_deref().map(String::as_str),
            Some("s3cret")
        );
        // Ctrl-U clears; Esc skips the key (None).
        let mut rx = ask_pass(&mut p, 2);
        p.handle_key(key(KeyCode::Char('x')));
        p.handle_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!(p.current().unwrap().input.as_str(), "");
        assert!(matches!(
            p.handle_key(key(KeyCode::Esc)),
            PromptKey::Decided(Decision::Passphrase { given: false, .. })
        ));
        assert_eq!(rx.try_recv().unwrap(), None);
    }

    #[test]
    fn abandoned_questions_are_pruned_and_alerts_deduplicated() {
        let mut p = Prompts::default();
        let gone = ask_host(&mut p, "gone");
        let mut kept = ask_pass(&mut p, 1);
        assert!(!p.prune());
        drop(gone);
        assert!(p.prune());
        assert_eq!(p.len(), 1);
        assert!(matches!(
            p.current().unwrap().kind,
            PromptKind::Passphrase(_)
        ));
        p.push(PromptRequest::Alert {
            message: "HOST KEY CHANGED".into(),
        });
        p.push(PromptRequest::Alert {
            message: "HOST KEY CHANGED".into(),
        });
        assert_eq!(p.len(), 2);
        // Alerts wait for the operator, whoever sent them.
        assert!(!p.prune());
        p.handle_key(key(KeyCode::Esc));
        assert_eq!(kept.try_recv().unwrap(), None);
        assert_eq!(
            p.handle_key(key(KeyCode::Char('z'))),
            PromptKey::Handled,
            "an alert needs Enter or Esc"
        );
        assert_eq!(
            p.handle_key(key(KeyCode::Enter)),
            PromptKey::Decided(Decision::Dismissed)
        );
        assert!(p.is_empty());
        // Closing the console refuses what is left (the replies drop).
        let mut rx = ask_host(&mut p, "h");
        p.refuse_all();
        assert!(rx.try_recv().is_err());
        assert!(p.is_empty());
    }
}
