//! Integration tests of heapmeter live under `tests/`.
