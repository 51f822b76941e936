//! The command palette (`:`): its input, completions and commands.

use super::state::ClusterTab;
use crate::model::Deployment;

/// A command the palette knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    pub name: &'static str,
    /// Short aliases (`q` for `quit`).
    pub aliases: &'static [&'static str],
    /// Argument placeholder, empty when the command takes none.
    pub argument: &'static str,
    pub description: &'static str,
}

/// Every palette command, in the order completions list them.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "cluster",
        aliases: &["c"],
        argument: "NAME",
        description: "select a cluster",
    },
    CommandSpec {
        name: "node",
        aliases: &["n"],
        argument: "IP|NAME",
        description: "select a node or instance by IP or name",
    },
    CommandSpec {
        name: "filter",
        aliases: &["f"],
        argument: "TEXT",
        description: "filter the tree (no text: clear)",
    },
    CommandSpec {
        name: "expand",
        aliases: &[],
        argument: "",
        description: "expand every cluster",
    },
    CommandSpec {
        name: "collapse",
        aliases: &[],
        argument: "",
        description: "collapse every cluster",
    },
    CommandSpec {
        name: "warnings",
        aliases: &["w"],
        argument: "",
        description: "show inventory warnings",
    },
    CommandSpec {
        name: "alerts",
        aliases: &["a"],
        argument: "",
        description: "show active alerts",
    },
    CommandSpec {
        name: "findings",
        aliases: &[],
        argument: "",
        description: "show where sources disagree",
    },
    CommandSpec {
        name: "tab",
        aliases: &["t"],
        argument: "NAME|1-6",
        description: "show a section of the cluster view",
    },
    CommandSpec {
        name: "switchover",
        aliases: &[],
        argument: "[CAND]",
        description: "switchover of the selected cluster",
    },
    CommandSpec {
        name: "failover",
        aliases: &[],
        argument: "[CAND]",
        description: "failover to the selected/given instance",
    },
    CommandSpec {
        name: "restart",
        aliases: &[],
        argument: "[MEMBER]",
        description: "restart Postgres (instance or cluster)",
    },
    CommandSpec {
        name: "reload",
        aliases: &[],
        argument: "[MEMBER]",
        description: "reload the configuration",
    },
    CommandSpec {
        name: "reinit",
        aliases: &[],
        argument: "[MEMBER]",
        description: "rebuild a replica from the leader",
    },
    CommandSpec {
        name: "pause",
        aliases: &[],
        argument: "",
        description: "pause Patroni (maintenance mode)",
    },
    CommandSpec {
        name: "resume",
        aliases: &[],
        argument: "",
        description: "resume Patroni",
    },
    CommandSpec {
        name: "backup",
        aliases: &[],
        argument: "[TYPE]",
        description: "back the selected cluster up (full, diff, incr)",
    },
    CommandSpec {
        name: "backups",
        aliases: &[],
        argument: "",
        description: "list the selected cluster's backups",
    },
    CommandSpec {
        name: "inspect",
        aliases: &[],
        argument: "",
        description: "health checks on the cluster's nodes",
    },
    CommandSpec {
        name: "create-cluster",
        aliases: &[],
        argument: "",
        description: "provision the selected cluster (pgsql.yml)",
    },
    CommandSpec {
        name: "remove-cluster",
        aliases: &[],
        argument: "",
        description: "remove the selected cluster (pgsql-rm.yml)",
    },
    CommandSpec {
        name: "add-instance",
        aliases: &[],
        argument: "[IP]",
        description: "provision a declared instance (pgsql.yml -l IP)",
    },
    CommandSpec {
        name: "remove-instance",
        aliases: &[],
        argument: "[IP]",
        description: "remove an instance (pgsql-rm.yml -l IP)",
    },
    CommandSpec {
        name: "create-user",
        aliases: &[],
        argument: "USER",
        description: "create a user declared in pg_users (pgsql-user.yml)",
    },
    CommandSpec {
        name: "create-db",
        aliases: &[],
        argument: "DBNAME",
        description: "create a database declared in pg_databases (pgsql-db.yml)",
    },
    CommandSpec {
        name: "reload-hba",
        aliases: &[],
        argument: "",
        description: "render and reload HBA rules of the cluster",
    },
    CommandSpec {
        name: "reload-services",
        aliases: &[],
        argument: "",
        description: "render and reload HAProxy services of the cluster",
    },
    CommandSpec {
        name: "infra",
        aliases: &[],
        argument: "",
        description: "(re)configure the infrastructure (infra.yml)",
    },
    CommandSpec {
        name: "open-run",
        aliases: &[],
        argument: "ID|FILE",
        description: "reopen a saved provisioning run (its task log)",
    },
    CommandSpec {
        name: "events",
        aliases: &[],
        argument: "",
        description: "show the event timeline",
    },
    CommandSpec {
        name: "logs",
        aliases: &[],
        argument: "",
        description: "follow the logs of the instance / cluster",
    },
    CommandSpec {
        name: "activity",
        aliases: &[],
        argument: "",
        description: "sessions of the instance (cancel, terminate)",
    },
    CommandSpec {
        name: "tasks",
        aliases: &[],
        argument: "",
        description: "list tasks started in this session",
    },
    CommandSpec {
        name: "help",
        aliases: &["h"],
        argument: "",
        description: "show key bindings",
    },
    CommandSpec {
        name: "quit",
        aliases: &["q"],
        argument: "",
        description: "leave pigsty-tui",
    },
];

