//! Benchmarks of the foundation's hot paths (figures in README.md):
//! parse a generated 1,000-host inventory (target < 20 ms) and render one
//! topology frame of it (target < 2 ms).
//!
//! Run: `cargo bench --bench topology`

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use pigsty_tui::app::AppState;
use pigsty_tui::inventory;
use pigsty_tui::snapshot::Snapshot;
use pigsty_tui::ui::{self, theme::Theme};

const CLUSTERS: usize = 100;
const PER_CLUSTER: usize = 10;

fn parse(c: &mut Criterion) {
    let text = inventory::generate_inventory(CLUSTERS, PER_CLUSTER);
    let path = Path::new("generated.yml");
    c.bench_function("parse 1000-host inventory", |b| {
        b.iter(|| {
            inventory::parse(std::hint::black_box(&text), path).expect("generated inventory parses")
        })
    });
}

fn render(c: &mut Criterion) {
    let text = inventory::generate_inventory(CLUSTERS, PER_CLUSTER);
    let deployment = inventory::parse(&text, Path::new("generated.yml")).expect("parses");
    assert_eq!(deployment.instance_count(), CLUSTERS * PER_CLUSTER);
    let snapshot = Snapshot::empty();
    let theme = Theme::default();
    for (w, h) in [(80u16, 24u16), (160, 48)] {
        let mut app = AppState::new(&deployment);
        app.resize(w, h);
        let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test backend");
        c.bench_function(
            &format!("render topology frame 1000 instances {w}x{h}"),
            |b| {
                b.iter(|| {
                    terminal
                        .draw(|f| ui::draw(f, &app, &deployment, &snapshot, &theme))
                        .expect("draw");
                })
            },
        );
    }
}

criterion_group!(benches, parse, render);
criterion_main!(benches);
