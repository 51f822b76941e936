//! The wizard's interactive state: the form of the Nodes step, the check
//! results, the config editor (ratatui-textarea), the install task and the
//! verify results. Keys change it ([`Wizard::handle_key`]) and return a
//! [`Request`] for the event loop (`cli::setup`) to carry out in the
//! background; results come back as [`WizardEvent`]s. Nothing here touches
//! the network.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use super::checks::{NodeCheck, Verdict};
use super::verify::VerifyLine;
use super::{SetupInputs, SetupState, SetupStep, config};
use crate::actions::playbook::LogFollower;
use crate::tasks::TaskHandle;

/// One field of the Nodes form.
pub struct Field {
    pub label: &'static str,
    pub hint: &'static str,
    pub input: TextArea<'static>,
}

impl Field {
    fn new(label: &'static str, hint: &'static str, value: &str) -> Self {
        let mut input = TextArea::new(vec![value.to_string()]);
        input.move_cursor(ratatui_textarea::CursorMove::End);
        Field { label, hint, input }
    }

    pub fn value(&self) -> String {
        self.input.lines().join("").trim().to_string()
    }
}

/// Fields of the form, in order.
pub const FIELD_ADMIN: usize = 0;
pub const FIELD_NODES: usize = 1;
pub const FIELD_USER: usize = 2;
pub const FIELD_KEY: usize = 3;
pub const FIELD_PORT: usize = 4;
pub const FIELD_CLUSTER: usize = 5;
pub const FIELD_HOME: usize = 6;
pub const FIELD_SANDBOX: usize = 7;

fn fields_of(i: &SetupInputs) -> Vec<Field> {
    vec![
        Field::new(
            "Admin node IP",
            "runs the playbooks, infra, etcd and pg-meta",
            &i.admin_ip,
        ),
        Field::new(
            "Database node IPs",
            "space or comma separated; the first becomes the primary",
            &i.nodes.join(" "),
        ),
        Field::new("SSH user", "admin user with passwordless sudo", &i.ssh_user),
        Field::new(
            "SSH private key",
            "empty: ssh-agent and ~/.ssh defaults",
            i.ssh_key.as_deref().unwrap_or(""),
        ),
        Field::new("SSH port", "", &i.ssh_port.to_string()),
        Field::new(
            "Cluster name",
            "the HA cluster on the database nodes",
            &i.cluster,
        ),
        Field::new(
            "Pigsty home",
            "Pigsty's directory on the admin node",
            &i.pigsty_home,
        ),
        Field::new(
            "Local sandbox",
            "yes: the loopback sandbox of tests/sandbox (Ctrl-L fills every field)",
            if i.sandbox { "yes" } else { "no" },
        ),
    ]
}

/// What the event loop must do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    None,
    /// Check every node; `accept_new`: trust unknown host keys (recorded).
    RunChecks {
        accept_new: bool,
    },
    /// Start (or resume) the install task.
    StartInstall,
    /// Cancel the running install task.
    CancelInstall,
    /// Poll the new deployment and evaluate it.
    Verify,
    /// Leave the wizard and open the console on the saved inventory.
    OpenConsole(PathBuf),
    Quit,
}

/// Results of background work.
#[derive(Debug)]
pub enum WizardEvent {
    Checked(Vec<NodeCheck>),
    Verified(Vec<VerifyLine>),
    /// The install task has news (output, step ended).
    TaskChanged,
}

pub struct Wizard {
    /// Whether a file (the SSH key) exists; tests replace it.
    pub key_exists: fn(&Path) -> bool,
    pub state: SetupState,
    pub state_dir: PathBuf,
    /// Where the config is saved locally.
    pub output: PathBuf,
    pub fields: Vec<Field>,
    pub focus: usize,
    pub checks: Vec<NodeCheck>,
    pub checking: bool,
    pub editor: TextArea<'static>,
    pub config_error: Option<String>,
    pub install: Option<(TaskHandle, LogFollower)>,
    /// Show Ansible's raw output instead of the progress tree.
    pub raw: bool,
    pub verify: Vec<VerifyLine>,
    pub verifying: bool,
    pub verify_since: Option<Instant>,
    /// Footer message (text, is error).
    pub message: Option<(String, bool)>,
}

