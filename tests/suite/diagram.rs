// The models' diagram (`orm::diagram`), read back by small parsers of the
// Mermaid flowchart and the Graphviz DOT it writes: every model with every
// column, every relation with its cardinality, dashed edges across
// connections, and names that would break either syntax if not escaped.
// The diagram reads schemas, not rows: SQLite's test binary runs it.

use std::collections::BTreeMap;

use orm::diagram::{Cardinality, ColumnLine, ConnectionGroup, Diagram, ModelBox, ModelRef, Relation};
use orm::schema::TableSchema;
use orm::Model;
use orm_tests::blog::{Author, Comment, Employee, Message, Playlist, PlaylistTrack, Post, Profile, Ticket, Track};
use orm_tests::models::{ArchivedInvoice, Capital, City, Country, CountryLanguage, Language, LegacyCustomer, User};

/// A box as drawn: its group's label, its title and its column lines.
#[derive(Debug, Default)]
struct Node {
    group: String,
    title: String,
    lines: Vec<String>,
}

/// An edge as drawn.
#[derive(Debug)]
struct Edge {
    from: String,
    to: String,
    label: String,
    dashed: bool,
    ends: (String, String),
}

#[derive(Debug, Default)]
struct Drawn {
    nodes: BTreeMap<String, Node>,
    edges: Vec<Edge>,
}

impl Drawn {
    fn node(&self, title: &str) -> (&String, &Node) {
        self.nodes
            .iter()
            .find(|(_, n)| n.title == title)
            .unwrap_or_else(|| panic!("no box titled {title:?} in {:#?}", self.nodes))
    }

    /// Boxes titled `title`: the tests' binary has a second `Country` and
    /// `City` of its own (a migration test's), with the same names.
    fn titled(&self, title: &str) -> Vec<(&String, &Node)> {
        self.nodes.iter().filter(|(_, n)| n.title == title).collect()
    }

    fn edges_between(&self, from: &str, to: &str) -> Vec<&Edge> {
        let from: Vec<&String> = self.titled(from).into_iter().map(|(id, _)| id).collect();
        let to: Vec<&String> = self.titled(to).into_iter().map(|(id, _)| id).collect();
        self.edges.iter().filter(|e| from.contains(&&e.from) && to.contains(&&e.to)).collect()
    }
}

/// Mermaid's `#<decimal>;` entity codes, decoded.
fn mermaid_decode(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('#') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(';').expect("an entity code ends with `;`") + at;
        let code: u32 = rest[at + 1..end].parse().expect("a decimal entity code");
        out.push(char::from_u32(code).expect("a character"));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The text of a `"..."` at the start of `s` (Mermaid strings hold no `"`),
/// and what follows it.
fn quoted(s: &str) -> (&str, &str) {
    let s = s.strip_prefix('"').unwrap_or_else(|| panic!("a quoted string at {s:?}"));
    let end = s.find('"').expect("a closing quote");
    (&s[..end], &s[end + 1..])
}

/// Parses the flowchart subset the diagram writes: `subgraph ID["label"]`,
/// `end`, nodes `ID["label"]`, edges `A -->|"label"| B` (`-.->`, `-.-` dashed,
/// `---` many-to-many).
fn parse_mermaid(text: &str) -> Drawn {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("flowchart LR"), "{text}");
    let mut drawn = Drawn::default();
    let mut group: Option<String> = None;
    for line in lines {
        let line = line.trim();
        if line.is_empty() || line.starts_with("%%") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("subgraph ") {
            let open = rest.find('[').expect("a subgraph label");
            let (label, after) = quoted(&rest[open + 1..]);
            assert_eq!(after, "]", "{line}");
            assert!(group.is_none(), "nested subgraph: {line}");
            group = Some(mermaid_decode(label));
        } else if line == "end" {
            assert!(group.take().is_some(), "`end` without a subgraph");
        } else if let Some((id, rest)) = line.split_once(' ').filter(|(id, _)| !id.contains('[')) {
            let (arrow, rest) = rest.split_once('|').unwrap_or_else(|| panic!("an edge: {line}"));
            let (label, rest) = quoted(rest);
            let to = rest.strip_prefix("| ").unwrap_or_else(|| panic!("an edge's target: {line}"));
            let label = mermaid_decode(label);
            let (cardinality, _) = label.split_once(':').unwrap_or((&label, ""));
            let (a, b) = cardinality.split_once(" to ").expect("`A to B` cardinality");
            let ends = (a.to_owned(), b.split(' ').next().unwrap().to_owned());
            drawn.edges.push(Edge {
                from: id.to_owned(),
                to: to.to_owned(),
                dashed: matches!(arrow, "-.->" | "-.-"),
                ends,
                label,
            });
            assert!(matches!(arrow, "-->" | "-.->" | "---" | "-.-"), "{line}");
        } else {
            let open = line.find('[').unwrap_or_else(|| panic!("a node: {line}"));
            let (label, after) = quoted(&line[open + 1..]);
            assert_eq!(after, "]", "{line}");
            let mut parts = label.split("<br/>");
            let title = parts.next().unwrap();
            let title = title.strip_prefix("<b>").and_then(|t| t.strip_suffix("</b>")).expect("a bold title");
            let node = Node {
                group: group.clone().expect("a node inside a subgraph"),
                title: mermaid_decode(title),
                lines: parts.map(mermaid_decode).collect(),
            };
            drawn.nodes.insert(line[..open].to_owned(), node);
        }
    }
    assert!(group.is_none(), "a subgraph without `end`");
    drawn
}

