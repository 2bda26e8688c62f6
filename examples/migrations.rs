//! Migrations generated from the models, through the one-line command line.
//!
//!     cargo run --example migrations -- make create_notes   # writes examples/migrations/db/0001_create_notes.json
//!     cargo run --example migrations -- run                 # applies it
//!     cargo run --example migrations -- status
//!     cargo run --example migrations -- sql | rollback | check
//!
//! With no DATABASE_URL it uses a SQLite file, `migrations-example.db`.

/// A model whose table the migrations create.
#[orm::model(table = "notes")]
pub struct Note {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(max_length = 200)]
    pub title: String,
    pub body: Option<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if std::env::var_os("DATABASE_URL").is_none() {
        // Before any other thread exists.
        std::env::set_var("DATABASE_URL", "sqlite://migrations-example.db");
    }
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
    std::process::exit(orm::migrate::cli::main(folder, std::env::args().skip(1)).await);
}
