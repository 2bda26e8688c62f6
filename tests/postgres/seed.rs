include!("../suite/seed.rs");
