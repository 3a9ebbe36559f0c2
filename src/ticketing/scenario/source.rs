//! Where things are written in a scenario's text: the line of a byte offset, the key
//! assigned on a line, and the line of a key path, for errors that name file, line and key.

/// 1-based line of a byte offset.
pub fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count() + 1
}

/// The key assigned on a line (`key = value`), if any.
pub fn key_on_line(source: &str, line: usize) -> Option<String> {
    let text = source.lines().nth(line - 1)?;
    let (key, _) = text.split_once('=')?;
    let key = key.trim();
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_string())
}

/// The line where a key path (`network.delay`, `workload.steps[2].at`) is written;
/// falls back to the nearest enclosing table that is written.
pub fn locate(source: &str, path: &[String]) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(source.to_string()).ok()?;
    let mut item: &toml_edit::Item = doc.as_item();
    let mut best = None;
    for part in path {
        let (name, index) = match part.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part.as_str(), None),
        };
        let next = match item.get(name) {
            Some(next) => next,
            None => break,
        };
        item = match index {
            Some(i) => match next.as_array_of_tables().and_then(|a| a.get(i)) {
                Some(table) => {
                    if let Some(span) = table.span() {
                        best = Some(span.start);
                    }
                    // Re-enter through the item view of the table.
                    match next.get(i) {
                        Some(entry) => entry,
                        None => break,
                    }
                }
                None => break,
            },
            None => next,
        };
        if let Some(span) = item.span() {
            best = Some(span.start);
        }
    }
    best.map(|offset| line_of(source, offset))
}

/// The full key path of the value written at a byte offset (`workload.steps[1].at`),
/// for errors the parser reports by position.
pub fn path_at(source: &str, offset: usize) -> Option<String> {
    let doc = toml_edit::ImDocument::parse(source.to_string()).ok()?;
    path_in(doc.as_item(), offset, String::new())
}

fn path_in(item: &toml_edit::Item, offset: usize, prefix: String) -> Option<String> {
    let join = |key: &str| if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") };
    match item {
        toml_edit::Item::Table(table) => table.iter().find_map(|(key, value)| path_in(value, offset, join(key))),
        toml_edit::Item::ArrayOfTables(tables) => tables
            .iter()
            .enumerate()
            .find_map(|(i, table)| table.iter().find_map(|(key, value)| path_in(value, offset, format!("{prefix}[{i}].{key}")))),
        toml_edit::Item::Value(value) => value_path(value, offset, prefix),
        toml_edit::Item::None => None,
    }
}

fn value_path(value: &toml_edit::Value, offset: usize, prefix: String) -> Option<String> {
    let span = value.span()?;
    if !span.contains(&offset) {
        return None;
    }
    let inner = match value {
        toml_edit::Value::InlineTable(table) => table.iter().find_map(|(key, v)| value_path(v, offset, format!("{prefix}.{key}"))),
        toml_edit::Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| value_path(v, offset, format!("{prefix}[{i}]"))),
        _ => None,
    };
    Some(inner.unwrap_or(prefix))
}
