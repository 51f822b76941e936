//! Colours and text attributes of the console, read from theme files.
//!
//! A theme file is YAML mapping *style roles* (what a piece of text is:
//! `header`, `selection`, `role_primary`, `status_down`, …) to a colour pair
//! and modifiers:
//!
//! ```yaml
//! header:      { fg: black, bg: cyan, modifiers: [bold] }
//! status_down: { fg: lightred, modifiers: [bold] }
//! ```
//!
//! Colours are the 16 ANSI names (`black`, `red`, …, `lightblue`, `white`),
//! `reset`, or `#rrggbb`. Modifiers are `bold`, `dim`, `italic`, `underline`,
//! `reverse`. A role a file leaves out keeps the built-in default's style; a
//! role name the console does not know is an error, so typos are reported.
//!
//! Views take every style from a [`Theme`]; none hard-codes a colour.

use std::fmt;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// The built-in themes, compiled in from `themes/`.
const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.yml")),
    ("light", include_str!("../../themes/light.yml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.yml"),
    ),
    ("monochrome", include_str!("../../themes/monochrome.yml")),
];

/// Why a theme could not be loaded.
#[derive(Debug)]
pub enum ThemeError {
    /// No file of that path, no `<config dir>/themes/NAME.yml`, no built-in theme of that name.
    NotFound {
        name: String,
        searched: Vec<PathBuf>,
    },
    /// The file exists but could not be read.
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not a valid theme (bad YAML, unknown role, bad colour…).
    Invalid { source: String, message: String },
}

impl fmt::Display for ThemeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ThemeError::NotFound { name, searched } => {
                write!(f, "theme '{name}' not found (looked in ")?;
                for p in searched {
                    write!(f, "{}, ", p.display())?;
                }
                let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
                write!(f, "built-in themes: {})", names.join(", "))
            }
            ThemeError::Read { path, source } => {
                write!(f, "cannot read theme file {}: {source}", path.display())
            }
            ThemeError::Invalid { source, message } => {
                write!(f, "invalid theme {source}: {message}")
            }
        }
    }
}

