// `orm::connections!` accepts the `read_only` option only: a misspelled option
// is an error, never ignored.
orm::connections! {
    pub Legacy = "legacy", readonly;
}

fn main() {}
