//! The tree drawing of `layers --tree`, as containers-storage draws it: each node hangs under
//! its parent with box-drawing characters, notes (names, images, containers) under the node.

/// One edge of the tree: `child` hangs under `parent` ("(base)" for layers without a parent).
pub struct Node {
    pub parent: String,
    pub child: String,
    pub notes: Vec<String>,
}

const INDENT_STEP: usize = 2;
const VERTICAL: char = '\u{2502}';
const THIS_AND_MORE: &str = "\u{251c}";
const JUST_THIS: &str = "\u{2514}";
const STEM: &str = "\u{2500}";

/// Print the forest: each root (a parent that is nobody's child) with everything under it.
pub fn render(mut nodes: Vec<Node>) -> String {
    let mut out = String::new();
    while !nodes.is_empty() {
        let root = select_root(&nodes);
        out.push_str(&root);
        out.push('\n');
        let before = nodes.len();
        nodes = render_children(&root, nodes, 0, &[], &mut out);
        if nodes.len() == before {
            // Only cycles are left; they have no root to start from.
            break;
        }
    }
    out
}

/// Among parents that are not children themselves, the one with the fewest children; ties go
/// to the first in layer order (Go picks by map order, which is random).
fn select_root(nodes: &[Node]) -> String {
    let mut best: Option<(&str, usize)> = None;
    for node in nodes {
        if nodes.iter().any(|n| n.child == node.parent) {
            continue;
        }
        let children = nodes.iter().filter(|n| n.parent == node.parent).count();
        if best.map_or(true, |(_, fewest)| children < fewest) {
            best = Some((&node.parent, children));
        }
    }
    best.map(|(root, _)| root.to_string()).unwrap_or_default()
}

/// Print the children of `root`, depth first; returns the nodes not printed.
fn render_children(
    root: &str,
    nodes: Vec<Node>,
    indent: usize,
    continued: &[usize],
    out: &mut String,
) -> Vec<Node> {
    let (children, mut leftovers): (Vec<Node>, Vec<Node>) =
        nodes.into_iter().partition(|n| n.parent == root);
    let count = children.len();
    for (n, child) in children.into_iter().enumerate() {
        let mut prefix: Vec<char> = vec![' '; indent];
        for &column in continued {
            prefix[column] = VERTICAL;
        }
        let prefix: String = prefix.into_iter().collect();
        let more_follow = n + 1 < count;
        let (header, note_header) = if more_follow {
            (THIS_AND_MORE, VERTICAL.to_string())
        } else {
            (JUST_THIS, " ".to_string())
        };
        out.push_str(&format!("{prefix}{header}{}{}\n", STEM.repeat(INDENT_STEP - 1), child.child));
        for note in &child.notes {
            out.push_str(&format!("{prefix}{note_header}{}{note}\n", " ".repeat(INDENT_STEP - 1)));
        }
        let mut sub_continued = continued.to_vec();
        if more_follow {
            sub_continued.push(indent);
        }
        leftovers =
            render_children(&child.child, leftovers, indent + INDENT_STEP, &sub_continued, out);
    }
    leftovers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(parent: &str, child: &str, notes: &[&str]) -> Node {
        Node {
            parent: parent.into(),
            child: child.into(),
            notes: notes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn draws_like_containers_storage() {
        let text = render(vec![
            node("(base)", "L1", &["image: I1"]),
            node("L1", "C1", &["container: C1"]),
            node("(base)", "L2", &[]),
        ]);
        assert_eq!(text, "(base)\n├─L1\n│ image: I1\n│ └─C1\n│   container: C1\n└─L2\n");
    }
}
