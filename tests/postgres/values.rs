include!("../suite/values.rs");
