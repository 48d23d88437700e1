//! End-to-end tests of OTLP export against a real collector, rotel
//! (`pip install rotel`), which prints every metric it receives.
//!
//! Each test starts its own rotel on free loopback ports and runs the
//! `otlp_probe` binary of this package in its own process, because the
//! tracking allocator and the exporter are process-wide. The checks read the
//! values the collector decoded, never heapmeter's own view of them.

use std::collections::HashMap;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const PROBE: &str = env!("CARGO_BIN_EXE_otlp_probe");

/// How long a test waits for the collector to start or to print a metric.
const WAIT_LIMIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------
// The collector

/// Finds `rotel-agent`: `$ROTEL_AGENT`, then `PATH`, then the `rotel` Python
/// package, which ships the binary inside it.
fn rotel_agent() -> PathBuf {
    if let Some(path) = std::env::var_os("ROTEL_AGENT") {
        return PathBuf::from(path);
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for directory in std::env::split_paths(&paths) {
            let candidate = directory.join("rotel-agent");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    let from_python = Command::new("python3")
        .args(["-c", "import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()))
        .filter(|path| path.is_file());
    match from_python {
        Some(path) => path,
        None => panic!(
            "rotel-agent not found on PATH, in $ROTEL_AGENT or in the rotel Python package: \
             run `pip install rotel` (scripts/test does this) and try again"
        ),
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    listener.local_addr().expect("local address").port()
}

fn wait_for_port(port: u16) -> bool {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    while start.elapsed() < WAIT_LIMIT {
        if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A running rotel that prints what it receives to a file.
struct Collector {
    child: Child,
    output_path: PathBuf,
    directory: PathBuf,
    grpc_port: u16,
    http_port: u16,
}

impl Collector {
    fn start() -> Collector {
        Collector::start_on(free_port(), free_port())
    }

    fn start_on(grpc_port: u16, http_port: u16) -> Collector {
        let directory = std::env::temp_dir().join(format!("heapmeter-otlp-{}-{grpc_port}", std::process::id()));
        std::fs::create_dir_all(&directory).expect("create the collector's directory");
        let output_path = directory.join("received.txt");
        let output = std::fs::File::create(&output_path).expect("create the collector's output file");
        let errors = output.try_clone().expect("clone the output file");
        let child = Command::new(rotel_agent())
            .arg("start")
            .args(["--exporter", "blackhole", "--debug-log", "metrics", "--debug-log-verbosity", "detailed"])
            .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc_port}")])
            .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http_port}")])
            .args(["--batch-timeout", "50ms"])
            .arg("--pid-file")
            .arg(directory.join("rotel.pid"))
            .arg("--log-file")
            .arg(directory.join("rotel.log"))
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors)
            .spawn()
            .expect("start rotel-agent");
        let collector = Collector { child, output_path, directory, grpc_port, http_port };
        assert!(wait_for_port(grpc_port), "rotel did not listen on gRPC port {grpc_port}: {}", collector.text());
        assert!(wait_for_port(http_port), "rotel did not listen on HTTP port {http_port}: {}", collector.text());
        collector
    }

    fn grpc_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    fn http_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// Everything the collector printed so far, without the NUL bytes its
    /// terminal padding leaves in a file.
    fn text(&self) -> String {
        let mut bytes = Vec::new();
        if let Ok(mut file) = std::fs::File::open(&self.output_path) {
            let _ = file.read_to_end(&mut bytes);
        }
        bytes.retain(|&byte| byte != 0);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Waits until the collector printed a point of `metric` for `function`
    /// whose value (or count, for histograms) adds up to `total` across all
    /// exports, then returns everything it received.
    fn wait_for_total(&self, metric: &str, function: &str, total: f64) -> Received {
        let start = Instant::now();
        loop {
            let received = Received::parse(&self.text());
            if received.total(metric, function) == total || start.elapsed() > WAIT_LIMIT {
                return received;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

// ---------------------------------------------------------------------------
// What the collector printed

/// One data point as the collector printed it.
#[derive(Clone, Debug, Default)]
struct Point {
    metric: String,
    temporality: String,
    data_type: String,
    attributes: HashMap<String, String>,
    /// `Value`, `Count`, `Sum`, `Min`, `Max`, `StartTimestamp`, `Timestamp`.
    fields: HashMap<String, String>,
}

impl Point {
    fn number(&self, field: &str) -> f64 {
        self.fields
            .get(field)
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("{} has no numeric {field}: {self:?}", self.metric))
    }

    fn function(&self) -> Option<&str> {
        self.attributes.get("code.function.name").map(String::as_str)
    }
}

/// Everything the collector received, parsed from its detailed debug log.
#[derive(Debug, Default)]
struct Received {
    /// Number of `ResourceMetrics` blocks: one per export request here.
    exports: usize,
    resource: HashMap<String, String>,
    points: Vec<Point>,
}

impl Received {
    fn parse(text: &str) -> Received {
        let mut received = Received::default();
        let mut in_resource = false;
        let mut metric = String::new();
        let mut temporality = String::new();
        let mut data_type = String::new();
        for line in text.lines().map(str::trim) {
            if line.starts_with("ResourceMetrics #") {
                received.exports += 1;
                in_resource = true;
            } else if line.starts_with("ScopeMetrics #") {
                in_resource = false;
            } else if let Some(name) = line.strip_prefix("-> Name: ") {
                metric = name.to_owned();
                temporality.clear();
            } else if let Some(value) = line.strip_prefix("-> AggregationTemporality: ") {
                temporality = value.to_owned();
            } else if let Some(value) = line.strip_prefix("-> DataType: ") {
                data_type = value.to_owned();
            } else if line.starts_with("NumberDataPoints #") || line.starts_with("ExponentialHistogramDataPoints #") {
                received.points.push(Point {
                    metric: metric.clone(),
                    temporality: temporality.clone(),
                    data_type: data_type.clone(),
                    ..Point::default()
                });
            } else if let Some(attribute) = line.strip_prefix("-> ") {
                let Some((key, value)) = attribute.split_once(": ") else { continue };
                let value = strip_type(value);
                match received.points.last_mut() {
                    Some(point) if !in_resource => {
                        point.attributes.insert(key.to_owned(), value);
                    }
                    _ if in_resource => {
                        received.resource.insert(key.to_owned(), value);
                    }
                    _ => {}
                }
            } else if let Some((field, value)) = line.split_once(": ")
                && matches!(field, "Value" | "Count" | "Sum" | "Min" | "Max" | "StartTimestamp" | "Timestamp")
                && let Some(point) = received.points.last_mut()
            {
                point.fields.insert(field.to_owned(), value.to_owned());
            }
        }
        received
    }

    fn points_of<'a>(&'a self, metric: &'a str, function: &'a str) -> impl Iterator<Item = &'a Point> + 'a {
        self.points.iter().filter(move |point| {
            point.metric == metric && point.function().is_some_and(|name| name.ends_with(function))
        })
    }

    /// The last point of `metric` for the function whose name ends with `function`.
    fn last(&self, metric: &str, function: &str) -> Point {
        self.points_of(metric, function)
            .last()
            .cloned()
            .unwrap_or_else(|| panic!("the collector received no {metric} for {function}; received {self:#?}"))
    }

    fn process_point(&self, metric: &str) -> Point {
        self.points
            .iter()
            .rfind(|point| point.metric == metric)
            .cloned()
            .unwrap_or_else(|| panic!("the collector received no {metric}"))
    }

    /// Adds up `Value` (sums and gauges) or `Count` (histograms) over
    /// every point of `metric` for `function`. For a cumulative metric sent
    /// once this is its value.
    fn total(&self, metric: &str, function: &str) -> f64 {
        self.points_of(metric, function)
            .map(|point| {
                point
                    .fields
                    .get("Value")
                    .or_else(|| point.fields.get("Count"))
                    .and_then(|value| value.parse::<f64>().ok())
                    .unwrap_or(0.0)
            })
            .sum()
    }
}

/// Turns `Str(text)` or `Int(5)` into `text` or `5`.
fn strip_type(value: &str) -> String {
    match value.split_once('(') {
        Some((_, rest)) => rest.strip_suffix(')').unwrap_or(rest).to_owned(),
        None => value.to_owned(),
    }
}

// ---------------------------------------------------------------------------
// The program under test

/// Runs the probe with `mode` and the given environment, no `OTEL_*`
/// variable inherited from the test's own environment.
fn run_probe(arguments: &[&str], variables: &[(&str, String)]) -> Output {
    let mut command = Command::new(PROBE);
    command.args(arguments).stdin(Stdio::null());
    for (name, _) in std::env::vars() {
        if name.starts_with("OTEL_") {
            command.env_remove(name);
        }
    }
    for (name, value) in variables {
        command.env(name, value);
    }
    let output = command.output().expect("run otlp_probe");
    assert!(
        output.status.success(),
        "otlp_probe {arguments:?} failed with {}:\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The value after `key: ` on a line of the probe's stdout.
fn reported(stdout: &str, key: &str) -> String {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("otlp_probe printed no {key}: {stdout}"))
        .to_owned()
}

fn grpc_variables(collector: &Collector) -> Vec<(&'static str, String)> {
    vec![("OTEL_EXPORTER_OTLP_ENDPOINT", collector.grpc_endpoint()), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".to_owned())]
}

fn http_variables(collector: &Collector) -> Vec<(&'static str, String)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.http_endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
    ]
}

/// Checks the values of one workload (10 calls of `allocate_kibibyte`, one
/// of `collect_thousand`) exported once with cumulative temporality.
fn assert_workload_values(received: &Received) {
    let calls = received.last("heapmeter.function.calls", "allocate_kibibyte");
    assert_eq!(calls.number("Value"), 10.0);
    assert_eq!(calls.temporality, "AGGREGATION_TEMPORALITY_CUMULATIVE");
    assert_eq!(calls.data_type, "Sum");
    assert_eq!(calls.attributes.get("code.function.name").map(String::as_str), Some("otlp_probe::allocate_kibibyte"));
    assert_eq!(calls.attributes.get("code.file.path").map(String::as_str), Some("tests/src/bin/otlp_probe.rs"));
    assert!(calls.attributes.contains_key("code.line.number"), "{calls:?}");
    assert!(calls.number("StartTimestamp") <= calls.number("Timestamp"), "{calls:?}");

    assert_eq!(received.last("heapmeter.function.allocated", "allocate_kibibyte").number("Value"), 10240.0);
    assert_eq!(received.last("heapmeter.function.allocations", "allocate_kibibyte").number("Value"), 10.0);
    assert_eq!(received.last("heapmeter.function.self.allocated", "allocate_kibibyte").number("Value"), 10240.0);
    assert_eq!(received.last("heapmeter.function.retained", "allocate_kibibyte").number("Value"), 0.0);
    assert_eq!(received.last("heapmeter.function.peak.max", "allocate_kibibyte").number("Value"), 1024.0);

    let per_call = received.last("heapmeter.function.call.allocated", "allocate_kibibyte");
    assert_eq!(per_call.data_type, "ExponentialHistogram");
    assert_eq!(per_call.number("Count"), 10.0);
    assert_eq!(per_call.number("Sum"), 10240.0);
    assert_eq!(per_call.number("Min"), 1024.0);
    assert_eq!(per_call.number("Max"), 1024.0);

    assert_eq!(received.last("heapmeter.function.calls", "collect_thousand").number("Value"), 1.0);
    assert_eq!(received.last("heapmeter.function.allocated", "collect_thousand").number("Value"), 8000.0);
    assert_eq!(received.last("heapmeter.function.call.peak", "collect_thousand").number("Max"), 8000.0);

    let allocated = received.process_point("heapmeter.process.heap.allocated");
    assert!(allocated.number("Value") >= 18240.0, "{allocated:?}");
}

// ---------------------------------------------------------------------------
// Tests

#[test]
fn grpc_export_reports_function_values() {
    let collector = Collector::start();
    let mut variables = grpc_variables(&collector);
    variables.push(("OTEL_SERVICE_NAME", "probe-grpc".to_owned()));
    variables.push(("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test".to_owned()));
    let output = run_probe(&["plain"], &variables);
    assert_eq!(reported(&stdout_of(&output), "shutdown"), "ok");

    let received = collector.wait_for_total("heapmeter.function.calls", "allocate_kibibyte", 10.0);
    assert_workload_values(&received);
    assert_eq!(received.resource.get("service.name").map(String::as_str), Some("probe-grpc"));
    assert_eq!(received.resource.get("deployment.environment.name").map(String::as_str), Some("test"));
}

#[test]
fn http_export_reports_function_values() {
    let collector = Collector::start();
    let mut variables = http_variables(&collector);
    variables.push(("OTEL_SERVICE_NAME", "probe-http".to_owned()));
    let output = run_probe(&["plain"], &variables);
    assert_eq!(reported(&stdout_of(&output), "shutdown"), "ok");

    let received = collector.wait_for_total("heapmeter.function.calls", "allocate_kibibyte", 10.0);
    assert_workload_values(&received);
    assert_eq!(received.resource.get("service.name").map(String::as_str), Some("probe-http"));
}

#[test]
fn tokio_main_exports_on_drop() {
    let collector = Collector::start();
    let output = run_probe(&["tokio-main"], &http_variables(&collector));
    assert_eq!(reported(&stdout_of(&output), "shutdown"), "ok");

    let received = collector.wait_for_total("heapmeter.function.calls", "allocate_kibibyte", 10.0);
    assert_workload_values(&received);
}

#[test]
fn current_thread_runtime_exports_on_shutdown() {
    let collector = Collector::start();
    let output = run_probe(&["current-thread"], &grpc_variables(&collector));
    assert_eq!(reported(&stdout_of(&output), "shutdown"), "ok");

    let received = collector.wait_for_total("heapmeter.function.calls", "allocate_kibibyte", 10.0);
    assert_workload_values(&received);
}

#[test]
fn short_lived_program_exports_on_drop() {
    let collector = Collector::start();
    let mut variables = http_variables(&collector);
    // No periodic export falls within the program's one second.
    variables.push(("OTEL_METRIC_EXPORT_INTERVAL", "60000".to_owned()));
    let output = run_probe(&["short-lived"], &variables);
    assert!(stdout_of(&output).contains("exiting"), "{}", stdout_of(&output));

    let received = collector.wait_for_total("heapmeter.function.calls", "allocate_kibibyte", 10.0);
    assert_eq!(received.exports, 1, "expected only the final export");
    assert_workload_values(&received);
}

#[test]
fn delta_temporality_sends_differences() {
    let collector = Collector::start();
    let mut variables = grpc_variables(&collector);
    variables.push(("OTEL_METRIC_EXPORT_INTERVAL", "400".to_owned()));
    variables.push(("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta".to_owned()));
    let output = run_probe(&["long-running", "2"], &variables);
    let stdout = stdout_of(&output);
    assert_eq!(reported(&stdout, "shutdown"), "ok");
    let rounds: f64 = reported(&stdout, "workload_rounds").parse().expect("a number of rounds");

    let received = collector.wait_for_total("heapmeter.function.calls", "allocate_kibibyte", 10.0 * rounds);
    let calls: Vec<&Point> = received.points_of("heapmeter.function.calls", "allocate_kibibyte").collect();
    assert!(calls.len() >= 2, "expected several delta exports, got {}", calls.len());
    for point in &calls {
        assert_eq!(point.temporality, "AGGREGATION_TEMPORALITY_DELTA");
    }
    assert_eq!(received.total("heapmeter.function.calls", "allocate_kibibyte"), 10.0 * rounds);
    assert_eq!(received.total("heapmeter.function.allocated", "allocate_kibibyte"), 10240.0 * rounds);
    // Histogram counts of all windows add up to the calls.
    assert_eq!(received.total("heapmeter.function.call.allocated", "allocate_kibibyte"), 10.0 * rounds);
    // Each window starts where the previous one ended.
    for pair in calls.windows(2) {
        assert_eq!(pair[1].number("StartTimestamp"), pair[0].number("Timestamp"), "{pair:?}");
    }
    let retained = received.last("heapmeter.function.retained", "allocate_kibibyte");
    assert_eq!(retained.temporality, "AGGREGATION_TEMPORALITY_CUMULATIVE");
}

#[test]
fn large_export_is_split_into_requests() {
    // About 2.4 KB per function, so about 6 MB in one request: over the
    // 4 MiB that rotel's tonic server accepts in one message by default.
    const FUNCTIONS: usize = 2_500;
    let collector = Collector::start();
    let output = run_probe(&["many-functions", &FUNCTIONS.to_string()], &grpc_variables(&collector));
    assert_eq!(reported(&stdout_of(&output), "shutdown"), "ok", "{}", stderr_of(&output));

    let last = format!("generated::handler_{:05}", FUNCTIONS - 1);
    collector.wait_for_total("heapmeter.function.calls", &last, 3.0);
    // The workload's functions come after the generated ones, possibly in a
    // later request, so wait for them too before reading what arrived.
    let received = collector.wait_for_total("heapmeter.function.calls", "allocate_kibibyte", 10.0);
    assert!(received.exports >= 2, "expected the export split into several requests, got {}", received.exports);
    // The calls values the collector received for each function.
    let mut calls: HashMap<&str, Vec<f64>> = HashMap::new();
    for point in received.points.iter().filter(|point| point.metric == "heapmeter.function.calls") {
        if let Some(function) = point.function() {
            calls.entry(function).or_default().push(point.number("Value"));
        }
    }
    for index in 0..FUNCTIONS {
        let function = format!("generated::handler_{index:05}");
        assert_eq!(calls.get(function.as_str()), Some(&vec![3.0]), "calls points of {function}");
    }
    assert_workload_values(&received);
    let process_points =
        received.points.iter().filter(|point| point.metric == "heapmeter.process.heap.allocated").count();
    assert_eq!(process_points, 1, "process metrics must be sent once, in the first request");
}

#[test]
fn shutdown_without_collector_returns_promptly() {
    let closed_port = free_port();
    let started = Instant::now();
    let output = run_probe(
        &["current-thread"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://127.0.0.1:{closed_port}")),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".to_owned()),
        ],
    );
    let stdout = stdout_of(&output);
    assert!(reported(&stdout, "shutdown").starts_with("error: the final heapmeter export failed"), "{stdout}");
    let shutdown_ms: u64 = reported(&stdout, "shutdown_ms").parse().expect("milliseconds");
    // The default shutdown timeout is 3 s; the bound is generous on purpose.
    assert!(shutdown_ms < 3500, "shutdown took {shutdown_ms} ms");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(stderr_of(&output).contains("heapmeter final metrics export failed"), "{}", stderr_of(&output));
}

/// Accepts connections on a loopback port and never answers, until dropped
/// or `lifetime` passes.
struct SilentServer {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SilentServer {
    fn start(lifetime: Duration) -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let port = listener.local_addr().expect("local address").port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop_flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let mut open_connections = Vec::new();
            while start.elapsed() < lifetime && !stop_flag.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok((stream, _)) = listener.accept() {
                    open_connections.push(stream);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        SilentServer { port, stop, thread: Some(thread) }
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn shutdown_with_silent_collector_times_out() {
    let server = SilentServer::start(Duration::from_secs(30));
    for mode in ["current-thread", "tokio-main"] {
        let started = Instant::now();
        let output = run_probe(
            &[mode],
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://127.0.0.1:{}", server.port)),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
            ],
        );
        let elapsed = started.elapsed();
        let stderr = stderr_of(&output);
        // The default shutdown timeout is 3 s; the bound is generous on purpose.
        assert!(elapsed < Duration::from_secs(15), "{mode}: the program took {elapsed:?}");
        let shutdown_ms: u64 = reported(&stdout_of(&output), "shutdown_ms").parse().expect("milliseconds");
        assert!((2900..6000).contains(&shutdown_ms), "{mode}: shutdown took {shutdown_ms} ms");
        assert!(
            stderr.contains("heapmeter shutdown timed out") || stderr.contains("heapmeter final metrics export failed"),
            "{mode}: {stderr}"
        );
    }
}

#[test]
fn export_resumes_after_collector_outage() {
    let grpc_port = free_port();
    let http_port = free_port();
    let probe = Command::new(PROBE)
        .args(["long-running", "5"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://127.0.0.1:{grpc_port}"))
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .env("OTEL_METRIC_EXPORT_INTERVAL", "300")
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "1000")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start otlp_probe");

    // The program starts and runs with nothing listening, then the
    // collector comes up while it runs.
    std::thread::sleep(Duration::from_secs(2));
    let collector = Collector::start_on(grpc_port, http_port);

    let output = probe.wait_with_output().expect("wait for otlp_probe");
    let stdout = stdout_of(&output);
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "otlp_probe failed with {}: {stderr}", output.status);
    assert_eq!(reported(&stdout, "shutdown"), "ok", "{stderr}");
    let rounds: f64 = reported(&stdout, "workload_rounds").parse().expect("a number of rounds");

    let received = collector.wait_for_total("heapmeter.function.calls", "allocate_kibibyte", 10.0 * rounds);
    assert!(received.exports >= 2, "expected periodic exports after the outage, got {}", received.exports);
    assert_eq!(received.last("heapmeter.function.calls", "allocate_kibibyte").number("Value"), 10.0 * rounds);

    // About 7 failed attempts fall in the outage; the log shows one line
    // for them, then one when export recovers.
    let failure_lines = stderr.matches("heapmeter metrics export failed").count();
    assert_eq!(failure_lines, 1, "{stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{grpc_port}")), "{stderr}");
    assert!(stderr.contains("heapmeter metrics export recovered"), "{stderr}");
}

#[test]
fn invalid_protocol_variable_is_reported() {
    let output = Command::new(PROBE)
        .arg("plain")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/xml")
        .output()
        .expect("run otlp_probe");
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("OTEL_EXPORTER_OTLP_PROTOCOL"), "{stderr}");
    assert!(stderr.contains("\"http/xml\""), "{stderr}");
    assert!(stderr.contains("expected \"grpc\" or \"http/protobuf\""), "{stderr}");
}

#[test]
fn no_endpoint_means_no_export() {
    let output = run_probe(&["plain"], &[]);
    assert_eq!(reported(&stdout_of(&output), "shutdown"), "ok");
    assert!(!stderr_of(&output).contains("export started"), "{}", stderr_of(&output));
}

#[test]
fn collector_output_parser_reads_points() {
    let text = "ResourceMetrics #0\nResource attributes:\n     -> service.name: Str(demo)\nScopeMetrics #0\nMetric #0\nDescriptor:\n     -> Name: heapmeter.function.calls\n     -> DataType: Sum\n     -> AggregationTemporality: AGGREGATION_TEMPORALITY_DELTA\nNumberDataPoints #0\nData point attributes:\n     -> code.function.name: Str(app::f)\nValue: 7\n";
    let received = Received::parse(text);
    assert_eq!(received.exports, 1);
    assert_eq!(received.resource.get("service.name").map(String::as_str), Some("demo"));
    let point = received.last("heapmeter.function.calls", "f");
    assert_eq!(point.number("Value"), 7.0);
    assert_eq!(point.temporality, "AGGREGATION_TEMPORALITY_DELTA");
}
