//! Builds the bundled mappers in `plugins/` for `wasm32-wasip2` and exposes
//! them to the binary as `builtin:NAME`, so that tests and `serve` always
//! run the mappers that match the source.
//!
//! The plugins are their own Cargo workspace with their own target
//! directory (`plugins/target`). The nested cargo must not inherit what the
//! outer build set for the host (a wrapper such as clippy-driver, host
//! rustflags, the outer target directory), or wrapped builds break.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .expect("host/ sits in the repository")
        .to_owned();
    let plugins = root.join("plugins");
    let names = plugin_names(&plugins);

    for watched in [
        plugins.join("Cargo.toml"),
        plugins.join("Cargo.lock"),
        root.join("guest-sdk/src"),
        root.join("guest-sdk/Cargo.toml"),
        root.join("wit"),
    ] {
        println!("cargo::rerun-if-changed={}", watched.display());
    }
    for name in &names {
        println!(
            "cargo::rerun-if-changed={}",
            plugins.join(name).join("src").display()
        );
        println!(
            "cargo::rerun-if-changed={}",
            plugins.join(name).join("Cargo.toml").display()
        );
    }

    require_target();
    let target_dir = plugins.join("target");
    build(&plugins.join("Cargo.toml"), &target_dir);

    let out = target_dir.join(TARGET).join("release");
    let mut generated = String::from("/// Bundled mappers: `(name, component bytes)`.\n");
    generated += "pub const BUILTINS: &[(&str, &[u8])] = &[\n";
    for name in &names {
        let wasm = out.join(format!("{}.wasm", name.replace('-', "_")));
        assert!(
            wasm.exists(),
            "the build of plugin `{name}` produced no `{}`",
            wasm.display()
        );
        writeln!(
            generated,
            "    ({name:?}, include_bytes!({:?})),",
            wasm.display().to_string()
        )
        .expect("writing to a string");
    }
    generated += "];\n";
    let dest = PathBuf::from(env("OUT_DIR")).join("builtins.rs");
    std::fs::write(dest, generated).expect("failed to write builtins.rs");
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("cargo sets `{name}` for build scripts"))
}

/// Every folder of `plugins/` that holds a crate, sorted.
fn plugin_names(plugins: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(plugins)
        .expect("failed to read `plugins/`")
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("Cargo.toml").exists())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Fails early, with the command that fixes it, when the target is missing.
fn require_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
    let Some(sysroot) = sysroot else {
        return;
    };
    let installed = Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .exists();
    assert!(
        installed,
        "\n\nthe `{TARGET}` target is not installed for this toolchain; the bundled mappers \
         need it.\nrun: rustup target add {TARGET}\n\n"
    );
}

fn build(manifest: &Path, target_dir: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            TARGET,
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
    ] {
        command.env_remove(inherited);
    }
    let status = command
        .status()
        .expect("failed to run cargo for the plugins");
    assert!(
        status.success(),
        "building the bundled mappers failed (see the output above); \
         if the `{TARGET}` target is missing, run: rustup target add {TARGET}"
    );
}
