// A model on a `read_only` connection cannot lock rows: `for_update()` does not
// compile.
use orm::prelude::*;

orm::connections! {
    pub Legacy = "legacy", read_only;
}

#[orm::model(connection = Legacy)]
pub struct Invoice {
    #[orm(primary_key)]
    pub id: i64,
}

fn main() {
    let _ = Invoice::query().for_update();
}
