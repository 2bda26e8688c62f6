include!("../suite/pagination.rs");
