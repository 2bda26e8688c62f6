include!("../suite/errors.rs");
