//! The agent graph of a trace: which agent delegated to which, how often, and what each agent
//! did (runs, llm and tool calls, errors, tokens, spend). An agent run (an observation of kind
//! agent) delegates to every agent run below it with no other agent run in between; llm and
//! tool calls count for the nearest agent run above them. [`build`] is a pure function of the
//! trace tree; [`svg`] lays the graph out in rows by delegation depth and draws it.

use std::collections::{BTreeMap, HashMap};

use maud::{html, Markup};

use super::format as f;
use crate::api::shapes::TreeObservation;
use sightline_core::ObservationKind;

/// One agent and what it did in the trace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentNode {
    pub name: String,
    pub runs: i64,
    pub llm_calls: i64,
    pub tool_calls: i64,
    pub errors: i64,
    pub tokens: i64,
    pub cost_nano_usd: i64,
    pub busy_ns: i64,
    /// Called by no other agent in this trace.
    pub entry: bool,
}

/// `from` delegated to `to` `calls` times.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub calls: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentGraph {
    pub nodes: Vec<AgentNode>,
    pub edges: Vec<Edge>,
}

/// The agent graph of `observations` (the trace tree, in tree order).
pub fn build(observations: &[TreeObservation]) -> AgentGraph {
    let index: HashMap<&str, usize> = observations
        .iter()
        .enumerate()
        .map(|(i, o)| (o.observation.span_id.as_str(), i))
        .collect();
    // The nearest agent run at or above each observation (tree order puts parents first).
    let mut agent_of: Vec<Option<usize>> = vec![None; observations.len()];
    let mut above: Vec<Option<usize>> = vec![None; observations.len()];
    for (i, o) in observations.iter().enumerate() {
        let parent = o
            .observation
            .parent_span_id
            .as_deref()
            .and_then(|p| index.get(p).copied())
            .filter(|p| *p < i);
        above[i] = parent.and_then(|p| agent_of[p]);
        agent_of[i] = if is_agent_run(o) { Some(i) } else { above[i] };
    }
    let mut graph = AgentGraph::default();
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    let mut node_of = |name: &str, graph: &mut AgentGraph| -> usize {
        *by_name.entry(name.to_owned()).or_insert_with(|| {
            graph.nodes.push(AgentNode {
                name: name.to_owned(),
                entry: true,
                ..Default::default()
            });
            graph.nodes.len() - 1
        })
    };
    let mut edges: BTreeMap<(usize, usize), i64> = BTreeMap::new();
    for (i, o) in observations.iter().enumerate() {
        let ob = &o.observation;
        if is_agent_run(o) {
            let me = node_of(&agent_name(o), &mut graph);
            let n = &mut graph.nodes[me];
            n.runs += 1;
            n.busy_ns += ob.duration_ns;
            if let Some(caller) = above[i] {
                let from = node_of(&agent_name(&observations[caller]), &mut graph);
                *edges.entry((from, me)).or_default() += 1;
                if from != me {
                    graph.nodes[me].entry = false;
                }
            }
        }
        let Some(owner) = agent_of[i] else { continue };
        let n = node_of(&agent_name(&observations[owner]), &mut graph);
        let n = &mut graph.nodes[n];
        if ob.is_error {
            n.errors += 1;
        }
        match ob.kind {
            ObservationKind::Llm | ObservationKind::Embedding => {
                n.llm_calls += 1;
                n.tokens += ob
                    .usage
                    .total
                    .unwrap_or_else(|| ob.usage.input.unwrap_or(0) + ob.usage.output.unwrap_or(0));
                n.cost_nano_usd += ob.cost.as_ref().and_then(|c| c.nano_usd).unwrap_or(0);
            }
            ObservationKind::Tool => n.tool_calls += 1,
            _ => {}
        }
    }
    graph.edges = edges
        .into_iter()
        .map(|((from, to), calls)| Edge { from, to, calls })
        .collect();
    graph
}

fn is_agent_run(o: &TreeObservation) -> bool {
    o.observation.kind == ObservationKind::Agent
}

fn agent_name(o: &TreeObservation) -> String {
    o.observation
        .agent_name
        .clone()
        .unwrap_or_else(|| o.observation.name.clone())
}

/// A box's top-left corner.
type Point = (f64, f64);

const NODE_W: f64 = 184.0;
const NODE_H: f64 = 54.0;
const COL: f64 = 204.0;
const ROW: f64 = 96.0;
const PAD: f64 = 14.0;
/// Most agents drawn; the busiest are kept.
const MAX_NODES: usize = 40;

