//! The export thread: periodic exports, retries, rate-limited error logs
//! and the final export at shutdown.
//!
//! The thread owns a tokio `current_thread` runtime, so export never depends
//! on the application's runtime or on whether it has one. Commands arrive
//! on a tokio channel, whose sender works from any thread without a runtime.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use tokio::sync::mpsc::UnboundedReceiver;

use super::config::Protocol;
use super::encode::{self, Batch, Encoder};
use super::transport::{Delivered, SendError, Transport};

/// Advice logged with an export that failed to reach the collector.
const UNREACHABLE_HELP: &str = "check that an OTLP collector listens at the endpoint, \
     or set OTEL_EXPORTER_OTLP_ENDPOINT (and OTEL_EXPORTER_OTLP_PROTOCOL) to one that does";

/// Advice logged with an export that the collector rejected.
const REJECTED_HELP: &str = "the collector rejected the request: check its log, \
     and the headers it requires (OTEL_EXPORTER_OTLP_HEADERS)";

/// Messages from the [`super::Handle`] to the export thread.
pub(crate) enum Command {
    /// Export once more, reply, and stop. The final export gives up at
    /// `deadline`.
    Shutdown { deadline: Instant, reply: std::sync::mpsc::SyncSender<Result<(), String>> },
}

/// Minimum time between two lines of the failure log.
const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Wait before the first retry. Each further retry waits twice as long, up
/// to the export interval.
const FIRST_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Wait between attempts of the final export.
const FINAL_RETRY_DELAY: Duration = Duration::from_millis(100);

/// Everything the export thread needs.
pub(crate) struct Exporter {
    pub(crate) encoder: Encoder,
    pub(crate) protocol: Protocol,
    pub(crate) url: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) export_timeout: Duration,
    pub(crate) export_interval: Duration,
    pub(crate) max_retries: u32,
}

/// Logs export failures at most once per [`LOG_INTERVAL`] while export keeps
/// failing, with the number of failures left out since the last line.
struct FailureLog {
    last_line: Option<Instant>,
    suppressed: u64,
    failing: bool,
}

impl FailureLog {
    fn failed(&mut self, url: &str, error: &SendError, will_retry: bool) {
        self.failing = true;
        let due = self.last_line.is_none_or(|last| last.elapsed() >= LOG_INTERVAL);
        if !due {
            self.suppressed += 1;
            return;
        }
        let (kind, help) = match error {
            SendError::Transient(_) => ("transient", UNREACHABLE_HELP),
            SendError::Rejected(_) => ("rejected", REJECTED_HELP),
        };
        tracing::warn!(
            endpoint = url,
            error = %error,
            kind,
            help,
            will_retry,
            suppressed = self.suppressed,
            "heapmeter metrics export failed"
        );
        self.last_line = Some(Instant::now());
        self.suppressed = 0;
    }

    fn succeeded(&mut self, url: &str) {
        if self.failing {
            tracing::info!(endpoint = url, suppressed = self.suppressed, "heapmeter metrics export recovered");
            self.failing = false;
            self.suppressed = 0;
            self.last_line = None;
        }
    }
}

/// Reason the periodic loop stopped.
enum Stop {
    Shutdown {
        deadline: Instant,
        reply: std::sync::mpsc::SyncSender<Result<(), String>>,
    },
    /// Every handle is gone without a shutdown command.
    HandleLost,
}

impl Exporter {
    /// Runs until shutdown. Never returns an error: every failure is logged.
    pub(crate) async fn run(mut self, mut commands: UnboundedReceiver<Command>) {
        let mut transport = match Transport::new(self.protocol, &self.url, &self.headers, self.export_timeout) {
            Ok(transport) => transport,
            Err(error) => {
                tracing::error!(endpoint = %self.url, %error, "heapmeter could not create its OTLP client; metrics will not be exported");
                if let Some(Command::Shutdown { reply, .. }) = commands.recv().await {
                    let _ = reply.try_send(Err(error));
                }
                return;
            }
        };
        let mut log = FailureLog { last_line: None, suppressed: 0, failing: false };

        match self.export_periodically(&mut transport, &mut log, &mut commands).await {
            Stop::Shutdown { deadline, reply } => {
                let result = self.export_final(&mut transport, &mut log, deadline).await;
                let _ = reply.try_send(result);
            }
            Stop::HandleLost => {}
        }
    }

    /// Exports every `export_interval` until a command arrives or every
    /// handle is gone.
    ///
    /// An export is one snapshot split into requests that are sent one at a
    /// time. The delta baseline of the functions in a request, and of the
    /// process totals for the first request, moves only when that request is
    /// delivered or given up. A request that fails and will be retried, and
    /// the requests after it, keep their baselines. So no delta is sent twice
    /// or lost when some requests of an export fail. The one exception is a
    /// request that timed out on the client but arrived anyway, because its
    /// retry delivers its delta twice.
    async fn export_periodically(
        &mut self,
        transport: &mut Transport,
        log: &mut FailureLog,
        commands: &mut UnboundedReceiver<Command>,
    ) -> Stop {
        let mut next_tick = Instant::now() + self.export_interval;
        let mut next_attempt = next_tick;
        let mut failed_attempts: u32 = 0;
        // Requests of the current export not yet delivered or given up, in
        // sending order. A retry sends the first of them again.
        let mut pending: VecDeque<Batch> = VecDeque::new();
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(next_attempt.into()) => {}
                command = commands.recv() => return stop_for(command),
            }
            let now = Instant::now();
            let tick_due = next_tick <= now;
            while next_tick <= now {
                next_tick += self.export_interval;
            }
            // A new export replaces the requests left from the last one.
            // Their baselines never moved, so the new snapshot carries their data.
            if tick_due || pending.is_empty() {
                pending = self.encoder.encode(&encode::collect()).into();
            }

