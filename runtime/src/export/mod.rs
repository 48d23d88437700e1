//! OTLP export: [`init`] starts it and the returned [`Handle`] stops it.

mod config;
mod encode;
mod transport;
mod worker;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

pub use config::{Config, InitError, Protocol, SettingSource, TemporalityPreference};
use encode::Encoder;
pub use encode::RequestEncoder;
use worker::{Command, Exporter};

/// True while a [`Handle`] with an export thread exists, so that two
/// exporters never send the same statistics twice.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Starts exporting heapmeter's statistics with the settings of `config`.
///
/// Returns at once: the collector is never contacted here, so an unreachable
/// collector does not fail it. When [`Config::otlp`] is false the handle
/// does nothing, and statistics stay available through [`crate::snapshot`].
///
/// The resource comes from `opentelemetry_sdk::Resource::builder()`, which
/// reads `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`;
/// [`Config::service_name`] overrides the service name.
///
/// # Example
///
/// ```no_run
/// #[global_allocator]
/// static ALLOCATOR: heapmeter::Allocator = heapmeter::Allocator::system();
///
/// fn main() -> Result<(), heapmeter::InitError> {
///     // Exports when OTEL_EXPORTER_OTLP_ENDPOINT (or another setting that
///     // turns export on) is set, and measures either way.
///     let heapmeter = heapmeter::init(heapmeter::Config::from_env()?)?;
///     // ... run the program ...
///     // Or let it drop: both export one last time.
///     if let Err(error) = heapmeter.shutdown() {
///         eprintln!("{error}");
///     }
///     Ok(())
/// }
/// ```
///
/// # Threads and runtimes
///
/// Exports run on a thread named `heapmeter-export` with its own tokio
/// `current_thread` runtime, so `init` works the same from a plain `fn
/// main`, inside `#[tokio::main]` and inside a `current_thread` runtime.
/// Shutting down blocks the calling thread for at most
/// [`Config::shutdown_timeout`] plus 200 ms, even on a runtime worker thread.
///
/// # Failures
///
/// An unreachable collector never fails `init` or the program. Each export
/// is split into requests of at most 3 MiB, under the 4 MiB that gRPC
/// servers accept by default, and the first also carries the process metrics.
/// Each request has [`Config::export_timeout`]. A transient failure is tried
/// again after 1 s, 2 s, 4 s and so on, up to [`Config::max_retries`] times,
/// then the data of that request is dropped. Rejected requests are dropped
/// at once. The delta baseline of a function moves only when the request
/// that carries it is delivered or dropped, so a failed request never loses
/// or repeats the deltas of the others. A request that timed out may still
/// have arrived, so its retry can deliver the same delta twice, as with any
/// OTLP exporter. Failures are logged with `tracing` at most once a minute,
/// with the count of failures left out, and a line is logged when export
/// recovers. Memory stays bounded: the thread keeps one copy of the
/// statistics as the delta baseline and the requests of one export.
///
/// # Errors
///
/// [`InitError::InvalidSetting`] when `config` does not validate,
/// [`InitError::AlreadyRunning`] while another handle is exporting, and
/// [`InitError::Start`] when the export thread cannot be started.
pub fn init(config: Config) -> Result<Handle, InitError> {
    let Some(url) = config.validate()? else {
        tracing::debug!("heapmeter OTLP export is off; set OTEL_EXPORTER_OTLP_ENDPOINT to turn it on");
        return Ok(Handle { commands: None, shutdown_timeout: config.shutdown_timeout });
    };
    if EXPORTING.swap(true, Ordering::AcqRel) {
        return Err(InitError::AlreadyRunning);
    }
    crate::thread::untracked(|| start(config, url)).inspect_err(|_| EXPORTING.store(false, Ordering::Release))
}

