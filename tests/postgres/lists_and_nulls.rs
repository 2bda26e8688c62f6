include!("../suite/lists_and_nulls.rs");
