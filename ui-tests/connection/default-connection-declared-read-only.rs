// The default connection `db` cannot be `read_only`: models without a
// `connection` are written there.
orm::connections! {
    pub Main = "db", read_only;
}

fn main() {}
