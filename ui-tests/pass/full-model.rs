// Everything the model attribute accepts, together, compiles.
use orm::prelude::*;

#[orm::model(
    table = "line_items",
    connection = orm::DefaultConnection,
    renamed_from = "order_lines",
    index(state, quantity),
    unique(r#type, sku)
)]
#[derive(Clone, Debug)]
pub struct LineItem {
    #[orm(primary_key, auto)]
    pub id: i32,
    #[orm(column = "sku_code", unique, max_length = 40, renamed_from = "sku")]
    pub sku: String,
    #[orm(index, default = 1)]
    pub quantity: i16,
    #[orm(default = -0.5)]
    pub discount: f64,
    #[orm(default = true)]
    pub taxable: bool,
    #[orm(default = "new")]
    pub state: Option<String>,
    pub r#type: String,
}

// A struct whose snake-case name is a keyword gets a raw module name.
#[orm::model]
pub struct Type {
    #[orm(primary_key)]
    pub code: String,
}

fn main() {
    let _ = LineItem::query()
        .filter(line_item::sku.eq("A-1").and(line_item::quantity.gt(2)))
        .filter(line_item::taxable)
        .filter(line_item::state.is_null().or(line_item::state.eq("new")))
        .order_by(line_item::id.desc())
        .select((line_item::sku, line_item::quantity.sum(), orm::count_all()))
        .group_by(line_item::sku)
        .having(orm::count_all().gt(1));
    let _ = Type::query().filter(r#type::code.starts_with("x"));
    assert_eq!(<LineItem as orm::Model>::SCHEMA.name, "line_items");
    assert_eq!(<Type as orm::Model>::SCHEMA.name, "types");
    assert_eq!(<LineItem as orm::Model>::SCHEMA.renamed_from, Some("order_lines"));
    assert_eq!(<LineItem as orm::Model>::SCHEMA.columns[1].renamed_from, Some("sku"));
    let indexes = <LineItem as orm::Model>::SCHEMA.indexes;
    assert_eq!(indexes[0].columns, ["state", "quantity"]);
    assert_eq!((indexes[1].columns, indexes[1].unique), (&["type", "sku_code"][..], true));
}