            next_attempt = next_tick;
            while let Some(batch) = pending.pop_front() {
                let result = {
                    let sending = transport.send(&batch.request, self.export_timeout);
                    tokio::pin!(sending);
                    tokio::select! {
                        result = &mut sending => result,
                        command = commands.recv() => {
                            let stop = stop_for(command);
                            // Let the request in flight finish, within the shutdown
                            // deadline: abandoning it could deliver it anyway, and
                            // the final export would then send its delta twice.
                            if let Stop::Shutdown { deadline, .. } = &stop
                                && let Ok(Ok(_)) = tokio::time::timeout_at((*deadline).into(), &mut sending).await
                            {
                                self.encoder.advance(batch.update);
                            }
                            return stop;
                        }
                    }
                };
                match result {
                    Ok(delivered) => {
                        self.encoder.advance(batch.update);
                        log_partial_success(&self.url, &delivered);
                        log.succeeded(&self.url);
                        failed_attempts = 0;
                    }
                    Err(error) => {
                        failed_attempts += 1;
                        let retry = matches!(error, SendError::Transient(_)) && failed_attempts <= self.max_retries;
                        log.failed(&self.url, &error, retry);
                        if retry {
                            pending.push_front(batch);
                            next_attempt = next_tick.min(Instant::now() + self.retry_delay(failed_attempts));
                            break;
                        }
                        // Give up the data of this request. With delta
                        // temporality the next export of its functions starts
                        // after it. The remaining requests are still sent.
                        self.encoder.advance(batch.update);
                        failed_attempts = 0;
                    }
                }
            }
        }
    }

    fn retry_delay(&self, failed_attempts: u32) -> Duration {
        let factor = 1u32.checked_shl(failed_attempts.saturating_sub(1)).unwrap_or(u32::MAX);
        FIRST_RETRY_DELAY.saturating_mul(factor).min(self.export_interval)
    }

    /// Exports once more before shutdown: sends every request of one
    /// snapshot in order, trying transient failures of each again until
    /// `deadline`. A failed request does not stop the ones after it.
    async fn export_final(
        &mut self,
        transport: &mut Transport,
        log: &mut FailureLog,
        deadline: Instant,
    ) -> Result<(), String> {
        let batches = self.encoder.encode(&encode::collect());
        let requests = batches.len();
        let mut failed: usize = 0;
        let mut first_error = None;
        for batch in batches {
            match self.send_final(transport, &batch.request, deadline).await {
                Ok(delivered) => {
                    self.encoder.advance(batch.update);
                    log_partial_success(&self.url, &delivered);
                    log.succeeded(&self.url);
                }
                Err(error) => {
                    failed += 1;
                    first_error.get_or_insert(error);
                }
            }
        }
        let Some(error) = first_error else { return Ok(()) };
        tracing::warn!(
            endpoint = %self.url,
            %error,
            failed,
            requests,
            help = UNREACHABLE_HELP,
            "heapmeter final metrics export failed"
        );
        if requests == 1 {
            Err(error)
        } else {
            Err(format!("{failed} of {requests} requests failed, the first with: {error}"))
        }
    }

    /// Sends one request of the final export, trying transient failures
    /// again until `deadline` or until `max_retries` retries were made.
    async fn send_final(
        &self,
        transport: &mut Transport,
        request: &ExportMetricsServiceRequest,
        deadline: Instant,
    ) -> Result<Delivered, String> {
        let mut attempts: u32 = 0;
        loop {
            attempts += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err("the shutdown timeout passed before the final export finished".to_owned());
            }
            match transport.send(request, remaining.min(self.export_timeout)).await {
                Ok(delivered) => return Ok(delivered),
                Err(error) => {
                    let retry = matches!(error, SendError::Transient(_))
                        && attempts <= self.max_retries
                        && Instant::now() + FINAL_RETRY_DELAY < deadline;
                    if !retry {
                        return Err(error.to_string());
                    }
                    tokio::time::sleep(FINAL_RETRY_DELAY).await;
                }
            }
        }
    }
}

fn stop_for(command: Option<Command>) -> Stop {
    match command {
        Some(Command::Shutdown { deadline, reply }) => Stop::Shutdown { deadline, reply },
        None => Stop::HandleLost,
    }
}

fn log_partial_success(url: &str, delivered: &Delivered) {
    if delivered.rejected_points > 0 || !delivered.message.is_empty() {
        tracing::warn!(
            endpoint = url,
            rejected_points = delivered.rejected_points,
            message = %delivered.message,
            "heapmeter metrics export partially rejected"
        );
    }
}
