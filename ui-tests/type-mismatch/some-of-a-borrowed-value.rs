// `Some("gift")` on an `Option<String>` column: an `Option` of a borrowed
// value would make every bare `None` ambiguous, so the message says what to
// write instead.
use orm::prelude::*;

#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub note: Option<String>,
}

fn main() {
    let _ = Order::query().update().set(order::note, Some("gift"));
}
