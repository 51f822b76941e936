//! Everything the console remembers between frames, apart from the
//! deployment and the live snapshot. Drawing reads it; key handling changes it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ratatui::layout::Rect;

use super::palette::{self, Command, PaletteState};
use super::tree::{TreeItem, TreeState};
use crate::model::Deployment;

/// Which pane receives keys when no popup is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Tree,
    Detail,
}

/// A popup drawn over the panes; it takes every key while open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    Help {
        scroll: u16,
    },
    Palette(PaletteState),
    Warnings {
        scroll: u16,
    },
    /// Active alerts (`a`); `selected` indexes the sorted list.
    Alerts {
        selected: usize,
    },
    /// Every finding of the deployment (`f`).
    Findings {
        selected: usize,
    },
}

/// The sections of the cluster view, switched with `1`..`6` or `[` / `]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClusterTab {
    /// Summary, leader per source, live replication tree.
    #[default]
    Topology,
    /// patronictl-style member table.
    Members,
    /// Timeline history.
    History,
    /// Sparklines: TPS, replication lag, connections.
    Metrics,
    /// HAProxy services and where they route.
    Routing,
    /// Findings and alerts of the cluster.
    Findings,
}

impl ClusterTab {
    pub const ALL: [ClusterTab; 6] = [
        ClusterTab::Topology,
        ClusterTab::Members,
        ClusterTab::History,
        ClusterTab::Metrics,
        ClusterTab::Routing,
        ClusterTab::Findings,
    ];

    pub fn title(self) -> &'static str {
        match self {
            ClusterTab::Topology => "Topology",
            ClusterTab::Members => "Members",
            ClusterTab::History => "History",
            ClusterTab::Metrics => "Metrics",
            ClusterTab::Routing => "Routing",
            ClusterTab::Findings => "Findings",
        }
    }

    /// 0-based position.
    pub fn index(self) -> usize {
        ClusterTab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    /// The tab `delta` places away, wrapping around.
    pub fn cycle(self, delta: isize) -> ClusterTab {
        let n = ClusterTab::ALL.len() as isize;
        ClusterTab::ALL[(self.index() as isize + delta).rem_euclid(n) as usize]
    }

    /// The tab of a digit key (`'1'` → Topology).
    pub fn from_digit(c: char) -> Option<ClusterTab> {
        let d = c.to_digit(10)? as usize;
        ClusterTab::ALL.get(d.checked_sub(1)?).copied()
    }
}

/// A one-line message shown in the footer instead of the key hints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMessage {
    pub text: String,
    pub is_error: bool,
    /// When it was set; it disappears after [`STATUS_LIFETIME`].
    pub since: Instant,
}

/// How long a status message stays in the footer.
pub const STATUS_LIFETIME: Duration = Duration::from_secs(6);

/// What handling a key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not for this component; let the next one try.
    Ignored,
    /// Consumed; the screen may have changed.
    Handled,
    /// The operator asked to leave.
    Quit,
}

/// The console's state.
#[derive(Debug, Clone)]
pub struct AppState {
    pub tree: TreeState,
    pub focus: Focus,
    pub overlay: Option<Overlay>,
    /// The section the cluster view shows (kept while moving between clusters).
    pub cluster_tab: ClusterTab,
    /// The filter bar is being edited (keys go to it).
    pub filter_editing: bool,
    /// First line of the detail pane shown.
    pub detail_scroll: u16,
    pub status: Option<StatusMessage>,
    /// Problems found outside the inventory (a theme that failed to load…),
    /// listed with the inventory's warnings.
    pub notices: Vec<String>,
    pub readonly: bool,
    /// The inventory file as given on the command line.
    pub inventory_path: PathBuf,
    /// The home directory, shown as `~` in paths.
    pub home: Option<PathBuf>,
    /// Size of the whole terminal, for page sizes and scroll limits.
    pub screen: Rect,
}

impl AppState {
    pub fn new(deployment: &Deployment) -> Self {
        AppState {
            tree: TreeState::new(deployment),
            focus: Focus::Tree,
            overlay: None,
            cluster_tab: ClusterTab::default(),
            filter_editing: false,
            detail_scroll: 0,
            status: None,
            notices: Vec::new(),
            readonly: false,
            inventory_path: deployment.source.clone(),
            home: std::env::var_os("HOME").map(PathBuf::from),
            screen: Rect::new(0, 0, 80, 24),
        }
    }

