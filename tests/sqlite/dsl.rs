include!("../suite/dsl.rs");
