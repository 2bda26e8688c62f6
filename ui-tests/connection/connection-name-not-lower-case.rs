// A connection name is lower-case letters, digits and `_`, as it names the
// `DATABASE_<NAME>_URL` variable.
orm::connections! {
    pub Crm = "Old CRM";
}

fn main() {}