    /// Number of warnings shown in the header: the inventory's and ours.
    pub fn warning_count(&self, deployment: &Deployment) -> usize {
        deployment.warnings.len() + self.notices.len()
    }

    /// Records a new terminal size.
    pub fn resize(&mut self, width: u16, height: u16) {
        self.screen = Rect::new(0, 0, width, height);
        let rows = self.tree_viewport_rows();
        self.tree.scroll_into_view(rows);
    }

    /// Rows of tree the left pane can show at the current size.
    pub fn tree_viewport_rows(&self) -> usize {
        let layout = crate::ui::layout::Screen::new(self.screen);
        let filter_line = usize::from(self.filter_editing || !self.tree.filter().is_empty());
        (layout.tree.height.saturating_sub(2) as usize).saturating_sub(filter_line)
    }

    /// Lines of the detail pane visible at the current size.
    pub fn detail_viewport_rows(&self) -> usize {
        let layout = crate::ui::layout::Screen::new(self.screen);
        layout.detail.height.saturating_sub(2) as usize
    }

    pub fn set_status(&mut self, text: impl Into<String>, is_error: bool) {
        self.status = Some(StatusMessage {
            text: text.into(),
            is_error,
            since: Instant::now(),
        });
    }

    /// Called on every tick; returns whether the screen must be redrawn.
    pub fn on_tick(&mut self, now: Instant) -> bool {
        match &self.status {
            Some(s) if now.duration_since(s.since) >= STATUS_LIFETIME => {
                self.status = None;
                true
            }
            _ => false,
        }
    }

    /// The selection changed: the detail pane starts from the top again.
    pub fn selection_changed(&mut self) {
        self.detail_scroll = 0;
    }

    /// Shows another section of the cluster view, from its top.
    pub fn set_cluster_tab(&mut self, tab: ClusterTab) {
        if self.cluster_tab != tab {
            self.cluster_tab = tab;
            self.detail_scroll = 0;
        }
    }

    pub fn open_palette(&mut self) {
        self.overlay = Some(Overlay::Palette(PaletteState::default()));
    }

    pub fn start_filter(&mut self) {
        self.filter_editing = true;
        self.focus = Focus::Tree;
    }

    /// Sets the tree filter and keeps the selection visible.
    pub fn set_filter(&mut self, deployment: &Deployment, text: &str) {
        let before = self.tree.selected();
        self.tree.set_filter(deployment, text);
        let rows = self.tree_viewport_rows();
        self.tree.scroll_into_view(rows);
        if self.tree.selected() != before {
            self.selection_changed();
        }
    }

    /// Selects a tree item, showing it even if it was filtered or collapsed.
    pub fn select_item(&mut self, deployment: &Deployment, item: TreeItem) -> bool {
        let before = self.tree.selected();
        let rows = self.tree_viewport_rows();
        let found = self.tree.select(deployment, item, rows);
        if self.tree.selected() != before {
            self.selection_changed();
        }
        found
    }

    /// Runs a palette command. `Err` carries the message shown in the palette.
    pub fn run_command(
        &mut self,
        deployment: &Deployment,
        command: Command,
    ) -> Result<Outcome, String> {
        match command {
            Command::Quit => return Ok(Outcome::Quit),
            Command::Cluster(name) => {
                let Some(c) = deployment.clusters.iter().position(|c| c.name == name) else {
                    return Err(not_found(
                        "cluster",
                        &name,
                        deployment.clusters.iter().map(|c| c.name.as_str()),
                    ));
                };
                self.select_item(deployment, TreeItem::Cluster(c));
                self.tree
                    .set_expanded(deployment, TreeItem::Cluster(c), true);
                self.overlay = None;
                self.focus = Focus::Tree;
            }
            Command::Node(key) => {
                let Some(item) = find_node(deployment, &key) else {
                    let names = deployment
                        .infra
                        .iter()
                        .map(|n| n.name.as_str())
                        .chain(deployment.instances().map(|i| i.name.as_str()));
                    return Err(not_found("node", &key, names));
                };
                self.select_item(deployment, item);
                self.overlay = None;
                self.focus = Focus::Tree;
            }
            Command::Filter(text) => {
                self.overlay = None;
                self.set_filter(deployment, &text);
            }
            Command::ExpandAll | Command::CollapseAll => {
                self.tree
                    .set_all_clusters_expanded(deployment, command == Command::ExpandAll);
                let rows = self.tree_viewport_rows();
                self.tree.scroll_into_view(rows);
                self.overlay = None;
            }
            Command::Warnings => self.overlay = Some(Overlay::Warnings { scroll: 0 }),
            Command::Alerts => self.overlay = Some(Overlay::Alerts { selected: 0 }),
            Command::Findings => self.overlay = Some(Overlay::Findings { selected: 0 }),
            Command::Tab(tab) => {
                self.set_cluster_tab(tab);
                self.overlay = None;
            }
            Command::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
        }
        Ok(Outcome::Handled)
    }

