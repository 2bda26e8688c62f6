orm::connections! {
    pub Main = "db", read_only;
    pub Essentials = "essentials";
    pub Shared = "essentials";
    pub Crm = "Old CRM";
}

fn main() {}
