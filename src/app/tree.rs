//! State of the left pane: the tree of infra nodes and clusters.
//!
//! The flattened list of visible rows is computed when the filter or the
//! expansion changes, never per frame; drawing reads only the visible slice.

use crate::model::Deployment;

/// Something the tree can show and select. Indices point into the
/// [`Deployment`] the state was built from (it does not change while the
/// console runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TreeItem {
    /// The "Infra" group row.
    InfraGroup,
    /// A meta / infra node: index into `Deployment::infra`.
    InfraNode(usize),
    /// The "Clusters" group row.
    ClustersGroup,
    /// A cluster: index into `Deployment::clusters`.
    Cluster(usize),
    /// An instance: indices into `Deployment::clusters` and its `instances`.
    Instance { cluster: usize, instance: usize },
}

impl TreeItem {
    /// The row this item hangs under, if any.
    pub fn parent(self) -> Option<TreeItem> {
        match self {
            TreeItem::InfraGroup | TreeItem::ClustersGroup => None,
            TreeItem::InfraNode(_) => Some(TreeItem::InfraGroup),
            TreeItem::Cluster(_) => Some(TreeItem::ClustersGroup),
            TreeItem::Instance { cluster, .. } => Some(TreeItem::Cluster(cluster)),
        }
    }

    /// Indentation level.
    pub fn depth(self) -> usize {
        match self {
            TreeItem::InfraGroup | TreeItem::ClustersGroup => 0,
            TreeItem::InfraNode(_) | TreeItem::Cluster(_) => 1,
            TreeItem::Instance { .. } => 2,
        }
    }

    /// Whether the item can be expanded / collapsed.
    pub fn has_children(self) -> bool {
        matches!(
            self,
            TreeItem::InfraGroup | TreeItem::ClustersGroup | TreeItem::Cluster(_)
        )
    }
}

/// One visible row of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeRow {
    pub item: TreeItem,
    /// `Some(expanded)` for rows with children, `None` for leaves.
    pub expanded: Option<bool>,
}

/// Above this many instances, clusters start collapsed.
const EXPAND_ALL_LIMIT: usize = 64;

/// Expansion, filter, selection and scroll position of the tree.
#[derive(Debug, Clone)]
pub struct TreeState {
    rows: Vec<TreeRow>,
    selected: usize,
    /// First visible row (kept so the selection stays visible).
    offset: usize,
    infra_expanded: bool,
    clusters_expanded: bool,
    cluster_expanded: Vec<bool>,
    /// The filter as typed.
    filter: String,
    /// Widest item name, for aligning the IP column.
    name_width: usize,
    /// Widest IP.
    ip_width: usize,
}

impl TreeState {
    pub fn new(deployment: &Deployment) -> Self {
        let expand = deployment.instance_count() <= EXPAND_ALL_LIMIT;
        let width = |s: &str| unicode_width::UnicodeWidthStr::width(s);
        let name_width = deployment
            .infra
            .iter()
            .map(|n| width(&n.name))
            .chain(deployment.instances().map(|i| width(&i.name)))
            .max()
            .unwrap_or(0);
        let ip_width = deployment
            .infra
            .iter()
            .map(|n| width(&n.ip))
            .chain(deployment.instances().map(|i| width(&i.ip)))
            .max()
            .unwrap_or(0);
        let mut state = TreeState {
            rows: Vec::new(),
            selected: 0,
            offset: 0,
            infra_expanded: true,
            clusters_expanded: true,
            cluster_expanded: vec![expand; deployment.clusters.len()],
            filter: String::new(),
            name_width,
            ip_width,
        };
        state.rebuild(deployment);
        // Start on the first cluster: that is what an operator looks at first.
        if let Some(i) = state.index_of(TreeItem::Cluster(0)) {
            state.selected = i;
        }
        state
    }

    /// The visible rows, in display order.
    pub fn rows(&self) -> &[TreeRow] {
        &self.rows
    }

    pub fn selected_index(&self) -> usize {
        self.selected
    }

    /// The selected item, if the tree shows anything at all.
    pub fn selected(&self) -> Option<TreeItem> {
        self.rows.get(self.selected).map(|r| r.item)
    }

    /// The stored first visible row (see [`visible_offset`] for the one to draw).
    pub fn offset(&self) -> usize {
        self.offset
    }

    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// Widest infra node or instance name in the deployment.
    pub fn name_width(&self) -> usize {
        self.name_width
    }

    /// Widest infra node or instance IP in the deployment.
    pub fn ip_width(&self) -> usize {
        self.ip_width
    }

    pub fn is_expanded(&self, item: TreeItem) -> bool {
        match item {
            TreeItem::InfraGroup => self.infra_expanded,
            TreeItem::ClustersGroup => self.clusters_expanded,
            TreeItem::Cluster(c) => self.cluster_expanded.get(c).copied().unwrap_or(false),
            _ => false,
        }
    }

