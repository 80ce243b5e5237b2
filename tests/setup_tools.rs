//! `scripts/setup.sh` installs every command the scripts and the tests call.
//!
//! Why: CI runs on a machine where a tool installed by hand hides a missing install step
//! (this happened with `ethtool`: green CI, failing fresh machine). The lists checked here
//! are the ones the code itself uses, so they cannot drift apart: every `need`/`want` line of
//! `scripts/*.sh` and `scripts/lib/*.sh`, every suite of `tests/prereq`, and every literal
//! `Command::new("...")` of the integration tests. Each tool must be on PATH, and the Debian
//! package that owns it (`dpkg -S`) must be in setup.sh's `PACKAGES` list, or be one of
//! Debian's essential/required/important packages that every bookworm root has.

mod prereq;
mod support;

/// Commands of the Rust toolchain, which the README asks for (rustup) before setup.sh runs:
/// they come from no Debian package.
const RUST_TOOLCHAIN: &[&str] = &["cargo", "rustc", "rustup"];
use support::repo;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    out
}

/// Tool -> where it is asked for, from the scripts' `need`/`want` lines (literal words only;
/// `$VAR` words are resolved by the script and named literally elsewhere).
fn script_needs(into: &mut BTreeMap<String, BTreeSet<String>>) {
    let root = repo();
    for f in files(&root.join("scripts"), "sh")
        .into_iter()
        .chain(files(&root.join("scripts/lib"), "sh"))
    {
        let text = std::fs::read_to_string(&f).unwrap();
        let name = f.strip_prefix(&root).unwrap().display().to_string();
        for line in text.lines() {
            if line.trim_start().starts_with('#') {
                continue;
            }
            // Every call `need TOOL...` / `want TOOL...` in command position (line start, or
            // after `&&`, `||`, `;`, `{`, `!`, `then`, `do`); not the definitions in
            // common.sh (`need() {`), `need_root`, nor prose in usage texts.
            for kw in ["need ", "want "] {
                let mut from = 0;
                while let Some(i) = line[from..].find(kw).map(|i| i + from) {
                    from = i + kw.len();
                    let before = line[..i].trim_end();
                    let command_position = before.is_empty()
                        || ["&&", "||", ";", "{", "!", "then", "do"]
                            .iter()
                            .any(|t| before.ends_with(t))
                            && (i == 0 || line[..i].ends_with([' ', '\t']));
                    if !command_position {
                        continue;
                    }
                    for word in line[from..].split_whitespace() {
                        let w = word.trim_end_matches(';');
                        if w.is_empty()
                            || w.starts_with(['$', '"', '#', '{', '}', '|', '&', ';', '('])
                        {
                            break;
                        }
                        into.entry(w.to_string()).or_default().insert(name.clone());
                        if word.ends_with(';') {
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// Tool -> test file, from literal `Command::new("tool")` calls.
fn test_commands(into: &mut BTreeMap<String, BTreeSet<String>>) {
    let root = repo();
    let mut dirs = vec![root.join("tests")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let name = p.strip_prefix(&root).unwrap().display().to_string();
            if name == "tests/setup_tools.rs" {
                continue; // its doc comment names the pattern, not a tool
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for piece in text.split("Command::new(\"").skip(1) {
                if let Some(tool) = piece.split('"').next() {
                    if !tool.is_empty() && !tool.contains(['/', ' ']) {
                        into.entry(tool.to_string())
                            .or_default()
                            .insert(name.clone());
                    }
                }
            }
        }
    }
}

/// The packages of setup.sh's `PACKAGES=( ... )` array.
fn setup_packages() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo().join("scripts/setup.sh")).unwrap();
    let start = text
        .find("PACKAGES=(")
        .expect("scripts/setup.sh has no PACKAGES=( ... ) list");
    let body = &text[start + "PACKAGES=(".len()..];
    let end = body.find(')').expect("PACKAGES list is not closed");
    body[..end].split_whitespace().map(str::to_string).collect()
}

fn sh(cmd: &str) -> Option<String> {
    let out = Command::new("sh").args(["-c", cmd]).output().ok()?;
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !s.is_empty()).then_some(s)
}

/// Every executable named `tool` on PATH, in PATH order (a shell builtin such as `kill` is
/// also a program that `Command::new` runs; a tool shadowed by e.g. pyenv still counts once
/// the system one is there).
fn on_path(tool: &str) -> Vec<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .map(|d| Path::new(d).join(tool))
        .filter(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .collect()
}

/// The Debian packages owning `file` (resolved; merged-/usr aware; diversions skipped).
fn owners(file: &Path) -> Vec<String> {
    let Ok(real) = std::fs::canonicalize(file) else {
        return Vec::new();
    };
    let real = real.display().to_string();
    let stripped = real.strip_prefix("/usr").unwrap_or(&real).to_string();
    let mut pkgs = Vec::new();
    for p in [real.as_str(), stripped.as_str()] {
        let Some(out) = sh(&format!("dpkg -S '{p}' 2>/dev/null")) else {
            continue;
        };
        for line in out.lines().filter(|l| !l.starts_with("diversion by")) {
            if let Some((names, _)) = line.split_once(": ") {
                pkgs.extend(names.split(", ").map(|n| n.trim().to_string()));
            }
        }
    }
    pkgs
}

/// `packages` and everything they depend on, recursively (what `apt-get install` of them
/// brings in; recommends are off in setup.sh, so they are off here too).
fn closure(packages: &BTreeSet<String>) -> BTreeSet<String> {
    let list = packages.iter().cloned().collect::<Vec<_>>().join(" ");
    let out = sh(&format!(
        "apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
         --no-breaks --no-replaces --no-enhances {list} 2>/dev/null"
    ))
    .unwrap_or_default();
    out.lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('<'))
        .map(|l| l.split(':').next().unwrap_or(l).trim().to_string())
        .chain(packages.iter().cloned())
        .collect()
}

/// Whether every bookworm root (debootstrap minbase) has `pkg` anyway.
fn always_there(pkg: &str) -> bool {
    sh(&format!(
        "dpkg-query -W -f='${{Essential}} ${{Priority}}' '{pkg}' 2>/dev/null"
    ))
    .is_some_and(|s| s.starts_with("yes") || s.ends_with("required"))
}

#[test]
fn setup_sh_installs_every_tool_scripts_and_tests_call() {
    let mut needs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    script_needs(&mut needs);
    for suite in prereq::ALL {
        for t in suite.tools {
            needs
                .entry(t.to_string())
                .or_default()
                .insert(format!("tests/prereq ({})", suite.name));
        }
    }
    test_commands(&mut needs);
    // The lists are really read: each source contributes its known tools.
    for (tool, from) in [
        ("ethtool", "scripts/demo.sh"),
        ("gst-launch-1.0", "scripts/compare-gstreamer.sh"),
        ("jq", "scripts/bench.sh"),
        ("tcpreplay", "scripts/compare-gstreamer.sh"),
    ] {
        assert!(
            needs.get(tool).is_some_and(|s| s.contains(from)),
            "the scan did not find `{tool}` in {from}: {needs:?}"
        );
    }
    let installed = closure(&setup_packages());
    let mut problems = Vec::new();
    for (tool, from) in &needs {
        let from = from.iter().cloned().collect::<Vec<_>>().join(", ");
        let found = on_path(tool);
        if found.is_empty() {
            problems.push(format!(
                "`{tool}` (needed by {from}) is not on PATH after scripts/setup.sh"
            ));
            continue;
        }
        // The one prerequisite the README names besides Debian: the Rust toolchain (rustup).
        if RUST_TOOLCHAIN.contains(&tool.as_str()) {
            continue;
        }
        let pkgs: BTreeSet<String> = found.iter().flat_map(|f| owners(f)).collect();
        if pkgs
            .iter()
            .any(|p| installed.contains(p) || always_there(p))
        {
            continue;
        }
        problems.push(if pkgs.is_empty() {
            format!(
                "`{tool}` (needed by {from}, found at {found:?}) belongs to no Debian package \
                 (installed by hand?): scripts/setup.sh cannot reproduce it"
            )
        } else {
            format!(
                "`{tool}` (needed by {from}) comes from {pkgs:?}, which scripts/setup.sh does \
                 not install: add it to PACKAGES"
            )
        });
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
