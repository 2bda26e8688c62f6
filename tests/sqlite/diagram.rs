include!("../suite/diagram.rs");
