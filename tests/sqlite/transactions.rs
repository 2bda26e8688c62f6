include!("../suite/transactions.rs");
