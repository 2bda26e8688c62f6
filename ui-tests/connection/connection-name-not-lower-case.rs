orm::connections! {
    pub Crm = "Old CRM";
}

fn main() {}
