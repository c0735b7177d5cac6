//! The gateway's layers point one way (ARCHITECTURE.md, "Layers"): each
//! top-level module may use only modules of the layers beneath it. Read as
//! text: every `crate::<module>` a file names, outside its test module.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each top-level module and its layer; a module uses only lower layers.
const LAYERS: &[(&str, u8, &str)] = &[
    ("db", 0, "store"),
    ("files", 0, "store"),
    ("secret_file", 0, "store"),
    ("telemetry", 0, "store"),
    ("tls", 0, "store"),
    ("audit", 1, "event log, read models, crypto"),
    ("config", 1, "event log, read models, crypto"),
    ("event_log", 1, "event log, read models, crypto"),
    ("media", 1, "event log, read models, crypto"),
    ("outbound", 1, "event log, read models, crypto"),
    ("vault", 1, "event log, read models, crypto"),
    ("wake", 1, "event log, read models, crypto"),
    ("app", 2, "application"),
    ("http", 3, "what the HTTP interfaces share"),
    ("api", 4, "interface"),
    ("web", 4, "interface"),
    ("workers", 4, "interface"),
    ("cli", 4, "interface"),
    ("server", 5, "assembly"),
    ("lib", 6, "crate root"),
    ("main", 6, "crate root"),
];

/// Edges that break the rule today, each with why. Adding one needs a
/// reason an issue can hold to; none is left.
const KNOWN_EXCEPTIONS: &[(&str, &str, &str)] = &[];

fn layer(module: &str) -> Option<(u8, &'static str)> {
    LAYERS
        .iter()
        .find(|(m, _, _)| *m == module)
        .map(|(_, l, name)| (*l, *name))
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read the source tree") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text of a file without its test module (by convention at the end).
fn without_tests(text: &str) -> &str {
    let cut = ["#[cfg(test)]\nmod ", "#[cfg(test)]\npub(crate) mod "]
        .iter()
        .filter_map(|m| text.find(m))
        .min();
    match cut {
        Some(at) => &text[..at],
        None => text,
    }
}

/// Every top-level module `text` names as `crate::<module>` or in a
/// `use crate::{a, b}` group.
fn named_modules(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in text.match_indices("crate::") {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue; // `lianxi_crate::…`, not this crate
        }
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or_default();
            for item in group.split(',') {
                let name = ident(item.trim());
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// Every use of a module of the same or a higher layer, as
/// `(file, from, to)`.
fn back_edges(src: &Path) -> Vec<(String, String, String)> {
    let mut files = Vec::new();
    sources(src, &mut files);
    let mut found = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).expect("under src");
        let first = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or_default();
        let module = first.trim_end_matches(".rs");
        let (from, _) = layer(module).unwrap_or_else(|| {
            panic!("{module} has no layer: add it to LAYERS and ARCHITECTURE.md")
        });
        let text = std::fs::read_to_string(&file).expect("read a source file");
        for named in named_modules(without_tests(&text)) {
            if named == module || named == "self" {
                continue;
            }
            let Some((to, _)) = layer(&named) else {
                panic!(
                    "{} names crate::{named}, which has no layer",
                    relative.display()
                );
            };
            if to >= from {
                found.push((relative.display().to_string(), module.to_owned(), named));
            }
        }
    }
    found
}

#[test]
fn every_module_uses_only_the_layers_beneath_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut seen_exceptions = BTreeSet::new();
    let mut problems = Vec::new();
    for (file, from, to) in back_edges(&src) {
        if KNOWN_EXCEPTIONS
            .iter()
            .any(|(f, t, _)| *f == from && *t == to)
        {
            seen_exceptions.insert((from, to));
            continue;
        }
        let (_, from_layer) = layer(&from).unwrap_or_default();
        let (_, to_layer) = layer(&to).unwrap_or_default();
        problems.push(format!(
            "{file}: {from} ({from_layer}) uses {to} ({to_layer})"
        ));
    }
    assert!(
        problems.is_empty(),
        "layers must point down:\n{}",
        problems.join("\n")
    );
    for (from, to, why) in KNOWN_EXCEPTIONS {
        assert!(
            seen_exceptions.contains(&(from.to_string(), to.to_string())),
            "the exception {from} → {to} ({why}) no longer occurs: remove it"
        );
    }
}

