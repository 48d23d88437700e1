//! A realistic workload: parsing a JSON document of several megabytes into
//! typed orders with serde_json, summarising each order, and serialising
//! both back, with the hot functions instrumented against the same functions
//! plain.
//!
//! Timings are process CPU time, so the work of heapmeter's background drain
//! thread counts against the instrumented side, and time the benchmark
//! thread spends descheduled by other processes does not count at all.
//! Export runs during both sides, every second over HTTP/protobuf to a sink
//! on loopback, so the export thread's CPU time is included too.
#![allow(missing_docs, reason = "criterion_main! generates an undocumented `main`")]
#![allow(clippy::expect_used, reason = "the document is built in memory and always serialises")]

use std::hint::black_box;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use heapmeter::Allocator;
use heapmeter_benches::{process_cpu_time, report_metric, require_recorded};
use serde::{Deserialize, Serialize};

#[global_allocator]
static ALLOCATOR: Allocator = Allocator::system();

/// Orders in the document; at about 400 bytes each this makes roughly 8 MB.
const ORDER_COUNT: u64 = 20_000;

#[derive(Serialize, Deserialize)]
struct Order {
    id: u64,
    customer: String,
    email: String,
    created_at: String,
    status: String,
    items: Vec<Item>,
    tags: Vec<String>,
    shipping: Address,
    note: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Item {
    sku: String,
    quantity: u32,
    unit_price_cents: u64,
}

#[derive(Serialize, Deserialize)]
struct Address {
    street: String,
    city: String,
    postcode: String,
    country: String,
}

#[derive(Serialize)]
struct Summary {
    id: u64,
    customer_key: String,
    total_cents: u64,
    item_count: u32,
    labels: Vec<String>,
}

/// A small xorshift generator, so the document is the same on every run
/// without a dependency on `rand`.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

fn build_document() -> String {
    const CITIES: [&str; 6] = ["Lisbon", "Oslo", "Kraków", "Osaka", "Toronto", "Nairobi"];
    const STATUSES: [&str; 4] = ["pending", "paid", "shipped", "delivered"];
    const TAGS: [&str; 7] = ["gift", "express", "fragile", "bulk", "returning", "promo", "b2b"];

    let mut random = Xorshift(0x9e37_79b9_7f4a_7c15);
    let pick = |random: &mut Xorshift, words: &[&str]| -> String {
        let index = usize::try_from(random.below(words.len() as u64)).unwrap_or(0);
        words.get(index).copied().unwrap_or_default().to_owned()
    };
    let orders: Vec<Order> = (0..ORDER_COUNT)
        .map(|id| Order {
            id,
            customer: format!("Customer {}", random.below(5_000)),
            email: format!("customer{}@example.com", random.below(5_000)),
            created_at: format!(
                "2024-{:02}-{:02}T{:02}:14:07Z",
                1 + random.below(12),
                1 + random.below(28),
                random.below(24)
            ),
            status: pick(&mut random, &STATUSES),
            items: (0..1 + random.below(4))
                .map(|_| Item {
                    sku: format!("SKU-{:06}", random.below(1_000_000)),
                    quantity: u32::try_from(1 + random.below(5)).unwrap_or(1),
                    unit_price_cents: 100 + random.below(50_000),
                })
                .collect(),
            tags: (0..random.below(4)).map(|_| pick(&mut random, &TAGS)).collect(),
            shipping: Address {
                street: format!("{} Harbour Street", 1 + random.below(300)),
                city: pick(&mut random, &CITIES),
                postcode: format!("{:05}", random.below(100_000)),
                country: "XX".to_owned(),
            },
            note: (random.below(3) == 0).then(|| "Leave the parcel with the neighbour if nobody answers".to_owned()),
        })
        .collect();
    serde_json::to_string(&orders).expect("orders serialise to JSON")
}

#[inline(always)]
fn parse_body(text: &str) -> Vec<Order> {
    serde_json::from_str(text).unwrap_or_default()
}

#[inline(always)]
fn summarize_body(order: &Order) -> Summary {
    let total_cents = order.items.iter().map(|item| u64::from(item.quantity) * item.unit_price_cents).sum();
    let item_count = order.items.iter().map(|item| item.quantity).sum();
    let mut labels: Vec<String> = order.tags.iter().map(|tag| tag.to_uppercase()).collect();
    labels.push(format!("{}/{}", order.status, order.shipping.city));
    Summary { id: order.id, customer_key: order.email.to_lowercase(), total_cents, item_count, labels }
}

#[inline(always)]
fn render_body(summaries: &[Summary]) -> String {
    serde_json::to_string(summaries).unwrap_or_default()
}

#[inline(always)]
fn serialize_body(orders: &[Order]) -> String {
    serde_json::to_string(orders).unwrap_or_default()
}

/// The hot functions of the workload, once plain and once instrumented.
trait Pipeline {
    fn parse(text: &str) -> Vec<Order>;
    fn summarize(order: &Order) -> Summary;
    fn render(summaries: &[Summary]) -> String;
    fn serialize(orders: &[Order]) -> String;
}

struct Plain;

impl Pipeline for Plain {
    fn parse(text: &str) -> Vec<Order> {
        parse_body(text)
    }

