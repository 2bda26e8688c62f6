#[orm::model]
pub enum Status {
    Pending,
    Shipped,
}

fn main() {}
