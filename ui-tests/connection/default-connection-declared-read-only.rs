orm::connections! {
    pub Main = "db", read_only;
}

fn main() {}
