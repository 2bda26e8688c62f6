include!("../suite/catalog.rs");
