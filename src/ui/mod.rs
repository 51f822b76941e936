//! Views: one file per view; they render a model and the newest snapshot.
//!
//! Every view is a pure function of a [`View`]: the console's state, the
//! declared deployment, the newest live snapshot and the theme. Nothing here
//! touches the network or the terminal; [`draw`] works the same on a
//! `TestBackend`.
//!
//! Panes and popups implement [`Component`]: they draw themselves, handle the
//! keys they own, and list those keys for the footer and the help popup, so
//! bindings and their hints are written in one place.

pub mod activity_view;
pub mod alerts;
pub mod clipboard;
pub mod cluster_view;
pub mod detail;
pub mod events;
pub mod filter;
pub mod findings;
pub mod footer;
pub mod header;
pub mod health;
pub mod help;
pub mod layout;
pub mod live;
pub mod logs_view;
pub mod node_view;
pub mod overview;
pub mod palette;
pub mod playbook_view;
pub mod prompt_dialog;
pub mod setup_wizard;
pub mod tasks;
pub mod text;
pub mod theme;
pub mod tree;
pub mod warnings;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::app::state::{AppState, Focus, Outcome, Overlay};
use crate::model::Deployment;
use crate::snapshot::Snapshot;
use theme::Theme;

/// Everything a view may read.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub app: &'a AppState,
    pub deployment: &'a Deployment,
    pub snapshot: &'a Snapshot,
    pub theme: &'a Theme,
}

/// A key and what it does, for the footer and the help popup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyHint {
    pub keys: &'static str,
    pub action: &'static str,
}

impl KeyHint {
    pub const fn new(keys: &'static str, action: &'static str) -> Self {
        KeyHint { keys, action }
    }
}

/// A pane or popup of the console.
pub trait Component {
    /// Name of the component's section in the help popup.
    fn name(&self) -> &'static str;

    /// Draws the component into `area`.
    fn draw(&self, frame: &mut Frame, area: Rect, view: &View);

    /// Reacts to a key while the component has focus. `snapshot` is the
    /// newest live state (what is on screen), never fetched here.
    fn handle_key(
        &self,
        key: KeyEvent,
        app: &mut AppState,
        deployment: &Deployment,
        snapshot: &Snapshot,
    ) -> Outcome;

    /// The hints the footer shows while the component has focus, most
    /// useful first; they may depend on the state (expand vs. collapse).
    fn commands(&self, app: &AppState, deployment: &Deployment) -> Vec<KeyHint>;

    /// Every binding of the component, for the help popup.
    fn bindings(&self) -> &'static [KeyHint];
}

/// Keys that work wherever no popup or text input has focus.
pub const GLOBAL_BINDINGS: &[KeyHint] = &[
    KeyHint::new("?", "help"),
    KeyHint::new("/", "filter"),
    KeyHint::new(":", "command"),
    KeyHint::new("Tab", "next pane"),
    KeyHint::new("S-Tab", "previous pane"),
    KeyHint::new("w", "warnings"),
    KeyHint::new("a", "alerts"),
    KeyHint::new("f", "findings (where sources disagree)"),
    KeyHint::new("x", "actions on the selection"),
    KeyHint::new("t", "background tasks"),
    KeyHint::new("e", "event timeline"),
    KeyHint::new("L", "logs of the instance or cluster"),
    KeyHint::new("A", "sessions of the instance"),
    KeyHint::new("R", "incident report of the cluster"),
    KeyHint::new("y", "copy DSN or name (OSC 52)"),
    KeyHint::new("b", "backups of the cluster"),
    KeyHint::new("q", "quit"),
    KeyHint::new("C-c", "quit (anywhere)"),
];