#[derive(Debug, PartialEq)]
enum Token {
    Id(String),
    Html(String),
    Punct(char),
    Arrow,
}

/// DOT's tokens: identifiers, quoted strings (with `\"` and `\\`), HTML
/// strings `<...>` (nested), punctuation and `->`.
fn dot_tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' {
            let mut s = String::new();
            i += 1;
            while chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                    s.push(match chars[i] {
                        'n' => '\n',
                        other => other,
                    });
                } else {
                    s.push(chars[i]);
                }
                i += 1;
            }
            i += 1;
            out.push(Token::Id(s));
        } else if c == '<' {
            let (mut depth, mut s) = (0, String::new());
            loop {
                match chars[i] {
                    '<' => depth += 1,
                    '>' => depth -= 1,
                    _ => {}
                }
                s.push(chars[i]);
                i += 1;
                if depth == 0 {
                    break;
                }
            }
            out.push(Token::Html(s[1..s.len() - 1].to_owned()));
        } else if c == '-' && chars.get(i + 1) == Some(&'>') {
            out.push(Token::Arrow);
            i += 2;
        } else if c.is_alphanumeric() || c == '_' || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.') {
                i += 1;
            }
            out.push(Token::Id(chars[start..i].iter().collect()));
        } else {
            out.push(Token::Punct(c));
            i += 1;
        }
    }
    out
}

/// The text of an HTML-like label's cells, one string per `<td>`.
fn html_cells(html: &str) -> Vec<String> {
    let mut cells = Vec::new();
    for part in html.split("<td").skip(1) {
        let body = &part[part.find('>').unwrap() + 1..part.find("</td>").unwrap()];
        let text = body.replace("<b>", "").replace("</b>", "");
        assert!(!text.contains('<') && !text.contains('>'), "unescaped markup in {text:?}");
        let text = text
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&");
        cells.push(text);
    }
    cells
}

