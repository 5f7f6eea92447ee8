//! The artifact cache: compiled mappers kept in the data directory, trusted
//! like the database, keyed by the module's hash and the engine's settings.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

/// Compiles `bytes`, or loads the compiled form from `dir` when present and
/// made by an engine with the same settings. The log says which happened.
pub(super) fn compile(
    engine: &wasmtime::Engine,
    dir: Option<&Path>,
    name: &str,
    bytes: &[u8],
) -> wasmtime::Result<Component> {
    let Some(dir) = dir else {
        return Component::new(engine, bytes);
    };
    let path = artifact_path(engine, dir, bytes);
    // Why it is compiled: no artifact under its key, or one this engine
    // cannot use.
    let cache = if path.exists() {
        match load(engine, &path) {
            Ok(component) => {
                tracing::info!(mapper = %name, artifact = %path.display(), "mapper loaded from cache");
                return Ok(component);
            }
            Err(e) => {
                tracing::warn!(
                    mapper = %name,
                    artifact = %path.display(),
                    error = %e,
                    "cached mapper mismatched; recompiling"
                );
                "mismatched"
            }
        }
    } else {
        "missing"
    };
    let component = Component::new(engine, bytes)?;
    tracing::info!(mapper = %name, cache, "mapper compiled");
    if let Err(e) = store(&component, dir, &path) {
        tracing::warn!(mapper = %name, error = %e, "failed to cache the compiled mapper");
    }
    Ok(component)
}

/// `<sha256 of the module>-<hash of the engine's settings>.cwasm`
fn artifact_path(engine: &wasmtime::Engine, dir: &Path, bytes: &[u8]) -> PathBuf {
    let mut settings = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut settings);
    let module = hex::encode(Sha256::digest(bytes));
    dir.join(format!("{module}-{:016x}.cwasm", settings.finish()))
}

#[allow(unsafe_code)]
fn load(engine: &wasmtime::Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: `deserialize_file` trusts its input to be an artifact that this
    // engine's `serialize` wrote. The cache directory lives in the data
    // directory beside the database and is trusted like it (only eventpush
    // writes there); the key includes the engine's compatibility hash, and
    // wasmtime checks its own version and settings header before use.
    unsafe { Component::deserialize_file(engine, path) }
}

fn store(component: &Component, dir: &Path, path: &Path) -> wasmtime::Result<()> {
    std::fs::create_dir_all(dir)?;
    let bytes = component.serialize()?;
    // Write beside, then rename: a crash never leaves a torn artifact under the key.
    let partial = path.with_extension("partial");
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, path)?;
    Ok(())
}