/// A parsed palette command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Cluster(String),
    Node(String),
    Filter(String),
    ExpandAll,
    CollapseAll,
    Warnings,
    Alerts,
    Findings,
    Tab(ClusterTab),
    Help,
    Quit,
    /// Tasks started in this session.
    Tasks,
    /// The event timeline.
    Events,
    /// Reopen a saved provisioning run.
    OpenRun(String),
    /// The logs pane.
    Logs,
    /// The activity view.
    Activity,
    /// An action on the selected cluster / instance, with its argument.
    Act {
        name: &'static str,
        arg: String,
    },
}

/// Parses a palette line (without the leading `:`).
pub fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim().trim_start_matches(':').trim();
    let (word, arg) = match line.split_once(char::is_whitespace) {
        Some((w, a)) => (w, a.trim()),
        None => (line, ""),
    };
    if word.is_empty() {
        return Err("type a command (Tab completes, Esc closes)".to_string());
    }
    let Some(spec) = COMMANDS
        .iter()
        .find(|c| c.name == word || c.aliases.contains(&word))
    else {
        return Err(format!(
            "unknown command '{word}' (try: {})",
            command_names()
        ));
    };
    let need_arg = |what: &str| -> Result<String, String> {
        if arg.is_empty() {
            Err(format!("{} needs {what}", spec.name))
        } else {
            Ok(arg.to_string())
        }
    };
    let no_arg = |cmd: Command| -> Result<Command, String> {
        if arg.is_empty() {
            Ok(cmd)
        } else {
            Err(format!("{} takes no argument", spec.name))
        }
    };
    match spec.name {
        "cluster" => need_arg("a cluster name").map(Command::Cluster),
        "node" => need_arg("an IP or a name").map(Command::Node),
        "filter" => Ok(Command::Filter(arg.to_string())),
        "expand" => no_arg(Command::ExpandAll),
        "collapse" => no_arg(Command::CollapseAll),
        "warnings" => no_arg(Command::Warnings),
        "alerts" => no_arg(Command::Alerts),
        "findings" => no_arg(Command::Findings),
        "tab" => {
            let name = need_arg("a section name or number")?;
            parse_tab(&name).map(Command::Tab).ok_or_else(|| {
                let names: Vec<String> = ClusterTab::ALL
                    .iter()
                    .map(|t| t.title().to_lowercase())
                    .collect();
                format!("no section '{name}' (try: {})", names.join(", "))
            })
        }
        "help" => no_arg(Command::Help),
        "tasks" => no_arg(Command::Tasks),
        "events" => no_arg(Command::Events),
        "open-run" => need_arg("a task id or a log file").map(Command::OpenRun),
        "logs" => no_arg(Command::Logs),
        "activity" => no_arg(Command::Activity),
        "switchover" | "failover" | "restart" | "reload" | "reinit" | "backup" => {
            Ok(Command::Act {
                name: spec.name,
                arg: arg.to_string(),
            })
        }
        "add-instance" | "remove-instance" => Ok(Command::Act {
            name: spec.name,
            arg: arg.to_string(),
        }),
        "create-user" | "create-db" => {
            let a = need_arg(if spec.name == "create-user" {
                "a user name declared in pg_users"
            } else {
                "a database name declared in pg_databases"
            })?;
            Ok(Command::Act {
                name: spec.name,
                arg: a,
            })
        }
        "pause" | "resume" | "backups" | "inspect" | "create-cluster" | "remove-cluster"
        | "reload-hba" | "reload-services" | "infra" => no_arg(Command::Act {
            name: spec.name,
            arg: String::new(),
        }),
        "quit" => no_arg(Command::Quit),
        other => unreachable!("command {other} has no parser"),
    }
}