/// Layer of each node: its delegation depth from the entry agents (cycles cut).
fn layers(g: &AgentGraph) -> Vec<usize> {
    let mut layer = vec![usize::MAX; g.nodes.len()];
    let mut queue: std::collections::VecDeque<usize> = g
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.entry)
        .map(|(i, _)| i)
        .collect();
    if queue.is_empty() && !g.nodes.is_empty() {
        queue.push_back(0);
    }
    for &i in &queue {
        layer[i] = 0;
    }
    while let Some(i) = queue.pop_front() {
        for e in g.edges.iter().filter(|e| e.from == i) {
            if layer[e.to] == usize::MAX {
                layer[e.to] = layer[i] + 1;
                queue.push_back(e.to);
            }
        }
    }
    layer
        .iter()
        .map(|l| if *l == usize::MAX { 0 } else { *l })
        .collect()
}

/// The graph drawn top-down: agents as boxes in rows by delegation depth (each row centred),
/// delegations as arrows labelled with their call counts. `None` with fewer than two agents.
pub fn svg(g: &AgentGraph) -> Option<Markup> {
    if g.nodes.len() < 2 {
        return None;
    }
    let mut keep: Vec<usize> = (0..g.nodes.len()).collect();
    keep.sort_by(|a, b| g.nodes[*b].runs.cmp(&g.nodes[*a].runs).then(a.cmp(b)));
    let hidden = keep.len().saturating_sub(MAX_NODES);
    keep.truncate(MAX_NODES);
    let layer = layers(g);
    let mut rows: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut order = keep.clone();
    order.sort_by_key(|i| (layer[*i], *i));
    for i in order {
        rows.entry(layer[i]).or_default().push(i);
    }
    let widest = rows.values().map(Vec::len).max().unwrap_or(1) as f64;
    let width = PAD * 2.0 + widest * COL - (COL - NODE_W);
    let height =
        PAD * 2.0 + rows.len() as f64 * ROW - (ROW - NODE_H) + if hidden > 0 { 14.0 } else { 0.0 };
    let mut pos: HashMap<usize, (f64, f64)> = HashMap::new();
    for (r, (_, nodes)) in rows.iter().enumerate() {
        let row_w = nodes.len() as f64 * COL - (COL - NODE_W);
        let x0 = (width - row_w) / 2.0;
        for (k, i) in nodes.iter().enumerate() {
            pos.insert(*i, (x0 + k as f64 * COL, PAD + r as f64 * ROW));
        }
    }
    let edges: Vec<(&Edge, Point, Point)> = g
        .edges
        .iter()
        .filter_map(|e| Some((e, *pos.get(&e.from)?, *pos.get(&e.to)?)))
        .collect();
    Some(html! {
        svg.agent-graph viewBox={ "0 0 " (width) " " (height) } width=(width) height=(height) role="img" {
            defs {
                marker #arrow viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse" {
                    path d="M0,0 L10,5 L0,10 z" {}
                }
            }
            @for (e, (x1, y1), (x2, y2)) in &edges {
                @let (d, lx, ly) = edge_path(*x1, *y1, *x2, *y2, e.from == e.to);
                g.edge {
                    path d=(d) marker-end="url(#arrow)" {}
                    text x=(format!("{lx:.1}")) y=(format!("{ly:.1}")) { "×" (e.calls) }
                    title { (g.nodes[e.from].name) " → " (g.nodes[e.to].name) ": " (e.calls) " delegation" @if e.calls != 1 { "s" } }
                }
            }
            @for i in &keep {
                @let n = &g.nodes[*i];
                @let (x, y) = pos[i];
                g class={ "node" @if n.errors > 0 { " failed" } } {
                    rect x=(format!("{x:.1}")) y=(y) width=(NODE_W) height=(NODE_H) rx="8" {}
                    text.title x=(format!("{:.1}", x + 10.0)) y=(y + 19.0) { (f::clip(&n.name, 22)) }
                    text.stats x=(format!("{:.1}", x + 10.0)) y=(y + 35.0) {
                        (n.runs) " run" @if n.runs != 1 { "s" } " · " (n.llm_calls) " llm · " (n.tool_calls) " tool"
                        @if n.errors > 0 { " · " (n.errors) " failed" }
                    }
                    text.stats x=(format!("{:.1}", x + 10.0)) y=(y + 48.0) {
                        (f::count(n.tokens)) " tokens · " (f::usd(n.cost_nano_usd))
                    }
                    title { (n.name) ": " (n.runs) " runs, " (n.llm_calls) " llm calls, " (n.tool_calls) " tool calls, " (n.errors) " failed, busy " (f::duration(n.busy_ns)) }
                }
            }
            @if hidden > 0 {
                text.stats x=(PAD) y=(height - 4.0) { "+" (hidden) " more agents not drawn" }
            }
        }
    })
}

