// The anchor and the step of a recursive CTE select the same columns.
use orm::prelude::*;

#[orm::model]
#[derive(Clone)]
pub struct Staff {
    #[orm(primary_key, auto)]
    pub id: i64,
    pub name: String,
    #[orm(belongs_to = Staff)]
    pub manager_id: Option<i64>,
}

fn main() {
    // The step selects names, the anchor whole rows.
    let _ = orm::query::with_recursive("under", Staff::query(), |under| {
        Staff::query()
            .join_cte(under, staff::manager_id.eq(under.column(staff::id)))
            .select(staff::name)
    });
}
