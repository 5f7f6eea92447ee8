//! Mappers: sandboxed WebAssembly components that see a datasource's raw
//! request before the template does.
//!
//! One [`Engine`] serves every datasource. A mapper is compiled once (or
//! loaded from the artifact cache) and pre-instantiated; each call gets a
//! fresh instance in a pooling-allocator slot whose memory stays resident,
//! so instances are never shared between requests. Every call runs under
//! fuel, an epoch deadline, a memory cap and an output cap, and a fault of
//! any kind ends only that call.

mod cache;
mod host;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{
    Config, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap, UpdateDeadline,
};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub use bindings::eventpush::mapper::types::{Outcome, Rejection, Request, Response};
pub use host::{Clock, Secret, Secrets};

/// Generated from `wit/`; only chosen names leave this module.
mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "mapper",
        additional_derives: [PartialEq, Eq],
        // The call runs on the async runtime's threads, yielding at each
        // epoch tick, rather than costing two thread switches per request.
        exports: { default: async },
    });
}

/// How often the epoch advances; a call's time limit is counted in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Limits of one call, per datasource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fuel: roughly, WebAssembly instructions. Default 100 million.
    pub fuel: u64,
    /// Largest linear memory in bytes. Default 64 MiB.
    pub memory_bytes: usize,
    /// Wall-clock time of one call. Default 1 second.
    pub timeout: Duration,
    /// Largest body or answer the mapper may return, in bytes. Default 1 MiB.
    pub output_bytes: usize,
    /// What of the mapper's log and printed output reaches the host's log,
    /// together. Default 64 KiB; the rest is cut, marked `[truncated]`.
    pub log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel: 100_000_000,
            memory_bytes: 64 << 20,
            timeout: Duration::from_secs(1),
            output_bytes: 1 << 20,
            log_bytes: 64 << 10,
        }
    }
}

impl Limits {
    /// The largest memory any datasource may allow; pooling slots are sized for it.
    pub const MAX_MEMORY: usize = 1 << 30;
}

/// Why a mapper could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The engine could not be configured.
    #[error("failed to configure the WebAssembly engine")]
    Engine(#[source] wasmtime::Error),
    /// The file could not be read.
    #[error("failed to read mapper `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a component, or not one that implements the world.
    #[error("mapper `{name}` is not a component implementing `eventpush:mapper/mapper`: {reason}")]
    Invalid {
        /// The mapper's name or path.
        name: String,
        /// What is missing or wrong.
        reason: String,
    },
}

/// Why a call failed; the request it served ends with a 5xx.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    /// The mapper used up its fuel.
    #[error("the mapper ran out of fuel (limit {0})")]
    Fuel(u64),
    /// The mapper ran past its time limit.
    #[error("the mapper ran past its time limit of {0:?}")]
    Timeout(Duration),
    /// The mapper asked for more memory than its cap.
    #[error("the mapper exceeded its memory limit of {0} bytes")]
    Memory(usize),
    /// The mapper returned more than its output cap.
    #[error("the mapper returned {size} bytes, over its output limit of {limit}")]
    Output {
        /// What it returned.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The mapper trapped: a panic, a stack overflow, an invalid operation.
    #[error("the mapper trapped: {0}")]
    Trap(String),
    /// The mapper answered with a status no HTTP answer may carry.
    #[error("the mapper answered with status {0}, outside its allowed range")]
    Status(u16),
}

impl Fault {
    /// Every [`Fault::kind`].
    pub const KINDS: [&'static str; 6] = ["fuel", "timeout", "memory", "output", "trap", "status"];

    /// A short name for metrics and the event-stream log.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Fuel(_) => "fuel",
            Self::Timeout(_) => "timeout",
            Self::Memory(_) => "memory",
            Self::Output { .. } => "output",
            Self::Trap(_) => "trap",
            Self::Status(_) => "status",
        }
    }
}

