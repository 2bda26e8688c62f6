// An update runs only after at least one `set`.
use orm::prelude::*;

#[orm::model]
pub struct Product {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub stock: i32,
}

async fn run(db: &orm::Database) {
    // An update that sets nothing.
    let _ = Product::query().filter(product::id.eq(1)).update().execute(db).await;
}

fn main() {
    let _ = run;
}
