include!("../suite/crud.rs");