    fn index_of(&self, item: TreeItem) -> Option<usize> {
        self.rows.iter().position(|r| r.item == item)
    }

    /// Moves the selection by `delta` rows, stopping at the ends.
    pub fn move_by(&mut self, delta: isize, viewport: usize) {
        if self.rows.is_empty() {
            return;
        }
        let last = self.rows.len() - 1;
        self.selected = self.selected.saturating_add_signed(delta).min(last);
        self.scroll_into_view(viewport);
    }

    pub fn select_first(&mut self, viewport: usize) {
        self.selected = 0;
        self.scroll_into_view(viewport);
    }

    pub fn select_last(&mut self, viewport: usize) {
        self.selected = self.rows.len().saturating_sub(1);
        self.scroll_into_view(viewport);
    }

    /// Adjusts the stored scroll offset so the selection is inside a
    /// viewport of `viewport` rows.
    pub fn scroll_into_view(&mut self, viewport: usize) {
        self.offset = visible_offset(self.offset, self.selected, self.rows.len(), viewport);
    }

    /// Expands or collapses `item`; returns whether anything changed.
    pub fn set_expanded(&mut self, deployment: &Deployment, item: TreeItem, open: bool) -> bool {
        let slot = match item {
            TreeItem::InfraGroup => &mut self.infra_expanded,
            TreeItem::ClustersGroup => &mut self.clusters_expanded,
            TreeItem::Cluster(c) => match self.cluster_expanded.get_mut(c) {
                Some(s) => s,
                None => return false,
            },
            _ => return false,
        };
        if *slot == open {
            return false;
        }
        *slot = open;
        self.rebuild(deployment);
        true
    }

    /// Expands or collapses every cluster.
    pub fn set_all_clusters_expanded(&mut self, deployment: &Deployment, open: bool) {
        self.cluster_expanded.iter_mut().for_each(|e| *e = open);
        self.clusters_expanded |= open;
        self.rebuild(deployment);
    }

    /// Toggles the selected row's expansion; returns whether it had children.
    pub fn toggle_selected(&mut self, deployment: &Deployment) -> bool {
        match self.selected() {
            Some(item) if item.has_children() => {
                let open = !self.is_expanded(item);
                self.set_expanded(deployment, item, open);
                true
            }
            _ => false,
        }
    }

    /// Selects the parent row of the selection (Left / h on a leaf).
    pub fn select_parent(&mut self, viewport: usize) -> bool {
        let Some(parent) = self.selected().and_then(TreeItem::parent) else {
            return false;
        };
        match self.index_of(parent) {
            Some(i) => {
                self.selected = i;
                self.scroll_into_view(viewport);
                true
            }
            None => false,
        }
    }

    /// Sets the filter (substring of names and IPs, case-insensitive) and
    /// expands whatever holds a match so that every match is visible.
    pub fn set_filter(&mut self, deployment: &Deployment, filter: &str) {
        self.filter = filter.to_string();
        let needle = self.filter.to_lowercase();
        if !needle.is_empty() {
            self.infra_expanded = true;
            self.clusters_expanded = true;
            for (c, cluster) in deployment.clusters.iter().enumerate() {
                if cluster
                    .instances
                    .iter()
                    .any(|i| instance_matches(i, &needle))
                {
                    self.cluster_expanded[c] = true;
                }
            }
        }
        self.rebuild(deployment);
        // Unless the selection itself matches, jump to the first match.
        let selected_matches = self
            .selected()
            .is_some_and(|item| item_matches(deployment, item, &needle));
        if !needle.is_empty()
            && !selected_matches
            && let Some(i) = self
                .rows
                .iter()
                .position(|r| item_matches(deployment, r.item, &needle))
        {
            self.selected = i;
        }
        self.offset = 0;
    }

    /// Selects `item`, expanding its ancestors and clearing a filter that
    /// hides it. Returns false when the item does not exist.
    pub fn select(&mut self, deployment: &Deployment, item: TreeItem, viewport: usize) -> bool {
        let exists = match item {
            TreeItem::InfraGroup | TreeItem::ClustersGroup => true,
            TreeItem::InfraNode(n) => n < deployment.infra.len(),
            TreeItem::Cluster(c) => c < deployment.clusters.len(),
            TreeItem::Instance { cluster, instance } => deployment
                .clusters
                .get(cluster)
                .is_some_and(|c| instance < c.instances.len()),
        };
        if !exists {
            return false;
        }
        let mut ancestor = item.parent();
        while let Some(a) = ancestor {
            match a {
                TreeItem::InfraGroup => self.infra_expanded = true,
                TreeItem::ClustersGroup => self.clusters_expanded = true,
                TreeItem::Cluster(c) => self.cluster_expanded[c] = true,
                _ => {}
            }
            ancestor = a.parent();
        }
        self.rebuild(deployment);
        if self.index_of(item).is_none() && !self.filter.is_empty() {
            self.filter.clear();
            self.rebuild(deployment);
        }
        match self.index_of(item) {
            Some(i) => {
                self.selected = i;
                self.scroll_into_view(viewport);
                true
            }
            None => false,
        }
    }

