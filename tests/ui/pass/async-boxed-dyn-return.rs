#![deny(warnings)]

#[heapmeter::profile_memory]
async fn make_job() -> Result<Box<dyn FnOnce() + Send>, std::io::Error> {
    Ok(Box::new(|| ()))
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let job = runtime.block_on(make_job()).unwrap();
    job();
}
