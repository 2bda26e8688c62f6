include!("../suite/relations.rs");