    /// Parses and runs the palette's line; on error the palette stays open
    /// and shows why.
    pub fn submit_palette(&mut self, deployment: &Deployment) -> Outcome {
        let Some(Overlay::Palette(p)) = &self.overlay else {
            return Outcome::Ignored;
        };
        let line = p.input.clone();
        let result = palette::parse(&line).and_then(|cmd| self.run_command(deployment, cmd));
        match result {
            Ok(outcome) => outcome,
            Err(message) => {
                if let Some(Overlay::Palette(p)) = &mut self.overlay {
                    p.error = Some(message);
                }
                Outcome::Handled
            }
        }
    }
}

/// The tree item for a node key: an infra node by IP or name first, else an
/// instance by IP, instance name or nodename.
pub fn find_node(deployment: &Deployment, key: &str) -> Option<TreeItem> {
    if let Some(n) = deployment
        .infra
        .iter()
        .position(|n| n.ip == key || n.name == key)
    {
        return Some(TreeItem::InfraNode(n));
    }
    deployment
        .clusters
        .iter()
        .enumerate()
        .find_map(|(c, cluster)| {
            cluster
                .instances
                .iter()
                .position(|i| i.ip == key || i.name == key || i.nodename.as_deref() == Some(key))
                .map(|i| TreeItem::Instance {
                    cluster: c,
                    instance: i,
                })
        })
}

fn not_found<'a>(what: &str, key: &str, names: impl Iterator<Item = &'a str>) -> String {
    let lower = key.to_lowercase();
    let similar: Vec<&str> = names
        .filter(|n| {
            let n = n.to_lowercase();
            n.contains(&lower) || lower.contains(&n)
        })
        .take(3)
        .collect();
    if similar.is_empty() {
        format!("no {what} '{key}'")
    } else {
        format!("no {what} '{key}' (did you mean {}?)", similar.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_node_prefers_infra_then_instances() {
        let d = crate::inventory::parse(
            &crate::inventory::generate_inventory(2, 2),
            std::path::Path::new("generated.yml"),
        )
        .expect("generated inventory parses");
        let infra = &d.infra[0];
        assert_eq!(find_node(&d, &infra.ip), Some(TreeItem::InfraNode(0)));
        let inst = &d.clusters[1].instances[1];
        assert_eq!(
            find_node(&d, &inst.name),
            Some(TreeItem::Instance {
                cluster: 1,
                instance: 1
            })
        );
        assert_eq!(find_node(&d, "no-such-node"), None);
    }

    #[test]
    fn cluster_tabs_cycle_and_parse() {
        assert_eq!(ClusterTab::from_digit('1'), Some(ClusterTab::Topology));
        assert_eq!(ClusterTab::from_digit('6'), Some(ClusterTab::Findings));
        assert_eq!(ClusterTab::from_digit('0'), None);
        assert_eq!(ClusterTab::from_digit('7'), None);
        assert_eq!(ClusterTab::Topology.cycle(-1), ClusterTab::Findings);
        assert_eq!(ClusterTab::Findings.cycle(1), ClusterTab::Topology);
        assert_eq!(ClusterTab::Members.cycle(1), ClusterTab::History);
    }

    #[test]
    fn status_messages_expire_on_tick() {
        let d = crate::inventory::parse(
            &crate::inventory::generate_inventory(1, 1),
            std::path::Path::new("generated.yml"),
        )
        .expect("generated inventory parses");
        let mut app = AppState::new(&d);
        app.set_status("hello", false);
        let since = app.status.as_ref().unwrap().since;
        assert!(!app.on_tick(since + Duration::from_secs(1)));
        assert!(app.status.is_some());
        assert!(app.on_tick(since + STATUS_LIFETIME));
        assert!(app.status.is_none());
        assert!(
            !app.on_tick(since + STATUS_LIFETIME * 2),
            "nothing to redraw"
        );
    }
}
