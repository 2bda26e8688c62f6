include!("../suite/cache.rs");