    fn summarize(order: &Order) -> Summary {
        summarize_body(order)
    }

    fn render(summaries: &[Summary]) -> String {
        render_body(summaries)
    }

    fn serialize(orders: &[Order]) -> String {
        serialize_body(orders)
    }
}

struct Instrumented;

#[heapmeter::profile_memory]
impl Pipeline for Instrumented {
    fn parse(text: &str) -> Vec<Order> {
        parse_body(text)
    }

    fn summarize(order: &Order) -> Summary {
        summarize_body(order)
    }

    fn render(summaries: &[Summary]) -> String {
        render_body(summaries)
    }

    fn serialize(orders: &[Order]) -> String {
        serialize_body(orders)
    }
}

/// Runs one pass over the document and returns the bytes produced, so the
/// work cannot be optimised away.
fn run_pipeline<P: Pipeline>(document: &str) -> usize {
    let orders = P::parse(document);
    let summaries: Vec<Summary> = orders.iter().map(P::summarize).collect();
    let rendered = P::render(&summaries);
    let serialized = P::serialize(&orders);
    rendered.len() + serialized.len()
}

/// Runs `iterations` passes and returns the process CPU time they took.
fn cpu_time_of<P: Pipeline>(document: &str, iterations: u64) -> Duration {
    let start = process_cpu_time();
    for _ in 0..iterations {
        black_box(run_pipeline::<P>(black_box(document)));
    }
    process_cpu_time().saturating_sub(start)
}

fn check_setup(document: &str) {
    let orders = run_pipeline::<Instrumented>(document);
    assert!(orders > document.len(), "the pipeline must produce output");
    require_recorded("workload::Instrumented::parse", 1);
    require_recorded("workload::Instrumented::summarize", ORDER_COUNT);
    require_recorded("workload::Instrumented::render", 1);
    require_recorded("workload::Instrumented::serialize", 1);
}

/// Starts an OTLP/HTTP sink on a loopback port that responds to every request
/// with an empty success, and returns its port and the count of requests it
/// received. The thread ends with the benchmark process.
fn start_export_sink() -> (u16, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("local address").port();
    let received = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&received);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let counter = Arc::clone(&counter);
            std::thread::spawn(move || serve_connection(stream, &counter));
        }
    });
    (port, received)
}

/// Reads HTTP/1.1 requests from one connection and responds to each with 200.
fn serve_connection(stream: std::net::TcpStream, received: &AtomicU64) {
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    loop {
        let mut content_length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; content_length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        received.fetch_add(1, Ordering::Relaxed);
        let response = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn serde_json_pipeline(criterion: &mut Criterion) {
    let (port, exports) = start_export_sink();
    let config = heapmeter::Config::default()
        .with_endpoint(format!("http://127.0.0.1:{port}"))
        .with_protocol(heapmeter::Protocol::HttpProtobuf)
        .with_export_interval(Duration::from_secs(1));
    let export = heapmeter::init(config).expect("start export to the loopback sink");

    let document = build_document();
    #[allow(clippy::cast_precision_loss, reason = "a document size fits an f64 exactly")]
    report_metric("workload/document_bytes", document.len() as f64, "bytes");
    check_setup(&document);

    let mut group = criterion.benchmark_group("workload");
    group.sampling_mode(SamplingMode::Flat).sample_size(10).measurement_time(Duration::from_secs(8));
    group.bench_function(BenchmarkId::new("serde_json", "plain"), |bencher| {
        bencher.iter_custom(|iterations| cpu_time_of::<Plain>(&document, iterations));
    });
    group.bench_function(BenchmarkId::new("serde_json", "instrumented"), |bencher| {
        bencher.iter_custom(|iterations| cpu_time_of::<Instrumented>(&document, iterations));
    });
    group.finish();

    export.shutdown().expect("final export to the loopback sink");
    #[allow(clippy::cast_precision_loss, reason = "a request count fits an f64 exactly")]
    report_metric("workload/export_requests", exports.load(Ordering::Relaxed) as f64, "requests");
}

criterion_group! {
    name = benches;
    config = heapmeter_benches::criterion();
    targets = serde_json_pipeline
}
criterion_main!(benches);