impl Wizard {
    pub fn new(state: SetupState, state_dir: PathBuf, output: PathBuf) -> Self {
        let fields = fields_of(&state.inputs);
        let editor = TextArea::new(
            state
                .config
                .as_deref()
                .unwrap_or("")
                .lines()
                .map(str::to_string)
                .collect(),
        );
        Wizard {
            key_exists: |p| p.is_file(),
            state,
            state_dir,
            output,
            fields,
            focus: 0,
            checks: Vec::new(),
            checking: false,
            editor,
            config_error: None,
            install: None,
            raw: false,
            verify: Vec::new(),
            verifying: false,
            verify_since: None,
            message: None,
        }
    }

    pub fn step(&self) -> SetupStep {
        self.state.step
    }

    fn save(&mut self) {
        if let Err(e) = self.state.save(&self.state_dir) {
            self.message = Some((format!("cannot save the wizard state: {e}"), true));
        }
    }

    fn go(&mut self, step: SetupStep) {
        self.state.step = step;
        self.save();
    }

    /// The inputs as the form holds them (not validated).
    pub fn form_inputs(&self) -> Result<SetupInputs, String> {
        let v = |i: usize| self.fields[i].value();
        let port = v(FIELD_PORT);
        Ok(SetupInputs {
            admin_ip: v(FIELD_ADMIN),
            nodes: v(FIELD_NODES)
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            ssh_user: v(FIELD_USER),
            ssh_key: Some(v(FIELD_KEY)).filter(|k| !k.is_empty()),
            ssh_port: port
                .parse()
                .map_err(|_| format!("SSH port: '{port}' is not a port number"))?,
            cluster: v(FIELD_CLUSTER),
            pigsty_home: v(FIELD_HOME),
            sandbox: matches!(
                v(FIELD_SANDBOX).to_lowercase().as_str(),
                "yes" | "y" | "true"
            ),
        })
    }

    /// Problems of the form's inputs.
    pub fn form_problems(&self) -> Vec<String> {
        match self.form_inputs() {
            Ok(i) => i.problems_with(&self.key_exists),
            Err(e) => vec![e],
        }
    }

