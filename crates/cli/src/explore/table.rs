//! Aligned text tables, and the list views built on them: traces, sessions and logs.

use sightline_server::api::shapes::{Log, Page, SessionSummary, TraceSummary};

use super::fmt;

/// How a column's cells line up.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Columns separated by two spaces, each as wide as its widest cell; no trailing spaces.
pub struct Table {
    headers: Vec<&'static str>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(columns: &[(&'static str, Align)]) -> Self {
        Self {
            headers: columns.iter().map(|c| c.0).collect(),
            align: columns.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The width of each column.
    pub fn widths(&self) -> Vec<usize> {
        let mut w: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(slot) = w.get_mut(i) {
                    *slot = (*slot).max(cell.chars().count());
                }
            }
        }
        w
    }

    /// The header line and one line per row.
    pub fn lines(&self) -> Vec<String> {
        let widths = self.widths();
        let header: Vec<String> = self.headers.iter().map(|h| h.to_string()).collect();
        std::iter::once(&header)
            .chain(&self.rows)
            .map(|cells| self.line(cells, &widths))
            .collect()
    }

    fn line(&self, cells: &[String], widths: &[usize]) -> String {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let width = widths.get(i).copied().unwrap_or(0);
            let pad = " ".repeat(width.saturating_sub(cell.chars().count()));
            if i > 0 {
                out.push_str("  ");
            }
            match self.align.get(i) {
                Some(Align::Right) => {
                    out.push_str(&pad);
                    out.push_str(cell);
                }
                _ => {
                    out.push_str(cell);
                    out.push_str(&pad);
                }
            }
        }
        out.trim_end().to_string()
    }

    pub fn render(&self) -> String {
        let mut out = self.lines().join("\n");
        out.push('\n');
        out
    }
}

/// The hint printed under a page that has more after it.
fn next_page(page_cursor: &Option<String>) -> String {
    match page_cursor {
        Some(c) => format!("more: add --cursor {c}\n"),
        None => String::new(),
    }
}

/// The trace list. `wide` shows whole trace ids.
pub fn traces(page: &Page<TraceSummary>, wide: bool) -> String {
    if page.data.is_empty() {
        return format!("no traces found\n{}", next_page(&page.next_cursor));
    }
    use Align::*;
    let mut t = Table::new(&[
        ("TIME", Left),
        ("TRACE", Left),
        ("NAME", Left),
        ("SERVICE", Left),
        ("DURATION", Right),
        ("SPANS", Right),
        ("TOKENS", Right),
        ("COST", Right),
        ("ERRORS", Left),
    ]);
    for s in &page.data {
        let id = if wide {
            s.trace_id.as_str()
        } else {
            fmt::short_id(&s.trace_id)
        };
        t.row(vec![
            fmt::time(s.start_ns),
            id.to_string(),
            fmt::one_line(s.root_name.as_deref().unwrap_or("-"), 48),
            s.service_name.clone().unwrap_or_else(|| "-".into()),
            fmt::duration(s.duration_ns),
            s.span_count.to_string(),
            fmt::tokens_or_dash(s.total_tokens),
            fmt::cost_or_dash(s.cost_nano_usd),
            errors(s.error_count),
        ]);
    }
    t.render() + &next_page(&page.next_cursor)
}

/// `✗ 2` for failures, empty otherwise.
fn errors(count: i64) -> String {
    if count > 0 {
        format!("{} {count}", fmt::ERROR_MARK)
    } else {
        String::new()
    }
}

/// The session list.
pub fn sessions(page: &Page<SessionSummary>) -> String {
    if page.data.is_empty() {
        return format!("no sessions found\n{}", next_page(&page.next_cursor));
    }
    use Align::*;
    let mut t = Table::new(&[
        ("LAST SEEN", Left),
        ("SESSION", Left),
        ("USERS", Left),
        ("TRACES", Right),
        ("SPANS", Right),
        ("TOKENS", Right),
        ("COST", Right),
        ("DURATION", Right),
        ("ERRORS", Left),
    ]);
    for s in &page.data {
        t.row(vec![
            fmt::time(s.last_seen_ns),
            fmt::one_line(&s.session_id, 40),
            fmt::one_line(&s.user_ids.join(","), 30),
            s.trace_count.to_string(),
            s.span_count.to_string(),
            fmt::tokens_or_dash(s.total_tokens),
            fmt::cost_or_dash(s.cost_nano_usd),
            fmt::duration(s.last_seen_ns - s.first_seen_ns),
            errors(s.error_count),
        ]);
    }
    t.render() + &next_page(&page.next_cursor)
}

/// A log's text: its body, else its event name.
pub fn log_body(l: &Log) -> String {
    match (&l.body, &l.event_name) {
        (Some(b), _) => fmt::value_text(b),
        (None, Some(e)) => format!("[{e}]"),
        (None, None) => String::new(),
    }
}

/// The log list, oldest line at the bottom as the server ordered it.
pub fn logs(page: &Page<Log>) -> String {
    if page.data.is_empty() {
        return format!("no logs found\n{}", next_page(&page.next_cursor));
    }
    use Align::*;
    let mut t = Table::new(&[
        ("TIME", Left),
        ("LEVEL", Left),
        ("SERVICE", Left),
        ("TRACE", Left),
        ("MESSAGE", Left),
    ]);
    for l in &page.data {
        t.row(vec![
            fmt::time_ms(l.time_ns),
            fmt::level(l.severity_number, l.severity_text.as_deref()),
            l.service_name.clone().unwrap_or_else(|| "-".into()),
            l.trace_id
                .as_deref()
                .map(fmt::short_id)
                .unwrap_or("-")
                .to_string(),
            fmt::one_line(&log_body(l), 160),
        ]);
    }
    t.render() + &next_page(&page.next_cursor)
}