impl std::error::Error for ThemeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ThemeError::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Declares the style roles once: the `Theme` struct and the role names used
/// to read theme files come from the same list.
macro_rules! style_roles {
    ($($(#[$doc:meta])* $role:ident),* $(,)?) => {
        /// Every style the console draws with, by role.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Theme {
            /// Where the theme came from ("built-in default", a file path…).
            pub source: String,
            $($(#[$doc])* pub $role: Style,)*
        }

        /// A theme file: every role optional, unknown roles rejected.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct ThemeFile {
            $(#[serde(default)] $role: Option<StyleSpec>,)*
        }

        impl ThemeFile {
            /// Applies the roles this file sets on top of `base`.
            fn apply(self, mut base: Theme) -> Result<Theme, String> {
                $(if let Some(spec) = self.$role {
                    base.$role = spec.to_style().map_err(|e| format!("{}: {e}", stringify!($role)))?;
                })*
                Ok(base)
            }
        }

        impl Theme {
            /// Names of every style role, as written in theme files.
            pub const ROLES: &'static [&'static str] = &[$(stringify!($role)),*];

            /// A theme where every role is the terminal's default style.
            fn blank(source: &str) -> Theme {
                Theme { source: source.to_string(), $($role: Style::new(),)* }
            }
        }
    };
}

style_roles! {
    /// Ordinary text.
    text,
    /// Secondary text: IPs, hints, column separators.
    dim,
    /// The header line.
    header,
    /// Emphasised parts of the header (the deployment name).
    header_accent,
    /// The warning count in the header.
    header_warning,
    /// The footer line (key hints).
    footer,
    /// Keys in the footer and the help popup.
    footer_key,
    /// Borders of unfocused panes.
    border,
    /// Border of the focused pane.
    border_focused,
    /// Pane and popup titles.
    title,
    /// The selected row of the focused pane.
    selection,
    /// The selected row of a pane without focus.
    selection_inactive,
    /// Group rows of the tree ("Infra", "Clusters") and cluster rows.
    group,
    /// Column headings of tables.
    table_header,
    /// Lines of the replication diagram.
    connector,
    /// Instances declared primary.
    role_primary,
    /// Instances declared replica.
    role_replica,
    /// Instances declared offline.
    role_offline,
    /// Instances declared delayed.
    role_delayed,
    /// Instances declared standby.
    role_standby,
    /// A service that answered its last probe.
    status_up,
    /// A service that failed its last probe.
    status_down,
    /// A service never probed yet.
    status_unknown,
    /// Warnings (inventory warnings, the warning count).
    warning,
    /// Errors (unknown palette command…).
    error,
    /// Popup bodies (help, palette, warnings).
    popup,
    /// Text being typed (filter, palette input).
    input,
    /// The highlighted completion in the palette.
    completion_selected,
    /// Live data older than three poll intervals (shown dimmed, marked `~`).
    stale,
    /// Informational findings and notes.
    info,
    /// A source badge in the header whose source answers.
    badge_ok,
    /// A source badge in the header whose source fails.
    badge_failing,
    /// A source badge whose last success is stale.
    badge_stale,
    /// Inactive sub-tabs (cluster view).
    tab,
    /// The active sub-tab.
    tab_active,
    /// Sparklines (TPS, lag, connections).
    sparkline,
    /// The filled part of a replication lag bar.
    lag_bar,
}

impl Default for Theme {
    fn default() -> Self {
        Theme::builtin("default").expect("the built-in default theme is valid")
    }
}

impl Theme {
    /// Loads a theme by path or name.
    ///
    /// `name_or_path` is tried as a file path first (when it names an existing
    /// file or ends in `.yml` / `.yaml`), then as `<config dir>/themes/NAME.yml`,
    /// then as a built-in theme name (`default`, `light`, `high-contrast`,
    /// `monochrome`).
    pub fn load(name_or_path: &str) -> Result<Theme, ThemeError> {
        Theme::load_with_config_dir(name_or_path, config_dir().as_deref())
    }

    /// [`Theme::load`] with an explicit configuration directory (for tests).
    pub fn load_with_config_dir(
        name_or_path: &str,
        config_dir: Option<&Path>,
    ) -> Result<Theme, ThemeError> {
        let as_path = Path::new(name_or_path);
        let looks_like_path = as_path
            .extension()
            .is_some_and(|e| e == "yml" || e == "yaml")
            || name_or_path.contains(std::path::MAIN_SEPARATOR);
        if as_path.is_file() || looks_like_path {
            return Theme::from_file(as_path);
        }
        let mut searched = Vec::new();
        if let Some(dir) = config_dir {
            let candidate = dir.join("themes").join(format!("{name_or_path}.yml"));
            if candidate.is_file() {
                return Theme::from_file(&candidate);
            }
            searched.push(candidate);
        }
        Theme::builtin(name_or_path).ok_or_else(|| ThemeError::NotFound {
            name: name_or_path.to_string(),
            searched,
        })
    }

    /// Loads a theme, falling back to the built-in default when it cannot be
    /// loaded. The error, if any, is returned so the caller can show it.
    pub fn load_or_default(name_or_path: &str) -> (Theme, Option<ThemeError>) {
        match Theme::load(name_or_path) {
            Ok(t) => (t, None),
            Err(e) => (Theme::default(), Some(e)),
        }
    }

    /// The theme the console should use: monochrome when `no_color`, else
    /// `name` (the built-in default when `None`). When `name` cannot be
    /// loaded the default is used and the returned text says why, for the
    /// caller to show (it is never fatal).
    pub fn for_console(name: Option<&str>, no_color: bool) -> (Theme, Option<String>) {
        if no_color {
            return (Theme::monochrome(), None);
        }
        match name {
            None => (Theme::default(), None),
            Some(name) => match Theme::load(name) {
                Ok(t) => (t, None),
                Err(e) => (
                    Theme::default(),
                    Some(format!("{e}; using the built-in default theme")),
                ),
            },
        }
    }

    /// A built-in theme by name.
    pub fn builtin(name: &str) -> Option<Theme> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        let source = format!("built-in {name}");
        // Built-in themes are checked by unit tests; the default is the base
        // of the others so that partial themes stay readable.
        let base = if name == "default" {
            Theme::blank(&source)
        } else {
            Theme {
                source: source.clone(),
                ..Theme::builtin("default")?
            }
        };
        Theme::parse(text, &source, base).ok()
    }

    /// A theme that styles nothing (every role is the terminal default).
    pub fn unstyled() -> Theme {
        Theme::blank("unstyled")
    }

    /// Names of the built-in themes.
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        BUILTIN.iter().map(|(n, _)| *n)
    }

    /// The theme used when `NO_COLOR` is set: attributes only, no colour.
    pub fn monochrome() -> Theme {
        Theme::builtin("monochrome").expect("the built-in monochrome theme is valid")
    }

    /// Reads a theme file.
    pub fn from_file(path: &Path) -> Result<Theme, ThemeError> {
        let text = std::fs::read_to_string(path).map_err(|source| ThemeError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let source = path.display().to_string();
        let base = Theme {
            source: source.clone(),
            ..Theme::default()
        };
        Theme::parse(&text, &source, base)
    }

    /// Parses theme YAML; roles it leaves out keep `base`'s styles.
    pub fn from_yaml(text: &str, source: &str) -> Result<Theme, ThemeError> {
        let base = Theme {
            source: source.to_string(),
            ..Theme::default()
        };
        Theme::parse(text, source, base)
    }

    fn parse(text: &str, source: &str, base: Theme) -> Result<Theme, ThemeError> {
        let invalid = |message: String| ThemeError::Invalid {
            source: source.to_string(),
            message,
        };
        // An empty file (or one holding only comments) changes nothing.
        let file: ThemeFile = if text.lines().all(|l| {
            let l = l.trim();
            l.is_empty() || l.starts_with('#')
        }) {
            ThemeFile::default()
        } else {
            serde_saphyr::from_str(text).map_err(|e| invalid(first_line(&e.to_string())))?
        };
        file.apply(base).map_err(invalid)
    }

    /// Style for an instance's declared role.
    pub fn role(&self, role: crate::model::DeclaredRole) -> Style {
        use crate::model::DeclaredRole as R;
        match role {
            R::Primary => self.role_primary,
            R::Replica => self.role_replica,
            R::Offline => self.role_offline,
            R::Delayed => self.role_delayed,
            R::Standby => self.role_standby,
        }
    }

    /// Style for a service's live health.
    pub fn health(&self, health: crate::snapshot::Health) -> Style {
        use crate::snapshot::Health as H;
        match health {
            H::Up => self.status_up,
            H::Down => self.status_down,
            H::Unknown => self.status_unknown,
        }
    }
}

/// `NO_COLOR` is set to a non-empty value (<https://no-color.org>).
pub fn no_color_requested() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// The console's configuration directory (`~/.config/pigsty-tui` on Linux).
pub fn config_dir() -> Option<PathBuf> {
    Some(crate::paths::Paths::resolve().config_dir)
}

/// Keeps the headline of a parser error (serde-saphyr renders a snippet
/// below it) so it fits on a warning line.
fn first_line(message: &str) -> String {
    let mut lines = message.lines().map(str::trim).filter(|l| !l.is_empty());
    let head = lines.next().unwrap_or("invalid YAML");
    let head = head.strip_prefix("error: ").unwrap_or(head).to_string();
    // Keep a location line if the headline has none.
    match lines.find(|l| l.contains("line")) {
        Some(loc) if !head.contains("line") => format!("{head} ({loc})"),
        _ => head,
    }
}

/// One role's style as written in a theme file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    #[serde(default)]
    fg: Option<String>,
    #[serde(default)]
    bg: Option<String>,
    #[serde(default)]
    modifiers: Vec<String>,
}

