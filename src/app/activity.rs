//! The activity view's state (`A`): the sessions of one instance
//! (`pg_stat_activity` over SSH, [`crate::triage::activity::list`]),
//! refreshed in the background every [`REFRESH`]; the selected session.
//!
//! The refresher runs on the runtime and wakes the event loop after each
//! poll; the UI thread only reads the newest rows. Cancelling or
//! terminating a backend goes through the console's actions
//! ([`crate::actions::Action::CancelBackend`] /
//! [`crate::actions::Action::TerminateBackend`]): confirmation, read-only
//! refusal, task runner, audit log.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::model::Deployment;
use crate::tasks::{SshPool, Target};
use crate::triage::activity::{self, SessionRow, blocking_pids};

/// How often the sessions are listed again.
pub const REFRESH: Duration = Duration::from_secs(2);

/// The newest listing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActivityData {
    pub rows: Vec<SessionRow>,
    /// When the rows were listed (`None`: not yet).
    pub updated: Option<SystemTime>,
    /// Why the last listing failed (the rows are the previous ones).
    pub error: Option<String>,
    /// Listings done.
    pub polls: u64,
}

/// The activity view.
#[derive(Debug, Clone)]
pub struct ActivityState {
    pub cluster: String,
    pub instance: String,
    pub data: Arc<Mutex<ActivityData>>,
    /// The selected session's pid, and its row index (kept when the pid
    /// goes away).
    pub selected: Option<(i32, usize)>,
    /// Idle sessions are listed too (else only active, waiting, blocking
    /// and in-transaction ones).
    pub show_idle: bool,
    cancel: CancellationToken,
    wake: Arc<tokio::sync::Notify>,
}

impl ActivityState {
    pub fn new(cluster: &str, instance: &str) -> Self {
        ActivityState {
            cluster: cluster.to_string(),
            instance: instance.to_string(),
            data: Arc::new(Mutex::new(ActivityData::default())),
            selected: None,
            show_idle: false,
            cancel: CancellationToken::new(),
            wake: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// The newest listing, locked briefly.
    pub fn lock(&self) -> MutexGuard<'_, ActivityData> {
        self.data.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts the background refresher; without SSH the view says why.
    pub fn start(
        &mut self,
        deployment: &Deployment,
        ssh: Option<&SshPool>,
        notify: Option<tokio::sync::mpsc::UnboundedSender<()>>,
    ) {
        let Some(pool) = ssh else {
            self.lock().error = Some("sessions cannot be listed here: no SSH connection".into());
            return;
        };
        let Some(inst) = deployment.instance(&self.instance).cloned() else {
            self.lock().error = Some(format!("{} is not in the inventory", self.instance));
            return;
        };
        let pool = pool.clone();
        let target = Target::from_instance(&inst);
        let data = self.data.clone();
        let cancel = self.cancel.clone();
        let wake = self.wake.clone();
        tokio::spawn(async move {
            loop {
                let res = tokio::select! {
                    r = activity::list(&pool, &target, &inst) => r,
                    _ = cancel.cancelled() => return,
                };
                {
                    let mut d = data.lock().unwrap_or_else(|p| p.into_inner());
                    match res {
                        Ok(rows) => {
                            d.rows = rows;
                            d.error = None;
                        }
                        Err(e) => d.error = Some(e.to_string()),
                    }
                    d.updated = Some(SystemTime::now());
                    d.polls += 1;
                }
                if let Some(tx) = &notify
                    && tx.send(()).is_err()
                {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(REFRESH) => {}
                    _ = wake.notified() => {}
                    _ = cancel.cancelled() => return,
                }
            }
        });
    }

    /// Lists again now (after a cancel or terminate).
    pub fn refresh_now(&self) {
        self.wake.notify_one();
    }

    /// A handle that makes the refresher list again.
    pub fn waker(&self) -> Arc<tokio::sync::Notify> {
        self.wake.clone()
    }

    /// Stops the refresher (the view closes).
    pub fn stop(&self) {
        self.cancel.cancel();
    }

    /// The rows shown: every session with [`ActivityState::show_idle`],
    /// else those not simply idle (idle ones that block others stay).
    pub fn visible_rows(&self) -> Vec<SessionRow> {
        let d = self.lock();
        let blocking = blocking_pids(&d.rows);
        d.rows
            .iter()
            .filter(|r| self.show_idle || r.state != "idle" || blocking.contains(&r.pid))
            .cloned()
            .collect()
    }

    /// Index of the selected row in `rows`: the selected pid, else the row
    /// at its former index, else the first.
    pub fn selected_index(&self, rows: &[SessionRow]) -> Option<usize> {
        if rows.is_empty() {
            return None;
        }
        Some(match self.selected {
            None => 0,
            Some((pid, index)) => rows
                .iter()
                .position(|r| r.pid == pid)
                .unwrap_or(index.min(rows.len() - 1)),
        })
    }

    /// The selected session.
    pub fn selected_row(&self) -> Option<SessionRow> {
        let rows = self.visible_rows();
        let i = self.selected_index(&rows)?;
        rows.into_iter().nth(i)
    }

    /// Moves the selection by `delta` rows.
    pub fn move_selection(&mut self, delta: isize) {
        let rows = self.visible_rows();
        let Some(i) = self.selected_index(&rows) else {
            return;
        };
        let j = (i as isize + delta).clamp(0, rows.len() as isize - 1) as usize;
        self.selected = Some((rows[j].pid, j));
    }

    /// Selects the session of `pid` if it is shown.
    pub fn select_pid(&mut self, pid: i32) -> bool {
        let rows = self.visible_rows();
        match rows.iter().position(|r| r.pid == pid) {
            Some(i) => {
                self.selected = Some((pid, i));
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pid: i32, state: &str, blocked_by: Vec<i32>) -> SessionRow {
        SessionRow {
            pid,
            user: "dbuser_dba".into(),
            database: "postgres".into(),
            application: "psql".into(),
            client: "127.0.0.1".into(),
            state: state.into(),
            wait_event_type: None,
            wait_event: None,
            query_seconds: Some(1.0),
            xact_seconds: None,
            blocked_by,
            query: "SELECT 1".into(),
        }
    }

    #[test]
    fn idle_sessions_hidden_unless_blocking_and_selection_follows_the_pid() {
        let mut a = ActivityState::new("pg-test", "pg-test-1");
        a.lock().rows = vec![
            row(10, "idle", vec![]),
            row(11, "idle", vec![]),
            row(12, "active", vec![11]),
            row(13, "idle in transaction", vec![]),
        ];
        let pids: Vec<i32> = a.visible_rows().iter().map(|r| r.pid).collect();
        assert_eq!(pids, [11, 12, 13]);
        a.show_idle = true;
        assert_eq!(a.visible_rows().len(), 4);
        a.show_idle = false;
        assert_eq!(a.selected_row().unwrap().pid, 11);
        a.move_selection(1);
        assert_eq!(a.selected_row().unwrap().pid, 12);
        a.move_selection(10);
        assert_eq!(a.selected_row().unwrap().pid, 13);
        // The session goes away: the selection stays at its place.
        a.lock().rows.retain(|r| r.pid != 13);
        assert_eq!(a.selected_row().unwrap().pid, 12);
        assert!(a.select_pid(11));
        assert!(!a.select_pid(10));
        assert_eq!(a.selected_row().unwrap().pid, 11);
    }
}
