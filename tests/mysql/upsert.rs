include!("../suite/upsert.rs");
