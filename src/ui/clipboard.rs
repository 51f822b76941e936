//! Copy to the terminal's clipboard with OSC 52 (`y`): the sequence is
//! written to the terminal by the event loop; terminals that support it
//! (and tmux with `set-clipboard on`) put the text on the clipboard.

use crate::app::state::{AppState, Overlay};
use crate::app::tree::TreeItem;
use crate::model::Deployment;

/// Standard base64 with padding (the crate's one codec).
pub fn base64(data: &[u8]) -> String {
    crate::encoding::b64_encode(data)
}

/// The OSC 52 sequence that puts `text` on the clipboard.
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", base64(text.as_bytes()))
}

/// What `y` copies: in the task view the current search match or the
/// newest output line shown, in the logs pane the cursor line, in the
/// activity view the selected query, else the selected instance's DSN, a
/// cluster's name or a node's IP.
pub fn copy_target(app: &AppState, deployment: &Deployment) -> Option<String> {
    match app.overlay {
        Some(Overlay::Logs) => return app.logs.as_ref()?.selected_line(),
        Some(Overlay::Activity) => {
            return app
                .activity
                .as_ref()?
                .selected_row()
                .map(|r| r.query)
                .filter(|q| !q.is_empty());
        }
        _ => {}
    }
    if let Some(Overlay::Task {
        index,
        scroll,
        follow,
        ref search,
        ..
    }) = app.overlay
    {
        let task = app.tasks.get(index)?;
        let lines = super::tasks::shown_lines(task, &task.handle.state());
        if let Some(m) = search.as_ref().and_then(|q| q.current) {
            return lines.get(m).map(|(_, t)| t.clone());
        }
        let end = lines.len().saturating_sub(if follow { 0 } else { scroll });
        return lines.get(end.checked_sub(1)?).map(|(_, t)| t.clone());
    }
    match app.tree.selected()? {
        TreeItem::Instance { cluster, instance } => {
            let inst = deployment.clusters.get(cluster)?.instances.get(instance)?;
            let port = crate::actions::catalog::var_or_default(deployment, inst, "pg_port")
                .unwrap_or_else(|| "5432".into());
            Some(format!("postgres://{}:{port}/postgres", inst.ip))
        }
        TreeItem::Cluster(c) => Some(deployment.clusters.get(c)?.name.clone()),
        TreeItem::InfraNode(n) => Some(deployment.infra.get(n)?.ip.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_osc52() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(osc52("hi"), "\x1b]52;c;aGk=\x07");
    }
}
