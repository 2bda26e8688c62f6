include!("../suite/migrate.rs");