    /// A key; returns what the loop must start.
    pub fn handle_key(&mut self, key: KeyEvent) -> Request {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            self.save();
            return Request::Quit;
        }
        self.message = None;
        match self.state.step {
            SetupStep::Nodes => self.key_nodes(key, ctrl),
            SetupStep::Check => self.key_check(key),
            SetupStep::Config => self.key_config(key, ctrl),
            SetupStep::Install => self.key_install(key),
            SetupStep::Verify => self.key_verify(key),
            SetupStep::Done => match key.code {
                KeyCode::Enter => Request::OpenConsole(self.output.clone()),
                KeyCode::Char('q') | KeyCode::Esc => Request::Quit,
                _ => Request::None,
            },
        }
    }

    fn key_nodes(&mut self, key: KeyEvent, ctrl: bool) -> Request {
        let n = self.fields.len();
        match key.code {
            KeyCode::Char('l') if ctrl => {
                self.fields = fields_of(&SetupInputs::sandbox());
                self.message = Some(("filled in the local sandbox's nodes".into(), false));
            }
            KeyCode::Tab | KeyCode::Down => self.focus = (self.focus + 1) % n,
            KeyCode::BackTab | KeyCode::Up => self.focus = (self.focus + n - 1) % n,
            KeyCode::Esc => {
                self.save();
                return Request::Quit;
            }
            KeyCode::Enter if self.focus + 1 < n => self.focus += 1,
            KeyCode::Enter => return self.submit_nodes(),
            KeyCode::Char(' ') if self.focus == FIELD_SANDBOX => {
                let yes = self.fields[FIELD_SANDBOX].value() == "yes";
                self.fields[FIELD_SANDBOX] = Field::new(
                    self.fields[FIELD_SANDBOX].label,
                    self.fields[FIELD_SANDBOX].hint,
                    if yes { "no" } else { "yes" },
                );
            }
            _ => {
                self.fields[self.focus].input.input(key);
            }
        }
        Request::None
    }

    /// The form is complete: keep the inputs and check the nodes.
    pub fn submit_nodes(&mut self) -> Request {
        let inputs = match self.form_inputs() {
            Ok(i) => i,
            Err(e) => {
                self.message = Some((e, true));
                return Request::None;
            }
        };
        let problems = inputs.problems_with(&self.key_exists);
        if let Some(p) = problems.first() {
            self.message = Some((p.clone(), true));
            return Request::None;
        }
        if inputs != self.state.inputs {
            // new nodes: a new config and a new install
            self.state.config = None;
            self.state.installed.clear();
            self.state.uploaded = false;
        }
        self.state.inputs = inputs;
        self.go(SetupStep::Check);
        self.checking = true;
        self.checks.clear();
        Request::RunChecks { accept_new: false }
    }

    fn key_check(&mut self, key: KeyEvent) -> Request {
        if self.checking {
            return Request::None;
        }
        match key.code {
            KeyCode::Esc => self.go(SetupStep::Nodes),
            KeyCode::Char('r') => {
                self.checking = true;
                return Request::RunChecks { accept_new: false };
            }
            KeyCode::Char('a') => {
                self.checking = true;
                return Request::RunChecks { accept_new: true };
            }
            KeyCode::Enter => return self.continue_after_checks(false),
            KeyCode::Char('!') => return self.continue_after_checks(true),
            _ => {}
        }
        Request::None
    }

    /// Go on to the config (refused while a check fails, unless `force`).
    pub fn continue_after_checks(&mut self, force: bool) -> Request {
        let failed = self
            .checks
            .iter()
            .filter(|c| c.verdict == Verdict::Fail)
            .count();
        if failed > 0 && !force {
            self.message = Some((
                format!("{failed} check(s) failed: fix them and press r (or ! to go on anyway)"),
                true,
            ));
            return Request::None;
        }
        if self.state.config.is_none() {
            self.state.config = Some(config::generate(&self.state.inputs));
        }
        self.load_editor();
        self.go(SetupStep::Config);
        Request::None
    }

    fn load_editor(&mut self) {
        let text = self.state.config.clone().unwrap_or_default();
        self.editor = TextArea::new(text.lines().map(str::to_string).collect());
        self.config_error = None;
    }

    fn key_config(&mut self, key: KeyEvent, ctrl: bool) -> Request {
        match key.code {
            KeyCode::Char('s') if ctrl => return self.save_config(),
            KeyCode::Char('r') if ctrl => {
                self.state.config = Some(config::generate(&self.state.inputs));
                self.load_editor();
                self.message = Some(("config generated again from the nodes".into(), false));
            }
            KeyCode::Esc => {
                self.state.config = Some(self.editor.lines().join("\n") + "\n");
                self.go(SetupStep::Check);
            }
            _ => {
                self.editor.input(key);
            }
        }
        Request::None
    }

    /// Validate the edited config, save it and start the install.
    pub fn save_config(&mut self) -> Request {
        let text = self.editor.lines().join("\n") + "\n";
        self.state.config = Some(text.clone());
        match config::validate(&text, &self.output) {
            Err(e) => {
                // jump to the line the loader names (`file:line:col`)
                if let Some(line) = error_line(&e) {
                    self.editor.move_cursor(ratatui_textarea::CursorMove::Jump(
                        line.saturating_sub(1) as u16,
                        0,
                    ));
                }
                self.config_error = Some(e);
                self.save();
                Request::None
            }
            Ok(_) => {
                if let Err(e) = config::save(&text, &self.output) {
                    self.config_error = Some(e);
                    return Request::None;
                }
                self.config_error = None;
                self.state.config_path = Some(self.output.clone());
                self.message = Some((format!("saved {}", self.output.display()), false));
                self.go(SetupStep::Install);
                Request::StartInstall
            }
        }
    }

    fn key_install(&mut self, key: KeyEvent) -> Request {
        let running = self
            .install
            .as_ref()
            .is_some_and(|(h, _)| !h.status().is_finished());
        match key.code {
            KeyCode::Char('o') => self.raw = !self.raw,
            KeyCode::Char('c') if running => return Request::CancelInstall,
            KeyCode::Char('r') if !running => return Request::StartInstall,
            KeyCode::Esc if !running => self.go(SetupStep::Config),
            KeyCode::Enter if !running && self.install_succeeded() => {
                return self.start_verify();
            }
            _ => {}
        }
        Request::None
    }

    pub fn install_succeeded(&self) -> bool {
        self.install
            .as_ref()
            .is_some_and(|(h, _)| h.status() == crate::tasks::TaskStatus::Succeeded)
    }

    /// The install task ended (or has news): record finished playbooks and,
    /// when it succeeded, go on to verify.
    pub fn on_install_progress(&mut self) -> Request {
        let Some((h, f)) = &mut self.install else {
            return Request::None;
        };
        f.poll();
        let status = h.status();
        if !status.is_finished() {
            return Request::None;
        }
        let failure = f.progress.failure_summary();
        let (done, uploaded) = {
            let st = h.state();
            (
                super::install::completed(&st),
                st.steps
                    .first()
                    .is_some_and(|s| s.status == crate::tasks::runner::StepStatus::Succeeded),
            )
        };
        let mut changed = false;
        for d in done {
            if !self.state.installed.contains(&d) {
                self.state.installed.push(d);
                changed = true;
            }
        }
        if uploaded && !self.state.uploaded {
            self.state.uploaded = true;
            changed = true;
        }
        if changed {
            self.save();
        }
        if status == crate::tasks::TaskStatus::Succeeded && self.state.step == SetupStep::Install {
            return self.start_verify();
        }
        if status != crate::tasks::TaskStatus::Succeeded && self.message.is_none() {
            let why = failure.unwrap_or_else(|| "a step failed (o: raw output)".into());
            self.message = Some((
                format!("install stopped: {why} — fix it, then r resumes"),
                true,
            ));
        }
        Request::None
    }

    fn start_verify(&mut self) -> Request {
        self.go(SetupStep::Verify);
        self.verifying = true;
        self.verify_since.get_or_insert_with(Instant::now);
        Request::Verify
    }

    fn key_verify(&mut self, key: KeyEvent) -> Request {
        match key.code {
            KeyCode::Char('r') if !self.verifying => {
                self.verifying = true;
                self.verify_since = Some(Instant::now());
                Request::Verify
            }
            KeyCode::Esc if !self.verifying => {
                self.go(SetupStep::Install);
                Request::None
            }
            KeyCode::Enter if super::verify::all_ok(&self.verify) => {
                self.go(SetupStep::Done);
                Request::None
            }
            _ => Request::None,
        }
    }

    /// Background results.
    pub fn on_event(&mut self, ev: WizardEvent) -> Request {
        match ev {
            WizardEvent::Checked(c) => {
                self.checking = false;
                self.checks = c;
                Request::None
            }
            WizardEvent::Verified(v) => {
                self.verifying = false;
                let ok = super::verify::all_ok(&v);
                self.verify = v;
                if ok {
                    self.message = Some(("every service is up".into(), false));
                    self.go(SetupStep::Done);
                    Request::None
                } else if self
                    .verify_since
                    .is_some_and(|t| t.elapsed() < VERIFY_PATIENCE)
                {
                    // services come up over a few seconds: ask again
                    self.verifying = true;
                    Request::Verify
                } else {
                    self.message = Some((
                        "not everything is up: fix it, then r verifies again".into(),
                        true,
                    ));
                    Request::None
                }
            }
            WizardEvent::TaskChanged => self.on_install_progress(),
        }
    }
}

