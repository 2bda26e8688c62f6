#[orm::model(cache)]
pub struct A {
    #[orm(primary_key)]
    pub id: i64,
}

#[orm::model(cache(ttl = 0))]
pub struct B {
    #[orm(primary_key)]
    pub id: i64,
}

#[orm::model(cache(tll = 60))]
pub struct C {
    #[orm(primary_key)]
    pub id: i64,
}

#[orm::model(cache(ttl = "60"))]
pub struct D {
    #[orm(primary_key)]
    pub id: i64,
}

#[orm::model(cache())]
pub struct E {
    #[orm(primary_key)]
    pub id: i64,
}

#[orm::model(cache(ttl = 60), cache(ttl = 30))]
pub struct F {
    #[orm(primary_key)]
    pub id: i64,
}

fn main() {}
