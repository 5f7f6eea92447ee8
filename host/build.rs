//! Builds the bundled mappers in `plugins/` and exposes them to the binary
//! as `builtin:NAME`, so that tests and `serve` always run the mappers that
//! match the source. The hostile mappers of the tests, in `tests/mappers/`,
//! are built the same way and listed for the tests.
//!
//! The bundled mappers are built for `wasm32-unknown-unknown`, linked into
//! components by `wasm-component-ld` (each workspace's `.cargo/config.toml`
//! names it): they import only the host interface, and a component without
//! the WASI adapter instantiates faster. The test mappers are built for
//! `wasm32-wasip2`, as vendors build theirs, to test what WASI lets a
//! mapper try; their `panic` is built both ways.
//!
//! The plugins are their own Cargo workspace with their own target
//! directory (`plugins/target`). The nested cargo must not inherit what the
//! outer build set for the host (a wrapper such as clippy-driver, host
//! rustflags, the outer target directory), or wrapped builds break.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target of the bundled mappers.
const LEAN: &str = "wasm32-unknown-unknown";
/// The target vendors build for, and the test mappers.
const WASI: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .expect("host/ sits in the repository")
        .to_owned();
    for watched in [
        root.join("guest-sdk/src"),
        root.join("guest-sdk/Cargo.toml"),
        root.join("wit"),
    ] {
        println!("cargo::rerun-if-changed={}", watched.display());
    }
    println!(
        "cargo::rerun-if-changed={}",
        root.join("rust-toolchain.toml").display()
    );
    let toolchain = Toolchain::find(&root);
    toolchain.require_targets(&[LEAN, WASI]);

    let out_dir = PathBuf::from(env("OUT_DIR"));
    let builtins = build_workspace(&toolchain, &root.join("plugins"), LEAN, None);
    let mut generated = String::from("/// Bundled mappers: `(name, component bytes)`.\n");
    generated += "pub const BUILTINS: &[(&str, &[u8])] = &[\n";
    for (name, wasm) in &builtins {
        writeln!(
            generated,
            "    ({name:?}, include_bytes!({:?})),",
            wasm.display().to_string()
        )
        .expect("writing to a string");
    }
    generated += "];\n";
    std::fs::write(out_dir.join("builtins.rs"), generated).expect("failed to write builtins.rs");

    // Hostile mappers for the tests: built the same way, handed to the tests
    // by path, never embedded in the binary.
    let test_mappers = root.join("tests/mappers");
    if test_mappers.join("Cargo.toml").exists() {
        let mut built = build_workspace(&toolchain, &test_mappers, WASI, None);
        // A panic's message reaches the log by the guest SDK's hook where
        // the target has no standard error.
        for (name, wasm) in build_workspace(&toolchain, &test_mappers, LEAN, Some("panic")) {
            built.push((format!("{name}-lean"), wasm));
        }
        let mut list = String::from("/// Test mappers: `(name, path to the component)`.\n");
        list += "pub const TEST_MAPPERS: &[(&str, &str)] = &[\n";
        for (name, wasm) in &built {
            writeln!(list, "    ({name:?}, {:?}),", wasm.display().to_string())
                .expect("writing to a string");
        }
        list += "];\n";
        let dest = out_dir.join("test_mappers.rs");
        std::fs::write(&dest, list).expect("failed to write test_mappers.rs");
        println!("cargo::rustc-env=EVENTPUSH_TEST_MAPPERS={}", dest.display());
    }
}

/// Builds every crate of the workspace at `dir` (or only `only`) for
/// `target`, in its own target directory, and returns `(crate folder,
/// component path)` pairs.
fn build_workspace(
    toolchain: &Toolchain,
    dir: &Path,
    target: &str,
    only: Option<&str>,
) -> Vec<(String, PathBuf)> {
    let mut names = plugin_names(dir);
    println!(
        "cargo::rerun-if-changed={}",
        dir.join(".cargo/config.toml").display()
    );
    println!(
        "cargo::rerun-if-changed={}",
        dir.join("Cargo.toml").display()
    );
    println!(
        "cargo::rerun-if-changed={}",
        dir.join("Cargo.lock").display()
    );
    for name in &names {
        println!(
            "cargo::rerun-if-changed={}",
            dir.join(name).join("src").display()
        );
        println!(
            "cargo::rerun-if-changed={}",
            dir.join(name).join("Cargo.toml").display()
        );
    }
    if let Some(only) = only {
        names.retain(|name| name == only);
    }
    let target_dir = dir.join("target");
    build(toolchain, dir, target, only, &target_dir);
    let out = target_dir.join(target).join("release");
    names
        .into_iter()
        .map(|name| {
            let wasm = out.join(format!("{}.wasm", name.replace('-', "_")));
            assert!(
                wasm.exists(),
                "the build of `{name}` produced no `{}`",
                wasm.display()
            );
            (name, wasm)
        })
        .collect()
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("cargo sets `{name}` for build scripts"))
}

