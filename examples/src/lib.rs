//! Examples of heapmeter; see the `examples` targets.
