//! Indexes the words of every text file under a directory and reports what
//! each stage allocated.
//!
//! ```text
//! cargo run --release --example quickstart [DIRECTORY]
//! ```
//!
//! The directory defaults to the repository itself. With
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set, the figures are also exported over OTLP;
//! without it the example only prints its table.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use heapmeter::profile_memory;
use tracing_subscriber::EnvFilter;

#[global_allocator]
static ALLOCATOR: heapmeter::Allocator = heapmeter::Allocator::system();

/// Files larger than this are skipped: the example indexes text, not data.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// Lists the regular files under `root`, skipping hidden entries and build
/// output.
#[profile_memory]
fn collect_paths(root: &Path) -> io::Result<Vec<PathBuf>> {
    let mut pending = vec![root.to_path_buf()];
    let mut files = Vec::new();
    while let Some(directory) = pending.pop() {
        for entry in fs::read_dir(&directory)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name == "target" {
                continue;
            }
            let file_type = entry.file_type()?;
            if file_type.is_dir() {
                pending.push(entry.path());
            } else if file_type.is_file() {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Reads a file as text, or returns `None` for large, binary or non-UTF-8
/// files.
#[profile_memory]
fn read_text(path: &Path) -> Option<String> {
    let metadata = fs::metadata(path).ok()?;
    if metadata.len() > MAX_FILE_BYTES {
        return None;
    }
    let bytes = fs::read(path).ok()?;
    if bytes.contains(&0) {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// Splits text into lowercase words of letters and digits.
#[profile_memory]
fn tokenize(text: &str) -> Vec<String> {
    text.split(|character: char| !character.is_alphanumeric())
        .filter(|word| word.len() > 1)
        .map(str::to_lowercase)
        .collect()
}

/// Counts each word in the index.
#[profile_memory]
fn add_to_index(index: &mut HashMap<String, u64>, words: Vec<String>) {
    for word in words {
        *index.entry(word).or_insert(0) += 1;
    }
}

/// Returns the `count` most frequent words, most frequent first.
#[profile_memory]
fn top_words(index: &HashMap<String, u64>, count: usize) -> Vec<(&str, u64)> {
    let mut ranked: Vec<(&str, u64)> = index.iter().map(|(word, &hits)| (word.as_str(), hits)).collect();
    ranked.sort_unstable_by(|left, right| right.1.cmp(&left.1).then(left.0.cmp(right.0)));
    ranked.truncate(count);
    ranked
}

/// Indexes every text file under `root` and returns the index with the
/// number of files read.
#[profile_memory]
fn index_directory(root: &Path) -> io::Result<(HashMap<String, u64>, usize)> {
    let mut index = HashMap::new();
    let mut files_read = 0;
    for path in collect_paths(root)? {
        let Some(text) = read_text(&path) else { continue };
        add_to_index(&mut index, tokenize(&text));
        files_read += 1;
    }
    Ok((index, files_read))
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("heapmeter=info")))
        .with_writer(io::stderr)
        .init();
    // Export stays off unless an OTEL_EXPORTER_OTLP_* endpoint is set, and a
    // collector that is down never stops the example.
    let telemetry = match heapmeter::Config::from_env().and_then(heapmeter::init) {
        Ok(handle) => Some(handle),
        Err(error) => {
            eprintln!("quickstart: OTLP export is off: {error}");
            None
        }
    };

    let root =
        std::env::args_os().nth(1).map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."), PathBuf::from);
    let root = root.canonicalize().unwrap_or(root);

    let (index, files_read) = match index_directory(&root) {
        Ok(result) => result,
        Err(error) => {
            eprintln!("quickstart: cannot index {}: {error}", root.display());
            return ExitCode::FAILURE;
        }
    };

    println!("indexed {} distinct words from {files_read} files under {}", index.len(), root.display());
    for (word, hits) in top_words(&index, 5) {
        println!("  {word:<16} {hits}");
    }
    println!();
    print!("{}", heapmeter::snapshot());

    // Dropping the handle exports one last time, within its shutdown timeout.
    if let Some(handle) = telemetry
        && let Err(error) = handle.shutdown()
    {
        eprintln!("quickstart: final export failed: {error}");
    }
    ExitCode::SUCCESS
}
