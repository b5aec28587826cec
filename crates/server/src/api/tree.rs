//! A trace's observations in tree order (depth first, children by start time) with depth,
//! orphan flag and child count, and the trace's logs placed under the observation whose span id
//! they carry. Iterative throughout: a 10,000-deep chain must not overflow the stack.

use std::collections::HashMap;

use sightline_core::SpanId;

/// One observation's place in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    /// Index into the input slice.
    pub index: usize,
    pub depth: usize,
    /// A root whose parent never arrived (or sat in a parent cycle).
    pub orphan: bool,
    pub child_count: usize,
}

/// What [`arrange`] needs to know of an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    pub span_id: SpanId,
    pub parent: Option<SpanId>,
    pub start_ns: i64,
}

/// Tree order of `nodes`. Every node appears exactly once; roots (no parent, or a parent not in
/// the trace) come by start time, each followed by its descendants.
pub fn arrange(nodes: &[Node]) -> Vec<Placed> {
    let by_id: HashMap<SpanId, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.span_id, i))
        .collect();
    let order_key = |i: &usize| (nodes[*i].start_ns, nodes[*i].span_id, *i);
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut roots = Vec::new();
    let mut orphan = vec![false; nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        // A duplicate span id keeps only its first copy as a parent target.
        let parent = n
            .parent
            .filter(|p| *p != n.span_id)
            .and_then(|p| by_id.get(&p).copied());
        match (n.parent, parent) {
            (_, Some(p)) => children[p].push(i),
            (None, None) => roots.push(i),
            (Some(_), None) => {
                orphan[i] = true;
                roots.push(i);
            }
        }
    }
    for c in &mut children {
        c.sort_by_key(order_key);
    }
    roots.sort_by_key(order_key);

    let mut out = Vec::with_capacity(nodes.len());
    let mut visited = vec![false; nodes.len()];
    for &r in &roots {
        walk(&children, &mut visited, r, orphan[r], &mut out);
    }
    // Whatever is left sits in a parent cycle: break each at its earliest node.
    if out.len() < nodes.len() {
        let mut left: Vec<usize> = (0..nodes.len()).filter(|i| !visited[*i]).collect();
        left.sort_by_key(order_key);
        for r in left {
            if !visited[r] {
                walk(&children, &mut visited, r, true, &mut out);
            }
        }
    }
    out
}

/// Appends `root` and its unvisited descendants in depth-first order, with an explicit stack.
fn walk(
    children: &[Vec<usize>],
    visited: &mut [bool],
    root: usize,
    orphan_root: bool,
    out: &mut Vec<Placed>,
) {
    let mut stack = vec![(root, 0usize)];
    visited[root] = true;
    while let Some((i, depth)) = stack.pop() {
        let fresh: Vec<usize> = children[i]
            .iter()
            .copied()
            .filter(|c| !visited[*c])
            .collect();
        out.push(Placed {
            index: i,
            depth,
            orphan: orphan_root && i == root,
            child_count: fresh.len(),
        });
        for &c in fresh.iter().rev() {
            visited[c] = true;
            stack.push((c, depth + 1));
        }
    }
}

/// Where each log goes: `inside[i]` are the logs (indexes into `log_spans`) of observation `i`;
/// `loose` are the rest. Both keep the order of `log_spans` (give them sorted by time).
pub fn place_logs(nodes: &[Node], log_spans: &[Option<SpanId>]) -> (Vec<Vec<usize>>, Vec<usize>) {
    let by_id: HashMap<SpanId, usize> = nodes
        .iter()
        .enumerate()
        .rev()
        .map(|(i, n)| (n.span_id, i))
        .collect();
    let mut inside = vec![Vec::new(); nodes.len()];
    let mut loose = Vec::new();
    for (j, span) in log_spans.iter().enumerate() {
        match span.and_then(|s| by_id.get(&s)) {
            Some(&i) => inside[i].push(j),
            None => loose.push(j),
        }
    }
    (inside, loose)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> SpanId {
        SpanId((n + 1).to_be_bytes())
    }

    fn node(span: u64, parent: Option<u64>, start: i64) -> Node {
        Node {
            span_id: id(span),
            parent: parent.map(id),
            start_ns: start,
        }
    }

    /// (span, depth, orphan, child_count) in output order.
    fn shape(nodes: &[Node]) -> Vec<(u64, usize, bool, usize)> {
        arrange(nodes)
            .iter()
            .map(|p| {
                let span = u64::from_be_bytes(nodes[p.index].span_id.0) - 1;
                (span, p.depth, p.orphan, p.child_count)
            })
            .collect()
    }

    #[test]
    fn depth_first_with_children_by_start_and_orphans_as_roots() {
        let nodes = [
            node(3, Some(1), 30), // second child of 1
            node(1, None, 0),     // root
            node(2, Some(1), 10), // first child of 1
            node(4, Some(2), 20), // grandchild
            node(5, Some(99), 5), // parent never arrived
            node(6, Some(5), 6),
        ];
        assert_eq!(
            shape(&nodes),
            vec![
                (1, 0, false, 2),
                (2, 1, false, 1),
                (4, 2, false, 0),
                (3, 1, false, 0),
                (5, 0, true, 1),
                (6, 1, false, 0),
            ]
        );
    }

    #[test]
    fn cycles_and_self_parents_are_broken_not_lost() {
        let nodes = [
            node(1, Some(2), 10),
            node(2, Some(1), 20),
            node(3, Some(3), 5),
        ];
        assert_eq!(
            shape(&nodes),
            vec![(3, 0, true, 0), (1, 0, true, 1), (2, 1, false, 0)]
        );
    }

    #[test]
    fn a_ten_thousand_deep_chain_does_not_recurse() {
        let nodes: Vec<Node> = (0..10_000u64)
            .rev()
            .map(|i| node(i, i.checked_sub(1), i as i64))
            .collect();
        let placed = arrange(&nodes);
        assert_eq!(placed.len(), 10_000);
        for (d, p) in placed.iter().enumerate() {
            assert_eq!(p.depth, d);
            assert_eq!(nodes[p.index].span_id, id(d as u64));
            assert_eq!(p.child_count, usize::from(d < 9_999));
        }
    }

    #[test]
    fn a_fifty_thousand_span_trace_is_placed_once_each() {
        // A root with 50 agents, each with 999 steps.
        let mut nodes = vec![node(0, None, 0)];
        for a in 1..=50u64 {
            nodes.push(node(a, Some(0), a as i64));
            for s in 0..999u64 {
                let span = 1_000 + a * 1_000 + s;
                nodes.push(node(span, Some(a), (a * 1_000 + s) as i64));
            }
        }
        let placed = arrange(&nodes);
        assert_eq!(placed.len(), 50_001);
        let mut seen = vec![false; nodes.len()];
        for p in &placed {
            assert!(!seen[p.index]);
            seen[p.index] = true;
        }
        assert_eq!(placed[0].child_count, 50);
        assert_eq!((placed[1].depth, placed[1].child_count), (1, 999));
        assert_eq!(placed[2].depth, 2);
        assert!(placed.iter().all(|p| !p.orphan));
    }

    #[test]
    fn logs_go_inside_their_observation_or_stay_loose() {
        let nodes = [node(1, None, 0), node(2, Some(1), 1)];
        let logs = [Some(id(2)), None, Some(id(77)), Some(id(1)), Some(id(2))];
        let (inside, loose) = place_logs(&nodes, &logs);
        assert_eq!(inside, vec![vec![3], vec![0, 4]]);
        assert_eq!(loose, vec![1, 2]);
    }
}