/// What one call cost, kept with the request's log entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Receipt {
    /// The mapper's name.
    pub mapper: String,
    /// `respond`, `forward`, `reject`, or the fault's kind.
    pub outcome: String,
    /// Wall-clock time of the call, instantiation included, in microseconds.
    pub duration_us: u64,
    /// Fuel consumed.
    pub fuel_used: u64,
    /// The largest linear memory the instance reached, in bytes.
    pub peak_memory_bytes: usize,
    /// The fault, when the call failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

/// What a datasource gives its mapper: configuration values, secrets by
/// name, a clock, and limits.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The datasource, to attribute the mapper's log lines.
    pub datasource: String,
    /// `mapper_config` values.
    pub config: Arc<BTreeMap<String, String>>,
    /// `secrets:` by name; their bytes never enter the mapper.
    pub secrets: Arc<Secrets>,
    /// The time the mapper sees.
    pub clock: Clock,
    /// Limits of each call.
    pub limits: Limits,
}

/// State of one call's store.
struct State {
    context: Context,
    /// Built on the mapper's first use of a WASI interface: most calls
    /// never print or read the clock through WASI, and building it is a
    /// noticeable part of a short call.
    wasi: Option<Wasi>,
    table: ResourceTable,
    limiter: host::Limiter,
    log_budget: usize,
    mapper: String,
}

/// A call's WASI context, and what the mapper prints through it.
struct Wasi {
    ctx: WasiCtx,
    /// Held up to the output limit (printing more fails the mapper's
    /// writes) until it reaches the log within the log budget.
    output: MemoryOutputPipe,
}

impl Wasi {
    /// No files, environment or sockets; stdout and stderr into one pipe.
    fn new(output_bytes: usize) -> Self {
        let output = MemoryOutputPipe::new(output_bytes);
        let ctx = wasmtime_wasi::WasiCtxBuilder::new()
            .stdout(output.clone())
            .stderr(output.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        Self { ctx, output }
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let output_bytes = self.context.limits.output_bytes;
        let wasi = self.wasi.get_or_insert_with(|| Wasi::new(output_bytes));
        WasiCtxView {
            ctx: &mut wasi.ctx,
            table: &mut self.table,
        }
    }
}

/// The WebAssembly engine shared by all mappers, with its epoch ticker.
#[derive(Clone)]
pub struct Engine {
    engine: wasmtime::Engine,
    linker: Arc<Linker<State>>,
    cache_dir: Option<PathBuf>,
}

impl Engine {
    /// An engine with fuel, epochs and the pooling allocator, caching
    /// compiled mappers in `cache_dir` when given.
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Self, LoadError> {
        let mut pool = PoolingAllocationConfig::default();
        pool.max_memory_size(Limits::MAX_MEMORY)
            .linear_memory_keep_resident(1 << 20)
            .table_keep_resident(1 << 16)
            .pagemap_scan(wasmtime::Enabled::Auto);
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .epoch_interruption(true)
            .max_wasm_stack(512 << 10)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = wasmtime::Engine::new(&config).map_err(LoadError::Engine)?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(LoadError::Engine)?;
        bindings::Mapper::add_to_linker::<_, wasmtime::component::HasSelf<State>>(
            &mut linker,
            |state| state,
        )
        .map_err(LoadError::Engine)?;

        let ticker = engine.weak();
        std::thread::Builder::new()
            .name("eventpush-epoch".into())
            .spawn(move || {
                while let Some(engine) = ticker.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .expect("failed to spawn the epoch thread");

        Ok(Self {
            engine,
            linker: Arc::new(linker),
            cache_dir,
        })
    }

    /// Compiles `bytes` (or loads its compiled form from the cache) and
    /// checks that it implements the mapper world.
    pub fn load(&self, name: &str, bytes: &[u8]) -> Result<Mapper, LoadError> {
        let invalid = |reason: String| LoadError::Invalid {
            name: name.to_owned(),
            reason,
        };
        if !is_component(bytes) {
            return Err(invalid(
                "the file is not a WebAssembly component (a core module, or not WebAssembly at all); \
                 build it for `wasm32-wasip2`, or make a core module into a component with \
                 `wasm-tools component new`"
                    .into(),
            ));
        }
        let component = cache::compile(&self.engine, self.cache_dir.as_deref(), name, bytes)
            .map_err(|e| invalid(format!("{e:#}")))?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| invalid(format!("{e:#}")))?;
        let pre = bindings::MapperPre::new(pre).map_err(|e| invalid(format!("{e:#}")))?;
        Ok(Mapper {
            name: name.to_owned(),
            pre,
            memory_at_start: memory_at_start(bytes),
        })
    }
}

/// A component starts with `\0asm`, a 2-byte version, then layer 1 (a core
/// module has layer 0). Checked here to give a clearer error than the compiler's.
fn is_component(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[6..8] == [1, 0]
}

/// The largest linear memory that a module of the component `bytes`
/// declares, in bytes: what each instance holds before the mapper runs.
fn memory_at_start(bytes: &[u8]) -> usize {
    let mut largest: u64 = 0;
    // Only called on bytes wasmtime has compiled, so nothing fails to parse.
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let Ok(wasmparser::Payload::MemorySection(memories)) = payload {
            for memory in memories.into_iter().flatten() {
                let page = 1u64 << memory.page_size_log2.unwrap_or(16);
                largest = largest.max(memory.initial.saturating_mul(page));
            }
        }
    }
    usize::try_from(largest).unwrap_or(usize::MAX)
}

/// A loaded mapper, ready to run once per request.
#[derive(Clone)]
pub struct Mapper {
    name: String,
    pre: bindings::MapperPre<State>,
    memory_at_start: usize,
}

impl std::fmt::Debug for Mapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapper").field("name", &self.name).finish()
    }
}

