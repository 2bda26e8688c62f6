include!("../suite/replicas.rs");
