// `#[orm::model]` refuses an enum.
#[orm::model]
pub enum Status {
    Pending,
    Shipped,
}

fn main() {}
