// The values an `Option<String>` column is compared with and set to.
use orm::prelude::*;

#[orm::model]
pub struct Order {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub note: Option<String>,
    pub data: Option<Vec<u8>>,
}

fn main() {
    let owned = String::from("gift");
    let maybe: Option<String> = None;
    let bytes = vec![1u8, 2];
    let _ = Order::query()
        .filter(order::note.eq(None))
        .filter(order::note.ne(maybe.clone()))
        .filter(order::note.eq(&maybe))
        .filter(order::note.eq("gift"))
        .filter(order::note.eq(&owned))
        .filter(order::note.eq(Some(owned.clone())))
        .filter(order::data.eq(&bytes[..]))
        .filter(order::data.eq(None))
        .update()
        .set(order::note, "gift")
        .set(order::note, &owned)
        .set(order::note, Some(owned.clone()))
        .set(order::note, maybe)
        .set(order::note, None)
        .set(order::data, &bytes[..])
        .set(order::data, Some(bytes.clone()))
        .set(order::data, None);
}
