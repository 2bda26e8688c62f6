include!("../suite/streaming.rs");