/// The path of an edge between two boxes with top-left corners (x1, y1) and (x2, y2), and its
/// label's place: down from the bottom of one to the top of the other, around the right side
/// when it runs back up or within a row, a loop for an agent calling itself.
fn edge_path(x1: f64, y1: f64, x2: f64, y2: f64, self_loop: bool) -> (String, f64, f64) {
    if self_loop {
        let (sx, sy) = (x1 + NODE_W, y1 + 14.0);
        let d = format!(
            "M{sx:.1},{sy:.1} C{:.1},{:.1} {:.1},{:.1} {sx:.1},{:.1}",
            sx + 34.0,
            sy - 6.0,
            sx + 34.0,
            sy + 32.0,
            sy + 26.0
        );
        return (d, sx + 30.0, sy + 14.0);
    }
    if y2 > y1 {
        let (sx, sy) = (x1 + NODE_W / 2.0, y1 + NODE_H);
        let (tx, ty) = (x2 + NODE_W / 2.0, y2);
        let my = (sy + ty) / 2.0;
        let d = format!("M{sx:.1},{sy:.1} C{sx:.1},{my:.1} {tx:.1},{my:.1} {tx:.1},{ty:.1}");
        return (d, (sx + tx) / 2.0, my + 4.0);
    }
    // Back up, or within a row: out of the right side, into the right side.
    let (sx, sy) = (x1 + NODE_W, y1 + NODE_H / 2.0);
    let (tx, ty) = (x2 + NODE_W, y2 + NODE_H / 2.0 + 8.0);
    let out = sx.max(tx) + 30.0;
    let d = format!("M{sx:.1},{sy:.1} C{out:.1},{sy:.1} {out:.1},{ty:.1} {tx:.1},{ty:.1}");
    (d, out - 6.0, (sy + ty) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::shapes::Observation;
    use serde_json::json;

    fn obs(span: &str, parent: Option<&str>, kind: &str, agent: Option<&str>) -> TreeObservation {
        let mut v = json!({"span_id": span, "kind": kind, "name": format!("{kind} {span}"),
                           "duration_ns": 10, "usage": {"total": 5}, "cost": {"nano_usd": 7, "source": "computed"}});
        if let Some(p) = parent {
            v["parent_span_id"] = json!(p);
        }
        if let Some(a) = agent {
            v["agent_name"] = json!(a);
        }
        TreeObservation {
            observation: serde_json::from_value::<Observation>(v).unwrap(),
            depth: 0,
            orphan: false,
            child_count: 0,
            logs: vec![],
        }
    }

    #[test]
    fn delegations_are_counted_between_nearest_agent_runs() {
        // orchestrator -> researcher (twice, one through a plain span) -> coder; orchestrator
        // -> coder; researcher -> researcher (a sub-run of itself).
        let tree = vec![
            obs("o", None, "agent", Some("orchestrator")),
            obs("l1", Some("o"), "llm", Some("orchestrator")),
            obs("r1", Some("o"), "agent", Some("researcher")),
            obs("t1", Some("r1"), "tool", Some("researcher")),
            obs("r1b", Some("r1"), "agent", Some("researcher")),
            obs("c1", Some("r1"), "agent", Some("coder")),
            obs("l2", Some("c1"), "llm", Some("coder")),
            obs("s", Some("o"), "span", None),
            obs("r2", Some("s"), "agent", Some("researcher")),
            obs("c2", Some("o"), "agent", Some("coder")),
        ];
        let g = build(&tree);
        let names: Vec<&str> = g.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["orchestrator", "researcher", "coder"]);
        let edge = |a: usize, b: usize| {
            g.edges
                .iter()
                .find(|e| e.from == a && e.to == b)
                .map(|e| e.calls)
        };
        assert_eq!(edge(0, 1), Some(2));
        assert_eq!(edge(1, 1), Some(1));
        assert_eq!(edge(1, 2), Some(1));
        assert_eq!(edge(0, 2), Some(1));
        assert_eq!(g.edges.len(), 4);
        assert!(g.nodes[0].entry && !g.nodes[1].entry && !g.nodes[2].entry);
        assert_eq!((g.nodes[0].runs, g.nodes[0].llm_calls), (1, 1));
        assert_eq!((g.nodes[1].runs, g.nodes[1].tool_calls), (3, 1));
        assert_eq!(
            (
                g.nodes[2].llm_calls,
                g.nodes[2].tokens,
                g.nodes[2].cost_nano_usd
            ),
            (1, 5, 7)
        );
        assert_eq!(layers(&g), vec![0, 1, 1]);
        let drawn = svg(&g).unwrap().into_string();
        assert!(
            drawn.contains("×2") && drawn.contains("researcher"),
            "{drawn}"
        );
    }

    #[test]
    fn one_agent_draws_no_graph() {
        let g = build(&[obs("a", None, "agent", Some("solo"))]);
        assert_eq!(g.nodes.len(), 1);
        assert!(svg(&g).is_none());
    }
}