impl Mapper {
    /// The mapper's name (`builtin:NAME` or its path).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The memory each instance starts with, in bytes: a memory cap below
    /// it fails every call.
    pub fn memory_at_start(&self) -> usize {
        self.memory_at_start
    }

    /// Runs the mapper on `request` in a fresh instance. The call gives its
    /// thread back at every epoch tick (5 ms), so a slow mapper holds an
    /// async worker no longer than that at a time.
    pub async fn call(
        &self,
        context: &Context,
        request: &Request,
    ) -> (Result<Outcome, Fault>, Receipt) {
        let started = Instant::now();
        let limits = context.limits;
        let mut store = Store::new(
            self.pre.engine(),
            State {
                context: context.clone(),
                wasi: None,
                table: ResourceTable::new(),
                limiter: host::Limiter::new(limits.memory_bytes),
                log_budget: limits.log_bytes,
                mapper: self.name.clone(),
            },
        );
        store.limiter(|state| &mut state.limiter);
        let _ = store.set_fuel(limits.fuel);
        // At each tick the call stops if its time is up, and otherwise lets
        // other tasks run; checking the clock, not counting ticks, means a
        // limit is never cut short.
        let deadline = started + limits.timeout;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            Ok(if Instant::now() >= deadline {
                UpdateDeadline::Interrupt
            } else {
                UpdateDeadline::Yield(1)
            })
        });

        let run = async {
            let mapper = self.pre.instantiate_async(&mut store).await?;
            mapper.call_map(&mut store, request).await
        };
        // A call waiting on the host (a WASI clock or stream) runs no code
        // that checks the epoch; the runtime's timer bounds that wait too.
        let result = tokio::time::timeout(limits.timeout + EPOCH_TICK, run)
            .await
            .unwrap_or_else(|_| Err(Trap::Interrupt.into()));
        let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let outcome = match result {
            Ok(outcome) => check_outcome(outcome, limits.output_bytes),
            Err(error) => Err(classify(&error, &store, &limits)),
        };
        host::forward_output(store.data_mut());
        let receipt = Receipt {
            mapper: self.name.clone(),
            outcome: match &outcome {
                Ok(Outcome::Respond(_)) => "respond".into(),
                Ok(Outcome::Forward(_)) => "forward".into(),
                Ok(Outcome::Reject(_)) => "reject".into(),
                Err(fault) => fault.kind().into(),
            },
            duration_us: started.elapsed().as_micros() as u64,
            fuel_used,
            peak_memory_bytes: store.data().limiter.peak(),
            fault: outcome.as_ref().err().map(ToString::to_string),
        };
        (outcome, receipt)
    }
}