    /// Recomputes the visible rows, keeping the selection on the same item
    /// when it is still visible (else on its nearest visible ancestor).
    fn rebuild(&mut self, deployment: &Deployment) {
        let previous = self.selected();
        let needle = self.filter.to_lowercase();
        let filtering = !needle.is_empty();
        let mut rows = Vec::with_capacity(self.rows.len().max(16));

        let infra: Vec<usize> = deployment
            .infra
            .iter()
            .enumerate()
            .filter(|(_, n)| !filtering || matches(&n.name, &needle) || matches(&n.ip, &needle))
            .map(|(i, _)| i)
            .collect();
        if !filtering || !infra.is_empty() {
            rows.push(TreeRow {
                item: TreeItem::InfraGroup,
                expanded: Some(self.infra_expanded),
            });
            if self.infra_expanded {
                rows.extend(infra.into_iter().map(|i| TreeRow {
                    item: TreeItem::InfraNode(i),
                    expanded: None,
                }));
            }
        }

        let group_at = rows.len();
        let mut any_cluster = false;
        for (c, cluster) in deployment.clusters.iter().enumerate() {
            let cluster_matches = !filtering || matches(&cluster.name, &needle);
            let visible_instances = cluster
                .instances
                .iter()
                .enumerate()
                .filter(|(_, i)| cluster_matches || instance_matches(i, &needle));
            let mut instance_rows = visible_instances
                .map(|(i, _)| TreeRow {
                    item: TreeItem::Instance {
                        cluster: c,
                        instance: i,
                    },
                    expanded: None,
                })
                .peekable();
            if !cluster_matches && instance_rows.peek().is_none() {
                continue;
            }
            any_cluster = true;
            if !self.clusters_expanded {
                continue;
            }
            let open = self.cluster_expanded[c];
            rows.push(TreeRow {
                item: TreeItem::Cluster(c),
                expanded: Some(open),
            });
            if open {
                rows.extend(instance_rows);
            }
        }
        if !filtering || any_cluster {
            rows.insert(
                group_at,
                TreeRow {
                    item: TreeItem::ClustersGroup,
                    expanded: Some(self.clusters_expanded),
                },
            );
        }

        self.rows = rows;
        self.selected = match previous {
            Some(item) => self
                .nearest_visible(item)
                .unwrap_or_else(|| self.selected.min(self.rows.len().saturating_sub(1))),
            None => 0,
        };
    }

    fn nearest_visible(&self, item: TreeItem) -> Option<usize> {
        let mut candidate = Some(item);
        while let Some(c) = candidate {
            if let Some(i) = self.index_of(c) {
                return Some(i);
            }
            candidate = c.parent();
        }
        None
    }
}

/// The first row to draw so that `selected` is inside a viewport of
/// `viewport` rows, moving as little as possible from `offset`.
pub fn visible_offset(offset: usize, selected: usize, len: usize, viewport: usize) -> usize {
    if viewport == 0 || len == 0 {
        return 0;
    }
    let mut off = offset.min(len.saturating_sub(viewport));
    if selected < off {
        off = selected;
    } else if selected >= off + viewport {
        off = selected + 1 - viewport;
    }
    off
}

fn matches(haystack: &str, needle_lower: &str) -> bool {
    haystack.to_lowercase().contains(needle_lower)
}

/// Whether the item itself (not one of its children) matches the filter.
fn item_matches(deployment: &Deployment, item: TreeItem, needle_lower: &str) -> bool {
    match item {
        TreeItem::InfraGroup | TreeItem::ClustersGroup => false,
        TreeItem::InfraNode(n) => deployment
            .infra
            .get(n)
            .is_some_and(|n| matches(&n.name, needle_lower) || matches(&n.ip, needle_lower)),
        TreeItem::Cluster(c) => deployment
            .clusters
            .get(c)
            .is_some_and(|c| matches(&c.name, needle_lower)),
        TreeItem::Instance { cluster, instance } => deployment
            .clusters
            .get(cluster)
            .and_then(|c| c.instances.get(instance))
            .is_some_and(|i| instance_matches(i, needle_lower)),
    }
}

fn instance_matches(i: &crate::model::Instance, needle_lower: &str) -> bool {
    matches(&i.name, needle_lower)
        || matches(&i.ip, needle_lower)
        || i.nodename
            .as_deref()
            .is_some_and(|n| matches(n, needle_lower))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_moves_minimally() {
        assert_eq!(visible_offset(0, 5, 100, 10), 0);
        assert_eq!(visible_offset(0, 10, 100, 10), 1);
        assert_eq!(visible_offset(50, 45, 100, 10), 45);
        assert_eq!(visible_offset(95, 99, 100, 10), 90);
        assert_eq!(visible_offset(3, 0, 2, 10), 0);
    }
}
