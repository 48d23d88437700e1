#![deny(warnings)]

#[heapmeter::profile_memory]
fn first_line(path: &str) -> std::io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    if text.is_empty() {
        return Ok(String::new());
    }
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

#[heapmeter::profile_memory]
async fn first_line_later(path: &str) -> std::io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    if text.is_empty() {
        return Ok(String::new());
    }
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

fn main() {
    assert!(first_line("/nonexistent/heapmeter").is_err());
    drop(first_line_later("/nonexistent/heapmeter"));
}