/// A cluster view section by number or (a prefix of) its name.
fn parse_tab(text: &str) -> Option<ClusterTab> {
    let t = text.trim().to_lowercase();
    if let Some(c) = t.chars().next()
        && t.len() == 1
        && let Some(tab) = ClusterTab::from_digit(c)
    {
        return Some(tab);
    }
    ClusterTab::ALL
        .into_iter()
        .find(|tab| !t.is_empty() && tab.title().to_lowercase().starts_with(&t))
}

fn command_names() -> String {
    COMMANDS
        .iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One completion the palette offers for the current input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The whole line the completion produces.
    pub line: String,
    /// What is shown: the completed word.
    pub label: String,
    /// A short note next to it (command description, instance role…).
    pub note: String,
}

/// Most completions listed at once.
pub const MAX_COMPLETIONS: usize = 50;

/// Completions for `input`: command names while the first word is being
/// typed, then cluster names / node names and IPs for the argument.
pub fn completions(deployment: &Deployment, input: &str) -> Vec<Completion> {
    let input = input.trim_start();
    let Some((word, arg)) = input.split_once(char::is_whitespace) else {
        return COMMANDS
            .iter()
            .filter(|c| c.name.starts_with(input) || c.aliases.contains(&input))
            .map(|c| Completion {
                line: if c.argument.is_empty() {
                    c.name.to_string()
                } else {
                    format!("{} ", c.name)
                },
                label: if c.argument.is_empty() {
                    c.name.to_string()
                } else {
                    format!("{} {}", c.name, c.argument)
                },
                note: c.description.to_string(),
            })
            .collect();
    };
    let arg = arg.trim_start();
    let Some(spec) = COMMANDS
        .iter()
        .find(|c| c.name == word || c.aliases.contains(&word))
    else {
        return Vec::new();
    };
    let mut out: Vec<Completion> = Vec::new();
    let mut offer = |value: &str, note: String| {
        if out.len() < MAX_COMPLETIONS && out.iter().all(|c| c.label != value) {
            out.push(Completion {
                line: format!("{} {value}", spec.name),
                label: value.to_string(),
                note,
            });
        }
    };
    let lower = arg.to_lowercase();
    // Prefix matches first, then substring matches.
    for pass_prefix in [true, false] {
        let fits = |s: &str| {
            let s = s.to_lowercase();
            if pass_prefix {
                s.starts_with(&lower)
            } else {
                !s.starts_with(&lower) && s.contains(&lower)
            }
        };
        match spec.name {
            "cluster" => {
                for c in deployment.clusters.iter().filter(|c| fits(&c.name)) {
                    let n = c.instances.len();
                    offer(
                        &c.name,
                        format!("{n} instance{}", if n == 1 { "" } else { "s" }),
                    );
                }
            }
            "tab" => {
                for (i, tab) in ClusterTab::ALL.iter().enumerate() {
                    let name = tab.title().to_lowercase();
                    if fits(&name) {
                        offer(&name, format!("key {}", i + 1));
                    }
                }
            }
            "node" => {
                for n in &deployment.infra {
                    if fits(&n.name) {
                        offer(&n.name, format!("infra node {}", n.ip));
                    }
                    if fits(&n.ip) {
                        offer(&n.ip, format!("infra node {}", n.name));
                    }
                }
                for i in deployment.instances() {
                    if fits(&i.name) {
                        offer(&i.name, format!("{} {}", i.role, i.ip));
                    }
                    if fits(&i.ip) {
                        offer(&i.ip, format!("{} {}", i.name, i.role));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The palette's editing state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaletteState {
    /// The line typed so far (without the `:`).
    pub input: String,
    /// Index of the highlighted completion.
    pub selected: usize,
    /// Why the last command could not run.
    pub error: Option<String>,
    /// The highlight was moved with ↑/↓: Enter takes the highlighted completion.
    pub browsing: bool,
}

impl PaletteState {
    pub fn insert(&mut self, c: char) {
        self.input.push(c);
        self.edited();
    }

    pub fn backspace(&mut self) {
        self.input.pop();
        self.edited();
    }

    fn edited(&mut self) {
        self.selected = 0;
        self.error = None;
        self.browsing = false;
    }

    /// Deletes the last word (Ctrl-W).
    pub fn delete_word(&mut self) {
        let trimmed = self.input.trim_end_matches(char::is_whitespace);
        let cut = trimmed
            .rfind(char::is_whitespace)
            .map(|i| i + 1)
            .unwrap_or(0);
        self.input.truncate(cut);
        self.edited();
    }

    pub fn clear(&mut self) {
        *self = PaletteState::default();
    }

    /// Moves the completion highlight, wrapping around.
    pub fn move_selection(&mut self, delta: isize, count: usize) {
        if count == 0 {
            self.selected = 0;
            return;
        }
        let n = count as isize;
        self.selected = ((self.selected.min(count - 1) as isize + delta).rem_euclid(n)) as usize;
        self.browsing = true;
    }

    /// Replaces the input with the highlighted completion (Tab).
    pub fn complete(&mut self, completions: &[Completion]) -> bool {
        match completions.get(self.selected.min(completions.len().saturating_sub(1))) {
            Some(c) if c.line != self.input => {
                self.input = c.line.clone();
                self.edited();
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_and_aliases() {
        assert_eq!(
            parse("cluster pg-test"),
            Ok(Command::Cluster("pg-test".into()))
        );
        assert_eq!(
            parse(":c  pg-test "),
            Ok(Command::Cluster("pg-test".into()))
        );
        assert_eq!(
            parse("node 10.10.10.11"),
            Ok(Command::Node("10.10.10.11".into()))
        );
        assert_eq!(parse("q"), Ok(Command::Quit));
        assert_eq!(parse("quit"), Ok(Command::Quit));
        assert_eq!(parse("filter"), Ok(Command::Filter(String::new())));
        assert_eq!(parse("alerts"), Ok(Command::Alerts));
        assert_eq!(parse("a"), Ok(Command::Alerts));
        assert_eq!(parse("findings"), Ok(Command::Findings));
        assert_eq!(parse("tab 2"), Ok(Command::Tab(ClusterTab::Members)));
        assert_eq!(parse("tab rout"), Ok(Command::Tab(ClusterTab::Routing)));
        assert!(parse("tab nope").unwrap_err().contains("no section 'nope'"));
        assert!(
            parse("cluster")
                .unwrap_err()
                .contains("needs a cluster name")
        );
        assert!(parse("quit now").unwrap_err().contains("takes no argument"));
        assert!(
            parse("frobnicate x")
                .unwrap_err()
                .contains("unknown command 'frobnicate'")
        );
    }

    #[test]
    fn delete_word() {
        let mut p = PaletteState {
            input: "cluster pg-te".into(),
            ..Default::default()
        };
        p.delete_word();
        assert_eq!(p.input, "cluster ");
        p.delete_word();
        assert_eq!(p.input, "");
    }

    #[test]
    fn selection_wraps() {
        let mut p = PaletteState::default();
        p.move_selection(-1, 3);
        assert_eq!(p.selected, 2);
        p.move_selection(1, 3);
        assert_eq!(p.selected, 0);
    }
}
