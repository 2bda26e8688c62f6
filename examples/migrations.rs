//! Migrations generated from the models, through the one-line command line.
//!
//!     cargo run --example migrations -- make create_notes   # writes examples/migrations/db/0001_create_notes.json
//!     cargo run --example migrations -- run                 # applies it
//!     cargo run --example migrations -- status
//!     cargo run --example migrations -- seed                # fills the tables, a progress bar per seeder on a terminal
//!                                                           # (never in production without --force)
//!     cargo run --example migrations -- seed --dry-run      # which seeders would run, in order; runs nothing
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

/// Notes first, then a comment on each. Both report their progress in rows, so `seed` draws a
/// progress bar for each on a terminal (and prints `seeded notes in ...` either way).
fn seeders() -> Seeders {
    Seeders::new()
        .add(Seeder::with_progress("notes", |db, progress| {
            Box::pin(async move {
                let titles: Vec<String> = ["Groceries".to_owned(), "Ideas".to_owned()]
                    .into_iter()
                    .chain((3..=100).map(|n| format!("Scratch {n}")))
                    .collect();
                progress.set_total(titles.len() as u64);
                for title in titles {
                    Note {
                        id: 0,
                        title,
                        body: None,
                    }
                    .insert(db)
                    .await?;
                    progress.advance(1);
                }
                Ok(())
            })
        }))
        .add(
            Seeder::with_progress("comments", |db, progress| {
                Box::pin(async move {
                    let notes = Note::all(db).await?;
                    progress.set_total(notes.len() as u64);
                    for note in notes {
                        let text = format!("first comment on {}", note.title);
                        Comment {
                            id: 0,
                            note_id: note.id,
                            created_at: 0,
                            text,
                        }
                        .insert(db)
                        .await?;
                        progress.advance(1);
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
