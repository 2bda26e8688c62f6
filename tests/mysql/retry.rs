include!("../suite/retry.rs");
