include!("../suite/cancellation.rs");
