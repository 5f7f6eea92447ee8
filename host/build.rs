//! Builds the bundled mappers in `plugins/` and exposes them to the binary
//! as `builtin:NAME`, so that tests and `serve` always run the mappers that
//! match the source. The hostile mappers of the tests, in `tests/mappers/`,
//! are built by the same steps (for another target, below) and listed for
//! the tests.
//!
//! The bundled mappers are built for `wasm32-unknown-unknown` and made into
//! components here: without the WASI interfaces that the standard library
//! imports on `wasm32-wasip2`, a component is one core module with no
//! imports but the host's, and an instance of it costs about a third less
//! (BENCHMARKS.md). The hostile mappers stay on `wasm32-wasip2`, the target
//! vendors build for, and which reaches past the sandbox the most.
//!
//! The plugins are their own Cargo workspace with their own target
//! directory (`plugins/target`). The nested cargo must not inherit what the
//! outer build set for the host (a wrapper such as clippy-driver, host
//! rustflags, the outer target directory), or wrapped builds break.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target of the bundled mappers.
const BUNDLED: &str = "wasm32-unknown-unknown";
/// The target of the test mappers, which produces components directly.
const COMPONENTS: &str = "wasm32-wasip2";

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
    toolchain.require_targets(&[BUNDLED, COMPONENTS]);

    let out_dir = PathBuf::from(env("OUT_DIR"));
    let modules = build_workspace(&toolchain, &root.join("plugins"), BUNDLED);
    let components = out_dir.join("mappers");
    std::fs::create_dir_all(&components).expect("failed to create the mappers' folder");
    let builtins: Vec<_> = modules
        .into_iter()
        .map(|(name, module)| {
            let component = components.join(module.file_name().expect("a file"));
            componentize(&module, &component);
            (name, component)
        })
        .collect();
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
        let built = build_workspace(&toolchain, &test_mappers, COMPONENTS);
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

/// Builds every crate of the workspace at `dir` for `target`, in its own
/// target directory, and returns `(crate folder, .wasm path)` pairs.
fn build_workspace(toolchain: &Toolchain, dir: &Path, target: &str) -> Vec<(String, PathBuf)> {
    let names = plugin_names(dir);
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
    let target_dir = dir.join("target");
    build(toolchain, &dir.join("Cargo.toml"), &target_dir, target);
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
        let (what, them) = match missing.len() {
            1 => ("target is", "it"),
            _ => ("targets are", "them"),
        };
        assert!(
            missing.is_empty(),
            "\n\nthe `{}` {what} not installed for {toolchain}; the mappers need {them}.\n\
             run: rustup target add {}\n\n",
            missing.join("` and `"),
            missing.join(" ")
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

fn build(toolchain: &Toolchain, manifest: &Path, target_dir: &Path, target: &str) {
    let mut command = toolchain.command("cargo", "CARGO");
    command
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            target,
            "--manifest-path",
        ])
        .arg(manifest)
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
        "building the mappers of `{}` failed (see the output above); \
         if the `{target}` target is missing, run: rustup target add {target}",
        manifest.display()
    );
}

/// Makes the core module at `module` into a component at `component`. The
/// world it implements travels in the module, where `wit-bindgen` put it.
fn componentize(module: &Path, component: &Path) {
    let bytes = std::fs::read(module)
        .unwrap_or_else(|e| panic!("failed to read `{}`: {e}", module.display()));
    let encoded = wit_component::ComponentEncoder::default()
        .module(&bytes)
        .and_then(|encoder| encoder.validate(true).encode())
        .unwrap_or_else(|e| {
            panic!(
                "failed to make `{}` into a component: {e:#}",
                module.display()
            )
        });
    std::fs::write(component, encoded)
        .unwrap_or_else(|e| panic!("failed to write `{}`: {e}", component.display()));
}
