orm::connections! {
    pub Essentials = "essentials";
    pub Shared = "essentials";
}

fn main() {}