#[test]
fn the_reader_finds_every_form_of_a_crate_path() {
    let text = "use crate::db::Database;\nuse crate::{app, http::json};\nlet x = crate::vault::open();\nlianxi_crate::nothing";
    let named: Vec<String> = named_modules(text).into_iter().collect();
    assert_eq!(named, ["app", "db", "http", "vault"]);
    let cut = without_tests("use crate::db;\n#[cfg(test)]\nmod tests {\n use crate::api;\n}");
    assert_eq!(named_modules(cut).into_iter().collect::<Vec<_>>(), ["db"]);
}

#[test]
fn the_write_path_does_not_import_the_read_models() {
    // The store and the event log share positions, pools and trace context
    // with the read models through `lianxi-feed`, beneath both.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let write_path = [
        "db",
        "event_log",
        "audit",
        "vault",
        "wake",
        "config",
        "secret_file",
        "telemetry",
    ];
    let mut found = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src");
        let first = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or_default()
            .trim_end_matches(".rs")
            .to_owned();
        if !write_path.contains(&first.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read a source file");
        if without_tests(&text).contains("lianxi_projections::") {
            found.push(relative.display().to_string());
        }
    }
    assert!(
        found.is_empty(),
        "the write path imports the read models: {found:?}"
    );
}

/// The interfaces of the library (the JSON API, Open311 and the pages, the
/// workers) and what they may name of the crate: the application layer and
/// the HTTP plumbing. The store, the event log, the crypto and the read
/// models are reached only through `app`; `AppState` keeps its handles on
/// them private to `app`, so the compiler holds the same line for fields.
const INTERFACES: &[(&str, &[&str])] = &[
    ("api", &["app", "http"]),
    ("web", &["app", "http"]),
    ("workers", &["app"]),
];

#[test]
fn interfaces_reach_the_store_only_through_the_application_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    for (interface, allowed) in INTERFACES {
        let mut files = Vec::new();
        sources(&src.join(interface), &mut files);
        assert!(!files.is_empty(), "no sources under {interface}/");
        for file in files {
            let relative = file.strip_prefix(&src).expect("under src");
            let text = std::fs::read_to_string(&file).expect("read a source file");
            let text = without_tests(&text);
            for named in named_modules(text) {
                if named != *interface && named != "self" && !allowed.contains(&named.as_str()) {
                    problems.push(format!("{}: names crate::{named}", relative.display()));
                }
            }
            if text.contains("lianxi_projections") {
                problems.push(format!(
                    "{}: names lianxi_projections (read models are the application layer's)",
                    relative.display()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "an interface names only {}:\n{}",
        "the application layer and the HTTP plumbing",
        problems.join("\n")
    );
}

/// The command line (in the binary crate, so not under the compiler's
/// privacy of `AppState`) opens the store in `main.rs` and hands it to
/// `server::state`; its subcommands then act through the application
/// layer. Read as text: no subcommand calls a method of the store handle
/// but `clone` (to build the state) and `kind` (to log which store).
#[test]
fn the_command_line_acts_through_the_application_layer() {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join("cli");
    let mut files = Vec::new();
    sources(&cli, &mut files);
    assert!(!files.is_empty(), "no sources under cli/");
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read a source file");
        for (at, _) in without_tests(&text).match_indices("db.") {
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue; // `state.db.` is the compiler's business; `xdb.` not ours
            }
            let method: String = text[at + 3..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !matches!(method.as_str(), "clone" | "kind") {
                problems.push(format!("{}: db.{method}", file.display()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "a subcommand reaches the store directly:\n{}",
        problems.join("\n")
    );
}
