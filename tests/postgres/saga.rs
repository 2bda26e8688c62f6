include!("../suite/saga.rs");