/// Refuses answers over the output cap and statuses an answer cannot carry.
fn check_outcome(outcome: Outcome, limit: usize) -> Result<Outcome, Fault> {
    let size = match &outcome {
        Outcome::Respond(r) => {
            // An interim (1xx) status cannot end a request.
            if !(200..=599).contains(&r.status) {
                return Err(Fault::Status(r.status));
            }
            r.body.len()
                + r.headers
                    .iter()
                    .map(|(k, v)| k.len() + v.len())
                    .sum::<usize>()
        }
        Outcome::Forward(body) => body.as_ref().map_or(0, Vec::len),
        Outcome::Reject(r) => {
            if !(400..=599).contains(&r.status) {
                return Err(Fault::Status(r.status));
            }
            r.reason.len()
        }
    };
    if size > limit {
        return Err(Fault::Output { size, limit });
    }
    Ok(outcome)
}

/// Names the limit or fault behind a failed call.
fn classify(error: &wasmtime::Error, store: &Store<State>, limits: &Limits) -> Fault {
    if store.data().limiter.exceeded() {
        return Fault::Memory(limits.memory_bytes);
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Fault::Fuel(limits.fuel),
        Some(Trap::Interrupt) => Fault::Timeout(limits.timeout),
        Some(trap) => Fault::Trap(trap.to_string()),
        None => Fault::Trap(format!("{error:#}")),
    }
}

/// The mappers built from `plugins/` with this binary.
mod builtins {
    include!(concat!(env!("OUT_DIR"), "/builtins.rs"));
}

/// The bundled mappers that verify their senders, and so may serve
/// datasources with `auth: mapper`.
pub const VERIFYING_BUILTINS: &[&str] = &["ms-graph", "signature", "slack"];

/// The prefix that names a bundled mapper in a datasource's `mapper:`.
pub const BUILTIN_PREFIX: &str = "builtin:";

/// The component bytes of the bundled mapper `name` (without the prefix).
pub fn builtin(name: &str) -> Option<&'static [u8]> {
    builtins::BUILTINS
        .iter()
        .find(|(builtin, _)| *builtin == name)
        .map(|(_, bytes)| *bytes)
}

/// The bytes of the mapper that `spec` names, `builtin:NAME` or a path
/// (relative to `base`), with the name to show for it; the error says why not.
pub fn read_component(base: &std::path::Path, spec: &str) -> Result<(String, Vec<u8>), String> {
    match spec.strip_prefix(BUILTIN_PREFIX) {
        Some(name) => {
            let bytes = builtin(name).ok_or_else(|| {
                let known: Vec<_> = builtin_names().collect();
                format!("no bundled mapper `{name}`; bundled: {}", known.join(", "))
            })?;
            Ok((spec.to_owned(), bytes.to_vec()))
        }
        None => {
            let path = base.join(spec);
            let bytes = std::fs::read(&path)
                .map_err(|e| format!("failed to read `{}`: {e}", path.display()))?;
            Ok((path.display().to_string(), bytes))
        }
    }
}

/// The names of every bundled mapper.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    builtins::BUILTINS.iter().map(|(name, _)| *name)
}

#[cfg(test)]
mod tests;