/// How long verify keeps asking before it reports what is down.
pub const VERIFY_PATIENCE: std::time::Duration = std::time::Duration::from_secs(90);

/// The line number in a loader error (`file:LINE:COL: …`).
pub fn error_line(e: &str) -> Option<usize> {
    let mut parts = e.split(':');
    while let Some(p) = parts.next() {
        if let Ok(n) = p.trim().parse::<usize>()
            && parts
                .clone()
                .next()
                .is_some_and(|c| c.trim().parse::<usize>().is_ok())
        {
            return Some(n);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn wizard(dir: &std::path::Path) -> Wizard {
        let mut w = Wizard::new(
            SetupState::new(SetupInputs::default()),
            dir.to_path_buf(),
            dir.join("pigsty.yml"),
        );
        // the sandbox's key exists only while the sandbox is up
        w.key_exists = |_| true;
        w
    }

    #[test]
    fn the_form_refuses_bad_input_and_then_checks() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = wizard(dir.path());
        for c in "10.0.0.1".chars() {
            w.handle_key(key(KeyCode::Char(c)));
        }
        // Enter moves through the fields, the last one submits
        for _ in 0..7 {
            assert_eq!(w.handle_key(key(KeyCode::Enter)), Request::None);
        }
        assert_eq!(w.handle_key(key(KeyCode::Enter)), Request::None);
        assert!(w.message.as_ref().unwrap().0.contains("database nodes"));
        assert_eq!(w.step(), SetupStep::Nodes);
        w.handle_key(ctrl('l'));
        assert_eq!(w.form_inputs().unwrap(), SetupInputs::sandbox());
        assert_eq!(w.submit_nodes(), Request::RunChecks { accept_new: false });
        assert_eq!(w.step(), SetupStep::Check);
        // saved: a new wizard resumes at Check
        let again = SetupState::load(dir.path()).unwrap().unwrap();
        assert_eq!(again.step, SetupStep::Check);
    }

    #[test]
    fn failed_checks_hold_the_wizard_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = wizard(dir.path());
        w.handle_key(ctrl('l'));
        w.submit_nodes();
        w.on_event(WizardEvent::Checked(vec![NodeCheck {
            node: "127.0.0.11".into(),
            check: "sudo",
            verdict: Verdict::Fail,
            detail: "no sudo".into(),
            fix: Some("sudoers".into()),
        }]));
        w.handle_key(key(KeyCode::Enter));
        assert_eq!(w.step(), SetupStep::Check);
        w.handle_key(key(KeyCode::Char('!')));
        assert_eq!(w.step(), SetupStep::Config);
        assert!(w.editor.lines().iter().any(|l| l.contains("pg-test:")));
    }

    #[test]
    fn a_broken_config_is_not_saved_and_the_cursor_goes_to_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = wizard(dir.path());
        w.handle_key(ctrl('l'));
        w.submit_nodes();
        w.on_event(WizardEvent::Checked(Vec::new()));
        w.handle_key(key(KeyCode::Enter));
        assert_eq!(w.step(), SetupStep::Config);
        // break line 1 of the YAML
        w.editor
            .move_cursor(ratatui_textarea::CursorMove::Jump(20, 0));
        for c in "  : [".chars() {
            w.handle_key(key(KeyCode::Char(c)));
        }
        assert_eq!(w.handle_key(ctrl('s')), Request::None);
        let e = w.config_error.clone().expect("an error");
        assert!(e.contains("pigsty.yml"), "{e}");
        assert!(!dir.path().join("pigsty.yml").exists());
        assert!(error_line(&e).is_some(), "{e}");
        // regenerate and save: install starts
        w.handle_key(ctrl('r'));
        assert_eq!(w.handle_key(ctrl('s')), Request::StartInstall);
        assert!(dir.path().join("pigsty.yml").exists());
        assert_eq!(w.step(), SetupStep::Install);
    }

    #[test]
    fn error_lines_are_found() {
        assert_eq!(error_line("pigsty.yml:12:5: bad indentation"), Some(12));
        assert_eq!(error_line("no place here"), None);
    }
}