/// Every folder of `dir` that holds a crate, sorted.
fn plugin_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("failed to read `{}`: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("Cargo.toml").exists())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The toolchain that builds the mappers. With rustup it is the one
/// `rust-toolchain.toml` pins, so that a host built by another toolchain (a
/// nightly for the fuzz targets, say) embeds the same mappers; without
/// rustup it is the toolchain running this build.
struct Toolchain {
    pinned: Option<String>,
}

impl Toolchain {
    fn find(root: &Path) -> Self {
        let rustup_runs = || {
            Command::new("rustup")
                .arg("--version")
                .output()
                .is_ok_and(|out| out.status.success())
        };
        Self {
            pinned: pinned_channel(root).filter(|_| rustup_runs()),
        }
    }

    /// `tool` (`cargo` or `rustc`) of this toolchain; `outer` names the
    /// variable through which cargo hands this build its own.
    fn command(&self, tool: &str, outer: &str) -> Command {
        match &self.pinned {
            Some(channel) => {
                let mut command = Command::new("rustup");
                command.args(["run", channel, tool]);
                command
            }
            None => Command::new(std::env::var(outer).unwrap_or_else(|_| tool.into())),
        }
    }

    /// Fails early, with the command that fixes it, when a target is missing.
    fn require_targets(&self, targets: &[&str]) {
        let sysroot = self
            .command("rustc", "RUSTC")
            .args(["--print", "sysroot"])
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
        let Some(sysroot) = sysroot else {
            return;
        };
        let missing: Vec<&str> = targets
            .iter()
            .copied()
            .filter(|target| {
                !Path::new(&sysroot)
                    .join("lib/rustlib")
                    .join(target)
                    .exists()
            })
            .collect();
        let toolchain = self.pinned.as_deref().unwrap_or("this toolchain");
        assert!(
            missing.is_empty(),
            "\n\nthe {} target(s) are not installed for {toolchain}; the mappers need them.\n\
             run: rustup target add {}\n\n",
            missing.join(", "),
            targets.join(" ")
        );
    }
}

/// The `channel` of `rust-toolchain.toml`. One key of a small file, read by
/// hand: a TOML parser as a build dependency would be more than it needs.
fn pinned_channel(root: &Path) -> Option<String> {
    let text = std::fs::read_to_string(root.join("rust-toolchain.toml")).ok()?;
    text.lines().find_map(|line| {
        let value = line.trim().strip_prefix("channel")?.trim_start();
        Some(value.strip_prefix('=')?.trim().trim_matches('"').to_owned())
    })
}

fn build(toolchain: &Toolchain, dir: &Path, target: &str, only: Option<&str>, target_dir: &Path) {
    let manifest = dir.join("Cargo.toml");
    let mut command = toolchain.command("cargo", "CARGO");
    command
        // Run in the workspace, so that its `.cargo/config.toml` applies.
        .current_dir(dir)
        .args(["build", "--release", "--locked", "--target", target])
        .args(only.map(|name| ["--package", name]).into_iter().flatten())
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir);
    for inherited in [
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_PRIMARY_PACKAGE",
        "RUSTC",
        "RUSTDOC",
        "RUSTUP_TOOLCHAIN",
    ] {
        command.env_remove(inherited);
    }
    let status = command
        .status()
        .expect("failed to run cargo for the mappers");
    assert!(
        status.success(),
        "building the mappers of `{}` for `{target}` failed (see the output above); \
         if the target is missing, run: rustup target add {target}",
        manifest.display()
    );
}
