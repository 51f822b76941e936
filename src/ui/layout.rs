//! Where each part of the screen goes, as a pure function of its size.

use ratatui::layout::Rect;

/// The areas of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Screen {
    pub header: Rect,
    /// Health summary lines under the header (no height when none).
    pub health: Rect,
    pub tree: Rect,
    pub detail: Rect,
    pub footer: Rect,
}

/// Below this width the tree and the detail are stacked, not side by side.
const SIDE_BY_SIDE_MIN_WIDTH: u16 = 60;

impl Screen {
    pub fn new(area: Rect) -> Self {
        Screen::with_health(area, 0)
    }

    /// The layout with `health_rows` lines of health summary under the
    /// header (fewer on short screens: the panes keep 8 rows).
    pub fn with_health(area: Rect, health_rows: u16) -> Self {
        let header_h = area.height.min(1);
        let footer_h = area.height.saturating_sub(header_h).min(1);
        let header = Rect::new(area.x, area.y, area.width, header_h);
        let health_h = health_rows.min(area.height.saturating_sub(header_h + footer_h + 8));
        let health = Rect::new(area.x, area.y + header_h, area.width, health_h);
        let header_h = header_h + health_h;
        let footer = Rect::new(
            area.x,
            area.bottom().saturating_sub(footer_h),
            area.width,
            footer_h,
        );
        let body = Rect::new(
            area.x,
            area.y + header_h,
            area.width,
            area.height.saturating_sub(header_h + footer_h),
        );
        let (tree, detail) = if area.width >= SIDE_BY_SIDE_MIN_WIDTH {
            // About a third of the width: 32 columns at 80, 44 at 160.
            let tree_w = (area.width / 3).clamp(32, 44);
            (
                Rect::new(body.x, body.y, tree_w, body.height),
                Rect::new(body.x + tree_w, body.y, body.width - tree_w, body.height),
            )
        } else {
            let tree_h = body.height / 2;
            (
                Rect::new(body.x, body.y, body.width, tree_h),
                Rect::new(body.x, body.y + tree_h, body.width, body.height - tree_h),
            )
        };
        Screen {
            header,
            health,
            tree,
            detail,
            footer,
        }
    }
}

/// A popup of at most `width` x `height` centred in `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_tile_the_screen() {
        for (w, h) in [(80, 24), (160, 48), (40, 10), (1, 1), (0, 0), (59, 3)] {
            let s = Screen::new(Rect::new(0, 0, w, h));
            let total = s.header.area()
                + s.health.area()
                + s.tree.area()
                + s.detail.area()
                + s.footer.area();
            assert_eq!(total, u32::from(w) * u32::from(h), "{w}x{h}: {s:?}");
        }
        let s = Screen::new(Rect::new(0, 0, 80, 24));
        assert_eq!(s.tree, Rect::new(0, 1, 32, 22));
        assert_eq!(s.detail, Rect::new(32, 1, 48, 22));
    }
}