impl StyleSpec {
    fn to_style(&self) -> Result<Style, String> {
        let mut style = Style::new();
        if let Some(fg) = &self.fg {
            style = style.fg(parse_color(fg)?);
        }
        if let Some(bg) = &self.bg {
            style = style.bg(parse_color(bg)?);
        }
        for m in &self.modifiers {
            style = style.add_modifier(parse_modifier(m)?);
        }
        Ok(style)
    }
}

const COLOR_NAMES: &str = "black, red, green, yellow, blue, magenta, cyan, gray, darkgray, \
     lightred, lightgreen, lightyellow, lightblue, lightmagenta, lightcyan, white, reset, #rrggbb";

/// Parses a colour: one of the 16 ANSI names, `reset`, or `#rrggbb`.
pub fn parse_color(text: &str) -> Result<Color, String> {
    let t = text.trim();
    if let Some(hex) = t.strip_prefix('#') {
        if hex.len() == 6
            && let Ok(v) = u32::from_str_radix(hex, 16)
        {
            return Ok(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
        }
        return Err(format!("bad colour '{text}': expected #rrggbb"));
    }
    let key: String = t
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    let color = match key.as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        _ => {
            return Err(format!(
                "unknown colour '{text}' (use one of: {COLOR_NAMES})"
            ));
        }
    };
    Ok(color)
}

