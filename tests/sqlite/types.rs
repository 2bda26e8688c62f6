include!("../suite/types.rs");
