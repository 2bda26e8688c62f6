//! Migrations generated from the models, through the one-line command line.
//!
//!     cargo run --example migrations -- make create_notes   # writes examples/migrations/db/0001_create_notes.json
//!     cargo run --example migrations -- run                 # applies it
//!     cargo run --example migrations -- status
//!     cargo run --example migrations -- seed                # fills the tables (never in production without --force)
//!     cargo run --example migrations -- sql | rollback | check
//!     cargo run --example migrations -- new db backfill     # an empty migration to write by hand
//!
//! With no DATABASE_URL it uses a SQLite file, `migrations-example.db`.

use orm::migrate::seed::{Seeder, Seeders};
use orm::prelude::*;

/// A model whose table the migrations create.
#[orm::model(table = "notes")]
#[derive(Clone)]
pub struct Note {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(max_length = 200)]
    pub title: String,
    pub body: Option<String>,
}

/// Added by the second migration: a foreign key to `notes` and an index over two columns.
#[orm::model(table = "comments", index(note_id, created_at))]
pub struct Comment {
    #[orm(primary_key, auto)]
    pub id: i64,
    #[orm(belongs_to = Note)]
    pub note_id: i64,
    pub created_at: i64,
    pub text: String,
}

/// Notes first, then comments on them.
fn seeders() -> Seeders {
    Seeders::new()
        .add(Seeder::new("notes", |db| {
            Box::pin(async move {
                for title in ["Groceries", "Ideas"] {
                    Note {
                        id: 0,
                        title: title.into(),
                        body: None,
                    }
                    .insert(db)
                    .await?;
                }
                Ok(())
            })
        }))
        .add(
            Seeder::new("comments", |db| {
                Box::pin(async move {
                    for note in Note::all(db).await? {
                        let text = format!("first comment on {}", note.title);
                        Comment {
                            id: 0,
                            note_id: note.id,
                            created_at: 0,
                            text,
                        }
                        .insert(db)
                        .await?;
                    }
                    Ok(())
                })
            })
            .after("notes"),
        )
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if std::env::var_os("DATABASE_URL").is_none() {
        // Before any other thread exists.
        std::env::set_var("DATABASE_URL", "sqlite://migrations-example.db");
    }
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
    let code = orm::migrate::cli::main_with(folder, &seeders(), std::env::args().skip(1)).await;
    std::process::exit(code);
}
