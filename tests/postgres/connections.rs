include!("../suite/connections.rs");
