// A database name is declared once in `orm::connections!`: two connection types
// cannot share it.
orm::connections! {
    pub Essentials = "essentials";
    pub Shared = "essentials";
}

fn main() {}
