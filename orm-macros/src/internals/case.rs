//! Names derived from the struct's name: the columns module and the table.

/// `OrderLine` -> `order_line`, `HTTPRequest` -> `http_request`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let prev_upper = i > 0 && chars[i - 1].is_uppercase();
            if i > 0 && (prev_lower || (prev_upper && next_lower)) && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A table name from a struct name: snake case, plural by the common English
/// rules (`User` -> `users`, `Category` -> `categories`, `Address` -> `addresses`).
pub fn table_name(struct_name: &str) -> String {
    let snake = snake_case(struct_name);
    let ends = |s: &str| snake.ends_with(s);
    if ends("s") || ends("x") || ends("z") || ends("ch") || ends("sh") {
        format!("{snake}es")
    } else if ends("y")
        && !["ay", "ey", "iy", "oy", "uy"]
            .iter()
            .any(|v| snake.ends_with(v))
    {
        format!("{}ies", &snake[..snake.len() - 1])
    } else {
        format!("{snake}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake() {
        assert_eq!(snake_case("Order"), "order");
        assert_eq!(snake_case("OrderLine"), "order_line");
        assert_eq!(snake_case("HTTPRequest"), "http_request");
        assert_eq!(snake_case("User2Fa"), "user2_fa");
    }

    #[test]
    fn tables() {
        assert_eq!(table_name("User"), "users");
        assert_eq!(table_name("Category"), "categories");
        assert_eq!(table_name("Address"), "addresses");
        assert_eq!(table_name("Day"), "days");
        assert_eq!(table_name("OrderLine"), "order_lines");
        assert_eq!(table_name("Box"), "boxes");
    }
}