/// The component that receives keys now: an open popup, the filter bar
/// being edited, else the focused pane.
pub fn focused_component(app: &AppState) -> &'static dyn Component {
    if !app.prompts.is_empty() {
        return &prompt_dialog::PromptDialog;
    }
    match &app.overlay {
        Some(Overlay::Help { .. }) => &help::HelpPopup,
        Some(Overlay::Palette(_)) => &palette::Palette,
        Some(Overlay::Warnings { .. }) => &warnings::WarningsPopup,
        Some(Overlay::Alerts { .. }) => &alerts::AlertsPopup,
        Some(Overlay::Findings { .. }) => &findings::FindingsPopup,
        Some(Overlay::ActionMenu { .. }) => &tasks::ActionMenu,
        Some(Overlay::Confirm) => &tasks::ConfirmDialog,
        Some(Overlay::Tasks { .. }) => &tasks::TaskList,
        Some(Overlay::Events { .. }) => &events::EventsView,
        Some(Overlay::Task { .. }) => &tasks::TaskView,
        Some(Overlay::Playbook { .. }) => &playbook_view::PlaybookView,
        Some(Overlay::Logs) => &logs_view::LogsView,
        Some(Overlay::Activity) => &activity_view::ActivityView,
        None if app.filter_editing => &filter::FilterBar,
        None => match app.focus {
            Focus::Tree => &tree::TreePane,
            Focus::Detail => &detail::DetailPane,
        },
    }
}

/// Every component, in the order the help popup lists them.
pub fn all_components() -> [&'static dyn Component; 17] {
    [
        &tree::TreePane,
        &detail::DetailPane,
        &filter::FilterBar,
        &palette::Palette,
        &help::HelpPopup,
        &warnings::WarningsPopup,
        &alerts::AlertsPopup,
        &findings::FindingsPopup,
        &tasks::ActionMenu,
        &tasks::ConfirmDialog,
        &tasks::TaskList,
        &tasks::TaskView,
        &events::EventsView,
        &playbook_view::PlaybookView,
        &prompt_dialog::PromptDialog,
        &logs_view::LogsView,
        &activity_view::ActivityView,
    ]
}

/// Draws one whole frame: header, tree, detail, footer, then any popup.
pub fn draw(
    frame: &mut Frame,
    app: &AppState,
    deployment: &Deployment,
    snapshot: &Snapshot,
    theme: &Theme,
) {
    let view = View {
        app,
        deployment,
        snapshot,
        theme,
    };
    let problems = health::problems(app, deployment, snapshot);
    let screen = layout::Screen::with_health(frame.area(), health::rows(&problems));
    header::draw(frame, screen.header, &view);
    health::draw(frame, screen.health, &view, &problems);
    tree::TreePane.draw(frame, screen.tree, &view);
    detail::DetailPane.draw(frame, screen.detail, &view);
    footer::draw(frame, screen.footer, &view);
    // A confirmation asked from a view (the activity view) is drawn over it.
    if let (Some(Overlay::Confirm), Some(back)) = (
        &app.overlay,
        app.pending.as_ref().and_then(|p| p.back.as_ref()),
    ) {
        match back {
            Overlay::Activity => activity_view::ActivityView.draw(frame, frame.area(), &view),
            Overlay::Logs => logs_view::LogsView.draw(frame, frame.area(), &view),
            _ => {}
        }
    }
    match &app.overlay {
        Some(Overlay::Help { .. }) => help::HelpPopup.draw(frame, frame.area(), &view),
        Some(Overlay::Palette(_)) => palette::Palette.draw(frame, frame.area(), &view),
        Some(Overlay::Warnings { .. }) => warnings::WarningsPopup.draw(frame, frame.area(), &view),
        Some(Overlay::Alerts { .. }) => alerts::AlertsPopup.draw(frame, frame.area(), &view),
        Some(Overlay::Findings { .. }) => findings::FindingsPopup.draw(frame, frame.area(), &view),
        Some(Overlay::ActionMenu { .. }) => tasks::ActionMenu.draw(frame, frame.area(), &view),
        Some(Overlay::Confirm) => tasks::ConfirmDialog.draw(frame, frame.area(), &view),
        Some(Overlay::Tasks { .. }) => tasks::TaskList.draw(frame, frame.area(), &view),
        Some(Overlay::Events { .. }) => events::EventsView.draw(frame, frame.area(), &view),
        Some(Overlay::Task { .. }) => tasks::TaskView.draw(frame, frame.area(), &view),
        Some(Overlay::Playbook { .. }) => {
            playbook_view::PlaybookView.draw(frame, frame.area(), &view)
        }
        Some(Overlay::Logs) => logs_view::LogsView.draw(frame, frame.area(), &view),
        Some(Overlay::Activity) => activity_view::ActivityView.draw(frame, frame.area(), &view),
        None => {}
    }
    // SSH questions go over everything: a task waits for the answer.
    if !app.prompts.is_empty() {
        prompt_dialog::PromptDialog.draw(frame, frame.area(), &view);
    }
}