fn parse_modifier(text: &str) -> Result<Modifier, String> {
    Ok(match text.trim().to_ascii_lowercase().as_str() {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underline" | "underlined" => Modifier::UNDERLINED,
        "reverse" | "reversed" => Modifier::REVERSED,
        "crossed_out" | "strikethrough" => Modifier::CROSSED_OUT,
        _ => {
            return Err(format!(
                "unknown modifier '{text}' (use bold, dim, italic, underline, reverse)"
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_ansi16(c: Option<Color>) -> bool {
        !matches!(c, Some(Color::Rgb(..)) | Some(Color::Indexed(_)))
    }

    #[test]
    fn every_builtin_theme_parses_and_sets_every_role() {
        for name in Theme::builtin_names() {
            let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name).unwrap();
            let file: ThemeFile = serde_saphyr::from_str(text)
                .unwrap_or_else(|e| panic!("built-in theme {name}: {e}"));
            let blank = Theme::blank(name);
            let theme = file.apply(blank.clone()).unwrap();
            assert!(Theme::builtin(name).is_some(), "{name}");
            // Every role must be spelled out in each built-in file.
            let text_roles: Vec<&str> = text
                .lines()
                .filter_map(|l| l.split(':').next())
                .filter(|k| !k.starts_with('#') && !k.starts_with(' '))
                .collect();
            for role in Theme::ROLES {
                assert!(
                    text_roles.contains(role),
                    "built-in theme {name} does not set role {role}"
                );
            }
            let _ = theme;
        }
    }

    #[test]
    fn default_theme_uses_only_16_ansi_colours() {
        let t = Theme::default();
        let all = [
            t.text,
            t.dim,
            t.header,
            t.header_accent,
            t.header_warning,
            t.footer,
            t.footer_key,
            t.border,
            t.border_focused,
            t.title,
            t.selection,
            t.selection_inactive,
            t.group,
            t.table_header,
            t.connector,
            t.role_primary,
            t.role_replica,
            t.role_offline,
            t.role_delayed,
            t.role_standby,
            t.status_up,
            t.status_down,
            t.status_unknown,
            t.warning,
            t.error,
            t.popup,
            t.input,
            t.completion_selected,
            t.stale,
            t.info,
            t.badge_ok,
            t.badge_failing,
            t.badge_stale,
            t.tab,
            t.tab_active,
            t.sparkline,
            t.lag_bar,
        ];
        assert_eq!(all.len(), Theme::ROLES.len());
        for s in all {
            assert!(is_ansi16(s.fg) && is_ansi16(s.bg), "{s:?}");
        }
    }

    #[test]
    fn monochrome_has_no_colour() {
        let t = Theme::monochrome();
        for s in [t.header, t.selection, t.status_up, t.status_down, t.error] {
            assert!(s.fg.is_none() || s.fg == Some(Color::Reset), "{s:?}");
            assert!(s.bg.is_none() || s.bg == Some(Color::Reset), "{s:?}");
        }
        assert!(t.selection.add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn colours_parse() {
        assert_eq!(parse_color("lightblue"), Ok(Color::LightBlue));
        assert_eq!(parse_color("Light-Blue"), Ok(Color::LightBlue));
        assert_eq!(parse_color("#ff8000"), Ok(Color::Rgb(255, 128, 0)));
        assert!(parse_color("#ff80").is_err());
        assert!(
            parse_color("purple")
                .unwrap_err()
                .contains("unknown colour 'purple'")
        );
    }

    #[test]
    fn partial_theme_keeps_default_roles() {
        let t = Theme::from_yaml("header: { fg: red }\n", "test").unwrap();
        assert_eq!(t.header, Style::new().fg(Color::Red));
        assert_eq!(t.selection, Theme::default().selection);
    }

    #[test]
    fn bad_theme_says_what_is_wrong() {
        let e = Theme::from_yaml("header: { fg: purple }\n", "my.yml").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("my.yml") && msg.contains("header") && msg.contains("purple"),
            "{msg}"
        );

        let e = Theme::from_yaml("headr: { fg: red }\n", "my.yml").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("my.yml") && msg.contains("headr"), "{msg}");

        let e = Theme::from_yaml("header: [unclosed\n", "my.yml").unwrap_err();
        assert!(e.to_string().contains("my.yml"), "{e}");
    }

    #[test]
    fn load_finds_files_config_dir_and_builtins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("themes")).unwrap();
        std::fs::write(
            dir.path().join("themes/mine.yml"),
            "header: { fg: green }\n",
        )
        .unwrap();
        let t = Theme::load_with_config_dir("mine", Some(dir.path())).unwrap();
        assert_eq!(t.header, Style::new().fg(Color::Green));

        let t = Theme::load_with_config_dir("light", Some(dir.path())).unwrap();
        assert_eq!(t.source, "built-in light");

        let path = dir.path().join("themes/mine.yml");
        let t = Theme::load_with_config_dir(path.to_str().unwrap(), None).unwrap();
        assert_eq!(t.header, Style::new().fg(Color::Green));

        let e = Theme::load_with_config_dir("nope", Some(dir.path())).unwrap_err();
        assert!(matches!(e, ThemeError::NotFound { .. }), "{e}");
        assert!(e.to_string().contains("high-contrast"), "{e}");

        let e = Theme::load_with_config_dir("/no/such/theme.yml", None).unwrap_err();
        assert!(matches!(e, ThemeError::Read { .. }), "{e}");
    }

    #[test]
    fn load_or_default_falls_back() {
        let (t, err) = Theme::load_or_default("no-such-theme-anywhere");
        assert!(err.is_some());
        assert_eq!(t, Theme::default());
    }
}
