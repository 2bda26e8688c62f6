orm::connections! {
    pub Legacy = "legacy", readonly;
}

fn main() {}
