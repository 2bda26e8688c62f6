include!("../suite/pool.rs");