fn start(config: Config, url: String) -> Result<Handle, InitError> {
    let exporter = Exporter {
        encoder: Encoder::for_config(&config),
        protocol: config.protocol,
        url: url.clone(),
        headers: config.headers,
        export_timeout: config.export_timeout,
        export_interval: config.export_interval,
        max_retries: config.max_retries,
    };

    // Every allocation of export, on its thread and on tokio's blocking
    // threads (which resolve host names), is heapmeter's own: it counts in
    // `runtime_totals`, never in process totals or in a function.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_start(|| core::mem::forget(crate::thread::UntrackedSection::begin()))
        .build()
        .map_err(InitError::Start)?;
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("heapmeter-export".to_owned())
        .spawn(move || {
            crate::thread::untracked(move || {
                runtime.block_on(exporter.run(receiver));
                drop(runtime);
            });
            EXPORTING.store(false, Ordering::Release);
        })
        .map_err(InitError::Start)?;

    tracing::info!(
        endpoint = %url,
        protocol = %config.protocol,
        interval_ms = u64::try_from(config.export_interval.as_millis()).unwrap_or(u64::MAX),
        "heapmeter OTLP export started"
    );
    Ok(Handle { commands: Some(sender), shutdown_timeout: config.shutdown_timeout })
}

/// Keeps export running; shutting it down or dropping it exports one last
/// time.
///
/// Keep it alive for as long as the program should export, for example in a
/// variable of `main`. Both [`Handle::shutdown`] and dropping wait at most
/// [`Config::shutdown_timeout`] plus 200 ms for the final export.
#[must_use = "dropping the handle stops export at once; keep it in a variable of main"]
pub struct Handle {
    /// `None` when export is off or already shut down.
    commands: Option<UnboundedSender<Command>>,
    shutdown_timeout: Duration,
}

/// Error returned by [`Handle::shutdown`]. Export has stopped either way.
#[derive(Debug)]
#[non_exhaustive]
pub enum ShutdownError {
    /// The final export did not finish within [`Config::shutdown_timeout`].
    TimedOut(Duration),
    /// The final export failed, for the reason given.
    ExportFailed(String),
}

impl fmt::Display for ShutdownError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShutdownError::TimedOut(timeout) => write!(
                formatter,
                "the final heapmeter export timed out after {} ms; raise Config::shutdown_timeout if the collector is slow",
                timeout.as_millis()
            ),
            ShutdownError::ExportFailed(reason) => write!(formatter, "the final heapmeter export failed: {reason}"),
        }
    }
}

impl std::error::Error for ShutdownError {}

impl Handle {
    /// Exports one last time and stops the export thread, waiting at most
    /// [`Config::shutdown_timeout`] plus 200 ms. Returns at once when export
    /// is off.
    ///
    /// # Errors
    ///
    /// [`ShutdownError`] when the final export failed or timed out; both are
    /// also logged.
    pub fn shutdown(mut self) -> Result<(), ShutdownError> {
        crate::thread::untracked(|| self.stop())
    }

    /// Returns true when this handle exports over OTLP.
    #[must_use]
    pub fn is_exporting(&self) -> bool {
        self.commands.is_some()
    }

    fn stop(&mut self) -> Result<(), ShutdownError> {
        let Some(commands) = self.commands.take() else { return Ok(()) };
        let timeout = self.shutdown_timeout;
        let (reply, replied) = std::sync::mpsc::sync_channel(1);
        let deadline = Instant::now() + timeout;
        if commands.send(Command::Shutdown { deadline, reply }).is_err() {
            return Err(ShutdownError::ExportFailed("the export thread had already stopped".to_owned()));
        }
        // A little more than the deadline, so that a final export that ends
        // right at the deadline still reports its own outcome.
        match replied.recv_timeout(timeout + Duration::from_millis(200)) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err(ShutdownError::ExportFailed(reason)),
            Err(RecvTimeoutError::Timeout) => {
                tracing::warn!(
                    timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                    "heapmeter shutdown timed out; the final export may be lost"
                );
                Err(ShutdownError::TimedOut(timeout))
            }
            Err(RecvTimeoutError::Disconnected) => {
                Err(ShutdownError::ExportFailed("the export thread stopped without a reply".to_owned()))
            }
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // Errors were logged by `stop` or the export thread.
        let _ = crate::thread::untracked(|| self.stop());
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Handle")
            .field("exporting", &self.is_exporting())
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish()
    }
}
