include!("../suite/tracing.rs");