/// Parses DOT: `digraph ID { stmt* }` with attribute statements, `ID = ID`,
/// `subgraph ID { ... }` (clusters, one level), nodes and edges.
fn parse_dot(text: &str) -> Drawn {
    let tokens = dot_tokens(text);
    let mut t = tokens.iter().peekable();
    assert_eq!(t.next(), Some(&Token::Id("digraph".into())));
    assert!(matches!(t.next(), Some(Token::Id(_))));
    assert_eq!(t.next(), Some(&Token::Punct('{')));
    let mut drawn = Drawn::default();
    let mut group: Option<String> = None;
    let attrs = |t: &mut std::iter::Peekable<std::slice::Iter<'_, Token>>| -> BTreeMap<String, Token> {
        let mut out = BTreeMap::new();
        if t.peek() != Some(&&Token::Punct('[')) {
            return out;
        }
        t.next();
        loop {
            match t.next() {
                Some(Token::Punct(']')) => return out,
                Some(Token::Punct(',')) => {}
                Some(Token::Id(key)) => {
                    assert_eq!(t.next(), Some(&Token::Punct('=')));
                    let value = match t.next() {
                        Some(Token::Id(v)) => Token::Id(v.clone()),
                        Some(Token::Html(v)) => Token::Html(v.clone()),
                        other => panic!("an attribute value, not {other:?}"),
                    };
                    out.insert(key.clone(), value);
                }
                other => panic!("an attribute, not {other:?}"),
            }
        }
    };
    loop {
        match t.next().expect("a statement or `}`") {
            Token::Punct('}') if group.is_some() => group = None,
            Token::Punct('}') => break,
            Token::Punct(';') => {}
            Token::Id(kw) if kw == "subgraph" => {
                let Some(Token::Id(name)) = t.next() else { panic!("a subgraph's name") };
                assert!(name.starts_with("cluster_"), "{name}");
                assert_eq!(t.next(), Some(&Token::Punct('{')));
                group = Some(String::new());
            }
            Token::Id(kw) if ["graph", "node", "edge"].contains(&kw.as_str()) => {
                attrs(&mut t);
            }
            Token::Id(id) => match t.peek() {
                Some(Token::Punct('=')) => {
                    t.next();
                    let Some(Token::Id(value)) = t.next() else { panic!("a value") };
                    if id == "label" {
                        group = Some(value.clone());
                    }
                }
                Some(Token::Arrow) => {
                    t.next();
                    let Some(Token::Id(to)) = t.next() else { panic!("an edge's target") };
                    let a = attrs(&mut t);
                    let get = |k: &str| match a.get(k) {
                        Some(Token::Id(v)) => v.clone(),
                        other => panic!("edge attribute {k}: {other:?}"),
                    };
                    drawn.edges.push(Edge {
                        from: id.clone(),
                        to: to.clone(),
                        label: get("label"),
                        dashed: a.get("style") == Some(&Token::Id("dashed".into())),
                        ends: (get("taillabel"), get("headlabel")),
                    });
                }
                _ => {
                    let a = attrs(&mut t);
                    let Some(Token::Html(html)) = a.get("label") else { panic!("a node's HTML label") };
                    let mut cells = html_cells(html).into_iter();
                    drawn.nodes.insert(
                        id.clone(),
                        Node {
                            group: group.clone().expect("a node inside a cluster"),
                            title: cells.next().expect("a title"),
                            lines: cells.collect(),
                        },
                    );
                }
            },
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(t.next(), None);
    drawn
}

/// What a model's box must show: its title, its connection's group and one
/// line per column with its type and flags.
fn check_model<M: Model>(drawn: &Drawn, group: &str, read_only: bool) {
    let mut title = format!("{} ({})", M::NAME, M::SCHEMA.name);
    if read_only {
        title.push_str(", read-only");
    }
    check_box(drawn, &title, group, M::SCHEMA);
}

/// A box titled `title`, in a group whose label starts with `group`, with
/// one line per column of `schema`, in order, with its flags.
fn check_box(drawn: &Drawn, title: &str, group: &str, schema: &TableSchema) {
    let boxes = drawn.titled(title);
    let fits = |node: &Node| -> bool {
        node.group.starts_with(group)
            && node.lines.len() == schema.columns.len()
            && node.lines.iter().zip(schema.columns).all(|(line, c)| {
                let Some((name, rest)) = line.split_once(": ") else { return false };
                let flags: Vec<&str> = rest.split(' ').skip(1).collect();
                name == c.name
                    && flags.contains(&"PK") == c.primary_key
                    && flags.contains(&"nullable") == c.nullable
                    // A key to a model on another connection is no constraint: `ref`, not `FK`.
                    && flags.contains(&"FK") == schema.foreign_keys.iter().any(|k| k.column == c.name && (k.target)().connection == schema.connection)
                    && flags.contains(&"ref") == schema.foreign_keys.iter().any(|k| k.column == c.name && (k.target)().connection != schema.connection)
                    && (!c.unique || c.primary_key || flags.contains(&"unique"))
                    && (!c.indexed || flags.contains(&"indexed"))
            })
    };
    assert!(boxes.iter().any(|(_, n)| fits(n)), "no box of {title} in {group} with its columns: {boxes:#?}");
}

fn title<M: Model>() -> String {
    format!("{} ({})", M::NAME, M::SCHEMA.name)
}

/// One edge from `A` to `B` whose label mentions `key`, with these ends.
fn check_edge<A: Model, B: Model>(drawn: &Drawn, key: &str, ends: (&str, &str), dashed: bool, names: &[&str]) {
    let edges = drawn.edges_between(&title::<A>(), &title::<B>());
    let found: Vec<&&Edge> =
        edges.iter().filter(|e| e.label.contains(key) && names.iter().all(|n| e.label.contains(n))).collect();
    assert_eq!(found.len(), 1, "{} -> {} by {key}: {edges:#?}", title::<A>(), title::<B>());
    let e = found[0];
    assert_eq!((e.ends.0.as_str(), e.ends.1.as_str()), ends, "{e:?}");
    assert_eq!(e.dashed, dashed, "{e:?}");
    assert_eq!(e.label.contains("loaded by a second query"), dashed, "{e:?}");
    for name in names {
        assert!(e.label.contains(name), "{name} in {e:?}");
    }
}

fn check_test_models(drawn: &Drawn) {
    check_model::<Author>(drawn, "db", false);
    check_model::<Post>(drawn, "db", false);
    check_model::<Comment>(drawn, "db", false);
    check_model::<Profile>(drawn, "db", false);
    check_model::<Employee>(drawn, "db", false);
    check_model::<Message>(drawn, "db", false);
    check_model::<Playlist>(drawn, "db", false);
    check_model::<Track>(drawn, "db", false);
    check_model::<PlaylistTrack>(drawn, "db", false);
    check_model::<Ticket>(drawn, "db", false);
    check_model::<Country>(drawn, "db", false);
    check_model::<City>(drawn, "db", false);
    check_model::<Capital>(drawn, "db", false);
    check_model::<Language>(drawn, "db", false);
    check_model::<CountryLanguage>(drawn, "db", false);
    check_model::<ArchivedInvoice>(drawn, "db", true);
    check_model::<User>(drawn, "essentials", false);
    check_model::<LegacyCustomer>(drawn, "legacy (", false);
    let (_, legacy) = drawn.node(&title::<LegacyCustomer>());
    assert!(legacy.group.contains("read-only"), "{legacy:?}");

    let db_has_many = ("1", "0..*");
    check_edge::<Author, Post>(drawn, "posts.author_id", db_has_many, false, &["Author.posts has_many", "Post.author belongs_to"]);
    check_edge::<Post, Comment>(drawn, "comments.post_id", db_has_many, false, &["Post.comments has_many"]);
    check_edge::<Author, Profile>(drawn, "author_id", ("1", "0..1"), false, &["Author.profile has_one"]);
    check_edge::<Employee, Employee>(drawn, "manager_id", ("0..1", "0..*"), false, &["Employee.reports has_many"]);
    check_edge::<Author, Message>(drawn, "sender_id", db_has_many, false, &["Author.sent has_many", "Message.sender belongs_to"]);
    check_edge::<Author, Message>(drawn, "recipient_id", db_has_many, false, &["Author.received has_many", "Message.addressee belongs_to"]);
    check_edge::<Playlist, PlaylistTrack>(drawn, "playlist_id", db_has_many, false, &["PlaylistTrack.playlist belongs_to"]);
    check_edge::<Track, PlaylistTrack>(drawn, "track_id", db_has_many, false, &[]);
    // Declared `has_one` on a key that is not unique: the declaration wins.
    check_edge::<Country, Capital>(drawn, "country_code", ("1", "0..1"), false, &["Country.capital has_one"]);
    check_edge::<Country, City>(drawn, "country_code", db_has_many, false, &["Country.cities has_many"]);
    // Across connections: no foreign key, dashed, loaded by a second query.
    check_edge::<User, Ticket>(drawn, "tickets.user_id", ("1", "0..*"), true, &["User.tickets has_many", "Ticket.user belongs_to"]);
    check_edge::<User, Ticket>(drawn, "assignee_id", ("0..1", "0..*"), true, &["Ticket.assignee belongs_to"]);
    // Many-to-many, declared on both sides: one edge through the join model.
    let m2m: Vec<&Edge> = drawn
        .edges
        .iter()
        .filter(|e| e.label.contains("through playlist_tracks"))
        .collect();
    assert_eq!(m2m.len(), 1, "{m2m:#?}");
    assert_eq!((m2m[0].ends.0.as_str(), m2m[0].ends.1.as_str()), ("0..*", "0..*"));
    assert!(m2m[0].label.contains("Playlist.tracks many_to_many") && m2m[0].label.contains("Track.playlists many_to_many"));
    let ends = [drawn.node(&title::<Playlist>()).0, drawn.node(&title::<Track>()).0];
    assert!(ends.contains(&&m2m[0].from) && ends.contains(&&m2m[0].to), "{m2m:?}");
    check_edge::<Country, Language>(drawn, "through country_languages", ("0..*", "0..*"), false, &["Country.languages many_to_many"]);
}

/// The relation names on an edge's label (`1 to 0..*: Author.posts
/// has_many, Post.author belongs_to (posts.author_id)`): `Author.posts
/// has_many`, `Post.author belongs_to`.
fn relation_names(label: &str) -> Vec<&str> {
    let Some((_, names)) = label.split_once(": ") else { return Vec::new() };
    names
        .split(", ")
        .map(|part| part.split(" (").next().unwrap_or(part))
        .filter(|part| ["belongs_to", "has_one", "has_many", "many_to_many"].iter().any(|word| part.ends_with(&format!(" {word}"))))
        .collect()
}

/// Every model linked into this binary, as its macro recorded it for the
/// diagram, has a box with all its columns in its connection's group, and
/// every key and declared relation of every model is on an edge to or from
/// that box: so a new test model or relation cannot be left out unseen, as
/// it could from the hand-written list of `check_test_models`.
fn check_every_linked_model(drawn: &Drawn) {
    use orm::diagram::{ModelFacts, RelationKind};
    let facts: Vec<&ModelFacts> = orm::__private::inventory::iter::<ModelFacts>.into_iter().collect();
    assert!(facts.len() >= 18, "the test models are linked: {}", facts.len());
    assert_eq!(drawn.nodes.len(), facts.len(), "one box per model: {:#?}", drawn.nodes);
    let title = |f: &ModelFacts| {
        let suffix = if f.read_only { ", read-only" } else { "" };
        format!("{} ({}){suffix}", f.model, f.schema.name)
    };
    // The ids of the boxes titled as model `f`, and the models so titled: this
    // binary has two `City (cities)` and two `Country (countries)` (a
    // migration test's own), which a drawing tells apart by position only.
    let ids = |f: &ModelFacts| -> Vec<String> { drawn.titled(&title(f)).into_iter().map(|(id, _)| id.clone()).collect() };
    let twins = |f: &ModelFacts| -> Vec<&ModelFacts> { facts.iter().copied().filter(|g| title(g) == title(f)).collect() };
    let parent_of = |f: &ModelFacts, column: &str| -> &ModelFacts {
        let fk = f.schema.foreign_keys.iter().find(|k| k.column == column).expect("a key");
        let target = (fk.target)();
        facts.iter().copied().find(|t| *t.schema == *target.table).unwrap_or_else(|| panic!("{}.{column} refers to no linked model", f.schema.name))
    };
    for f in &facts {
        let s = f.schema;
        // The group's label is the connection's name, then its backend or `read-only` in brackets.
        let group = if drawn.nodes.values().any(|n| n.group == s.connection) { s.connection.to_owned() } else { format!("{} (", s.connection) };
        check_box(drawn, &title(f), &group, s);
        let mine = ids(f);
        for fk in s.foreign_keys {
            let target = (fk.target)();
            let parent = parent_of(f, fk.column);
            let theirs = ids(parent);
            let key = format!("({}.{})", s.name, fk.column);
            let edges: Vec<&Edge> =
                drawn.edges.iter().filter(|e| mine.contains(&e.to) && theirs.contains(&e.from) && e.label.contains(&key)).collect();
            // One edge per model with this title, key and parent's title.
            let expected = twins(f)
                .into_iter()
                .filter(|g| g.schema.foreign_keys.iter().any(|k| k.column == fk.column) && title(parent_of(g, fk.column)) == title(parent))
                .count();
            assert_eq!(edges.len(), expected, "the key {key} of {} to {}: {:#?}", title(f), title(parent), drawn.edges);
            for e in edges {
                assert_eq!(e.dashed, target.connection != s.connection, "{e:?}");
            }
        }
        for rel in f.relations {
            // The model holding a `belongs_to` is an edge's `many` end (`to`); one
            // declaring `has_one` or `has_many`, its `one` end (`from`); either for `many_to_many`.
            let (word, at_to, at_from) = match rel.kind {
                RelationKind::BelongsTo => ("belongs_to", true, false),
                RelationKind::HasOne => ("has_one", false, true),
                RelationKind::HasMany => ("has_many", false, true),
                RelationKind::ManyToMany => ("many_to_many", true, true),
            };
            let name = format!("{}.{} {word}", f.model, rel.name);
            let edges: Vec<&Edge> = drawn
                .edges
                .iter()
                .filter(|e| (at_to && mine.contains(&e.to)) || (at_from && mine.contains(&e.from)))
                .filter(|e| relation_names(&e.label).contains(&name.as_str()))
                .collect();
            // One edge per model with this title declaring this relation.
            let expected = twins(f).into_iter().filter(|g| g.relations.iter().any(|r| r.name == rel.name && r.kind == rel.kind)).count();
            assert_eq!(edges.len(), expected, "the relation {name} of {}: {:#?}", title(f), drawn.edges);
        }
    }
}

#[test]
fn the_mermaid_diagram_has_every_model_column_and_relation() {
    let diagram = Diagram::of_models();
    check_test_models(&parse_mermaid(&diagram.to_mermaid()));
    check_every_linked_model(&parse_mermaid(&diagram.to_mermaid()));
}

#[test]
fn the_dot_diagram_has_every_model_column_and_relation() {
    let diagram = Diagram::of_models();
    check_test_models(&parse_dot(&diagram.to_dot()));
    check_every_linked_model(&parse_dot(&diagram.to_dot()));
}

#[tokio::test]
async fn groups_are_labelled_with_their_backend() {
    let t = orm_tests::TestDb::sqlite().await;
    let diagram = Diagram::of_models().with_backends_of(&t.db);
    let drawn = parse_dot(&diagram.to_dot());
    assert_eq!(drawn.node(&title::<Author>()).1.group, "db (SQLite)");
    assert_eq!(drawn.node(&title::<LegacyCustomer>()).1.group, "legacy (read-only)");
}

#[test]
fn one_connection_keeps_the_models_its_relations_reach() {
    let diagram = Diagram::of_models().only_connection("essentials").unwrap();
    let drawn = parse_mermaid(&diagram.to_mermaid());
    drawn.node(&title::<User>());
    drawn.node(&title::<Ticket>());
    assert!(drawn.nodes.values().all(|n| n.title != title::<Author>()));
    check_edge::<User, Ticket>(&drawn, "tickets.user_id", ("1", "0..*"), true, &[]);
    let err = Diagram::of_models().only_connection("nowhere").unwrap_err();
    assert!(matches!(err, orm::Error::Diagram { .. }), "{err}");
}

const HOSTILE: &[&str] = &[
    "we\"ird tab le",
    "<b>bold</b> & 'co'",
    "tab]le|x;--> end",
    "subgraph",
    "%% #35; \\n back\\slash",
    "テーブル é ü",
];

fn hostile_diagram() -> Diagram {
    let column = |name: &str| ColumnLine {
        name: name.to_owned(),
        sql_type: "text".to_owned(),
        primary_key: false,
        foreign_key: false,
        reference: false,
        nullable: true,
        unique: false,
        indexed: false,
    };
    let models = HOSTILE
        .iter()
        .map(|name| ModelBox {
            model: None,
            table: (*name).to_owned(),
            read_only: false,
            columns: HOSTILE.iter().map(|c| column(c)).collect(),
        })
        .collect();
    let refer = |t: &str| ModelRef {
        connection: "co\"nn }".to_owned(),
        table: t.to_owned(),
        model: None,
    };
    Diagram {
        connections: vec![ConnectionGroup {
            name: "co\"nn }".to_owned(),
            backend: None,
            read_only: false,
            models,
        }],
        relations: vec![Relation {
            from: refer(HOSTILE[0]),
            to: refer(HOSTILE[1]),
            cardinality: Cardinality::OneToMany,
            optional: false,
            key: HOSTILE[2].to_owned(),
            names: vec![HOSTILE[3].to_owned()],
            through: None,
            cross_connection: false,
        }],
    }
}

fn check_hostile(drawn: &Drawn) {
    assert_eq!(drawn.nodes.len(), HOSTILE.len());
    for name in HOSTILE {
        let (_, node) = drawn.node(name);
        assert_eq!(node.group, "co\"nn }");
        let names: Vec<&str> = node.lines.iter().map(|l| l.rsplit_once(": ").unwrap().0).collect();
        assert_eq!(names, HOSTILE);
    }
    assert_eq!(drawn.edges.len(), 1);
    assert!(drawn.edges[0].label.contains(HOSTILE[2]), "{:?}", drawn.edges);
}

#[test]
fn hostile_names_are_escaped_in_mermaid_and_dot() {
    let diagram = hostile_diagram();
    let mermaid = diagram.to_mermaid();
    check_hostile(&parse_mermaid(&mermaid));
    check_hostile(&parse_dot(&diagram.to_dot()));
}

#[test]
fn the_diagram_from_snapshot_files_alone() {
    let root = std::env::temp_dir().join(orm_tests::unique_name());
    let (hostile, other) = (HOSTILE[0], HOSTILE[5]);
    std::fs::create_dir_all(root.join("db")).unwrap();
    let snapshot = serde_json::json!({"tables": {
        hostile: {"name": hostile, "primary_key": "id", "columns": [
            {"name": "id", "sql_type": "big_int", "nullable": false, "auto_increment": true},
            {"name": HOSTILE[1], "sql_type": "text", "nullable": true, "max_length": 20}]},
        other: {"name": other, "primary_key": "id", "columns": [
            {"name": "id", "sql_type": "big_int", "nullable": false},
            {"name": "owner", "sql_type": "big_int", "nullable": false, "unique": true}],
         "foreign_keys": [{"column": "owner", "references": hostile, "references_column": "id"}]}
    }});
    std::fs::write(root.join("db/snapshot.json"), snapshot.to_string()).unwrap();
    let diagram = Diagram::from_snapshots(&root).unwrap();
    for drawn in [parse_mermaid(&diagram.to_mermaid()), parse_dot(&diagram.to_dot())] {
        let (_, node) = drawn.node(hostile);
        assert_eq!(node.group, "db");
        assert_eq!(node.lines, ["id: big_int PK", &format!("{}: text(20) nullable", HOSTILE[1])]);
        assert_eq!(drawn.node(other).1.lines, ["id: big_int PK", "owner: big_int FK unique"]);
        let edges = drawn.edges_between(hostile, other);
        assert_eq!(edges.len(), 1);
        assert_eq!(edges[0].ends, ("1".to_owned(), "0..1".to_owned()));
        assert!(!edges[0].dashed);
    }
    let missing = Diagram::from_snapshots(root.join("nowhere")).unwrap_err();
    assert!(matches!(missing, orm::Error::Diagram { .. }), "{missing}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn svg_needs_graphviz_and_says_so() {
    let diagram = hostile_diagram();
    match diagram.to_svg() {
        Ok(svg) => {
            let svg = String::from_utf8(svg).unwrap();
            assert!(svg.contains("<svg"), "{svg}");
        }
        Err(e) => {
            assert!(matches!(e, orm::Error::Diagram { .. }), "{e}");
            assert!(e.to_string().contains("install Graphviz"), "{e}");
        }
    }
}

#[tokio::test]
async fn the_diagram_command_and_its_exit_codes() {
    let root = std::env::temp_dir().join(orm_tests::unique_name());
    let cli = |words: &[&str]| orm::migrate::cli::main(root.clone(), words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>());
    assert_eq!(cli(&["diagram"]).await, 0);
    assert_eq!(cli(&["diagram", "--format", "dot", "--connection", "essentials"]).await, 0);
    assert_eq!(cli(&["diagram", "--help"]).await, 0, "help is a success");
    assert_eq!(cli(&["diagram", "--format", "png"]).await, 2, "not a format: usage");
    assert_eq!(cli(&["diagram", "--connection", "nowhere"]).await, 1, "no model lives there");
    assert_eq!(cli(&["diagram", "--from-snapshots"]).await, 1, "no migrations folder");
    // A number of steps that is not one from 1 is a usage error, caught
    // before any database is opened.
    assert_eq!(cli(&["rollback", "x"]).await, 2, "not a number of steps: usage");
    assert_eq!(cli(&["rollback", "0"]).await, 2, "zero steps: usage");
    let svg = cli(&["diagram", "--format", "svg"]).await;
    let has_dot = std::process::Command::new("dot").arg("-V").output().is_ok();
    assert_eq!(svg, if has_dot { 0 } else { 1 }, "svg needs Graphviz");
}

/// The text of an SVG's `<text>` elements, entities decoded.
fn svg_texts(svg: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in svg.split("<text").skip(1) {
        let body = &part[part.find('>').unwrap() + 1..part.find("</text>").unwrap()];
        let mut text = String::new();
        let mut rest = body;
        while let Some(at) = rest.find('&') {
            text.push_str(&rest[..at]);
            let end = rest[at..].find(';').unwrap() + at;
            let entity = &rest[at + 1..end];
            let ch = match entity {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                _ if entity.starts_with("#x") => char::from_u32(u32::from_str_radix(&entity[2..], 16).unwrap()).unwrap(),
                _ => char::from_u32(entity[1..].parse().unwrap()).unwrap(),
            };
            text.push(ch);
            rest = &rest[end + 1..];
        }
        text.push_str(rest);
        out.push(text);
    }
    out
}

/// Whether a tool this test needs is missing: fails the test under
/// `ORM_TEST_REQUIRE_ALL=1` (CI installs Graphviz and Chromium), else says
/// why the test stops.
fn missing(tool: &str, found: bool) -> bool {
    if found {
        return false;
    }
    assert!(
        !std::env::var("ORM_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1"),
        "{tool} is not installed, and ORM_TEST_REQUIRE_ALL=1 forbids skipping this test"
    );
    eprintln!("{tool} is not installed: this test stops here");
    true
}

#[test]
fn graphviz_draws_every_model_name() {
    if missing("Graphviz's `dot`", std::process::Command::new("dot").arg("-V").output().is_ok()) {
        return;
    }
    let texts = svg_texts(&String::from_utf8(Diagram::of_models().to_svg().unwrap()).unwrap());
    for title in [
        title::<Author>(),
        title::<Post>(),
        title::<Ticket>(),
        title::<User>(),
        title::<LegacyCustomer>(),
        title::<ArchivedInvoice>() + ", read-only",
    ] {
        assert!(texts.contains(&title), "{title} is not drawn: {texts:?}");
    }
    let texts = svg_texts(&String::from_utf8(hostile_diagram().to_svg().unwrap()).unwrap());
    for name in HOSTILE {
        assert!(texts.iter().any(|t| t == name), "{name:?} is not drawn: {texts:?}");
    }
}

/// A headless Chromium (Debian's `chromium`, or `chromium-browser`,
/// `google-chrome`), if one is installed.
fn browser() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| std::process::Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
}

#[test]
fn a_browser_renders_every_model_name_of_the_svg() {
    let has_dot = std::process::Command::new("dot").arg("-V").output().is_ok();
    let browser = browser();
    if missing("Graphviz's `dot`", has_dot) || missing("Chromium", browser.is_some()) {
        return;
    }
    let diagram = Diagram::of_models();
    let svg = String::from_utf8(diagram.to_svg().unwrap()).unwrap();
    let svg = &svg[svg.find("<svg").expect("an <svg> element")..];
    // The page lists, once laid out, the text of every <text> element the
    // browser drew with a width: what a reader of the SVG sees.
    let page = format!(
        "<!DOCTYPE html><html><body>{svg}<pre id=\"drawn\"></pre><script>\
         const drawn = [...document.querySelectorAll('svg text')]\
           .filter(t => t.getComputedTextLength() > 0 && t.getBBox().width > 0)\
           .map(t => t.textContent);\
         document.getElementById('drawn').textContent = drawn.join('\\n');\
         </script></body></html>"
    );
    let dir = std::env::temp_dir().join(orm_tests::unique_name());
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("diagram.html");
    std::fs::write(&file, page).unwrap();
    let out = std::process::Command::new(browser.unwrap())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("file://{}", file.display()))
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom.find("<pre id=\"drawn\">").unwrap_or_else(|| panic!("no page came back: {dom} {}", String::from_utf8_lossy(&out.stderr)));
    let rest = &dom[start + "<pre id=\"drawn\">".len()..];
    let drawn = &rest[..rest.find("</pre>").unwrap()];
    let drawn: Vec<String> = drawn.lines().map(|l| l.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")).collect();
    let models: Vec<&str> = diagram.connections.iter().flat_map(|c| &c.models).filter_map(|m| m.model.as_deref()).collect();
    assert!(models.len() >= 18, "{models:?}");
    for model in models {
        assert!(
            drawn.iter().any(|t| t == model || t.starts_with(&format!("{model} ("))),
            "{model} is not rendered by the browser: {drawn:?}"
        );
    }
}
