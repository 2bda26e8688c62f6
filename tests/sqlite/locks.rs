include!("../suite/locks.rs");
