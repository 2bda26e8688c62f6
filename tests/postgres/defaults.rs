include!("../suite/defaults.rs");
