include!("../suite/query.rs");
