//! A plan to import (`task import <file>`): tasks with keys, and
//! dependencies between them by key (or on existing task ids), read from
//! JSON or from a Markdown checklist. Pure: parsing and the checks that
//! need nothing but the file (duplicate keys, dependency cycles).
//!
//! JSON: `{"tasks":[{"key":"schema","title":"…","description":"…",
//! "priority":1,"role":"backend","type":"feature","labels":[],
//! "after":["other-key","t-3f9a"]}]}` — only `title` is required; a
//! missing key is the entry's number (`1`, `2`, …).
//!
//! Markdown: each `- [ ] Title` item is a task; the indented lines under
//! it that read `key:`, `priority:`, `role:`, `type:`, `labels:` or
//! `after:` set those fields (lists comma-separated), any other indented
//! line is description. A checked item (`- [x]`) is done already: it is
//! not imported, and a dependency on it is satisfied. Other lines
//! (headings, prose) are ignored.

use super::Invalid;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// One task of a plan, as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanEntry {
    #[serde(default)]
    pub key: Option<String>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub priority: Option<u8>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub after: Vec<String>,
}

/// A parsed plan: its entries, each with its key, and the keys of
/// checked (already done) Markdown items.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub entries: Vec<(String, PlanEntry)>,
    pub done: BTreeSet<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonPlan {
    tasks: Vec<PlanEntry>,
}

impl Plan {
    /// Reads a plan: JSON if the text starts with `{`, else Markdown.
    pub fn parse(text: &str) -> Result<Plan, Invalid> {
        let plan = match text.trim_start().starts_with('{') {
            true => Plan::from_json(text)?,
            false => Plan::from_markdown(text)?,
        };
        if plan.entries.is_empty() && plan.done.is_empty() {
            return Err(Invalid(
                "the plan has no tasks: write JSON ({\"tasks\":[…]}) or Markdown checklist items (`- [ ] Title`)"
                    .into(),
            ));
        }
        plan.check()?;
        Ok(plan)
    }

    fn from_json(text: &str) -> Result<Plan, Invalid> {
        let parsed: JsonPlan = serde_json::from_str(text).map_err(|e| {
            Invalid(format!(
                "the plan is not valid JSON of the expected shape ({e}): expected {{\"tasks\":[{{\"key\":\"…\",\
                 \"title\":\"…\",\"description\":\"…\",\"priority\":1,\"role\":\"…\",\"labels\":[],\"after\":[]}}]}}"
            ))
        })?;
        let entries = parsed
            .tasks
            .into_iter()
            .enumerate()
            .map(|(i, e)| (e.key.clone().unwrap_or_else(|| (i + 1).to_string()), e))
            .collect();
        Ok(Plan { entries, done: BTreeSet::new() })
    }

    fn from_markdown(text: &str) -> Result<Plan, Invalid> {
        let mut plan = Plan::default();
        // The item being read, and whether it was checked.
        let mut current: Option<(PlanEntry, bool, usize)> = None;
        let mut number = 0;
        let finish = |item: Option<(PlanEntry, bool, usize)>, plan: &mut Plan| {
            if let Some((mut entry, checked, n)) = item {
                entry.description = entry.description.trim_end().to_string();
                let key = entry.key.clone().unwrap_or_else(|| n.to_string());
                match checked {
                    true => {
                        plan.done.insert(key);
                    }
                    false => plan.entries.push((key, entry)),
                }
            }
        };
        for (line_no, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            let item = ["- [ ] ", "* [ ] ", "- [x] ", "- [X] ", "* [x] ", "* [X] "]
                .iter()
                .find_map(|p| trimmed.strip_prefix(p).map(|rest| (rest, p.contains('x') || p.contains('X'))));
            if let Some((title, checked)) = item.filter(|_| line.len() - trimmed.len() < 2) {
                finish(current.take(), &mut plan);
                number += 1;
                let entry = PlanEntry { title: title.trim().to_string(), ..PlanEntry::default() };
                current = Some((entry, checked, number));
                continue;
            }
            let Some((entry, _, _)) = current.as_mut() else { continue };
            if !line.starts_with([' ', '\t']) && !line.trim().is_empty() {
                finish(current.take(), &mut plan);
                continue;
            }
            let field = trimmed.split_once(':').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim()));
            let list = |v: &str| -> Vec<String> {
                v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
            };
            match field {
                Some((k, v)) if k == "key" => entry.key = Some(v.to_string()),
                Some((k, v)) if k == "priority" => {
                    let p = v.trim_start_matches(['p', 'P']).parse().map_err(|_| {
                        Invalid(format!("line {}: priority '{v}' is not a number from 0 to 4", line_no + 1))
                    })?;
                    entry.priority = Some(p);
                }
                Some((k, v)) if k == "role" => entry.role = Some(v.to_string()),
                Some((k, v)) if k == "type" => entry.kind = Some(v.to_string()),
                Some((k, v)) if k == "labels" => entry.labels = list(v),
                Some((k, v)) if k == "after" => entry.after = list(v),
                _ => {
                    entry.description.push_str(trimmed.trim_end());
                    entry.description.push('\n');
                }
            }
        }
        finish(current.take(), &mut plan);
        Ok(plan)
    }

    /// Duplicate keys and cycles among the plan's own keys.
    fn check(&self) -> Result<(), Invalid> {
        let mut seen = BTreeSet::new();
        for (i, (key, _)) in self.entries.iter().enumerate() {
            if !seen.insert(key.as_str()) || self.done.contains(key) {
                return Err(Invalid(format!(
                    "entry {} repeats the key '{key}': give each task its own key",
                    i + 1
                )));
            }
        }
        let deps: BTreeMap<&str, Vec<&str>> = self
            .entries
            .iter()
            .map(|(k, e)| {
                (k.as_str(), e.after.iter().map(String::as_str).filter(|a| seen.contains(a)).collect())
            })
            .collect();
        for (key, _) in &self.entries {
            if let Some(cycle) = cycle_from(key, &deps) {
                return Err(Invalid(format!(
                    "the plan's dependencies make a cycle: {}; drop one of these `after` entries",
                    cycle.join(" -> ")
                )));
            }
        }
        Ok(())
    }

    /// Describes entry `i` for an error: its number and key.
    pub fn describe(&self, i: usize) -> String {
        format!("entry {} (key '{}')", i + 1, self.entries[i].0)
    }
}

/// A path from `start` back to itself through `deps`, if there is one.
fn cycle_from<'a>(start: &'a str, deps: &BTreeMap<&'a str, Vec<&'a str>>) -> Option<Vec<&'a str>> {
    let mut stack = vec![(start, vec![start])];
    let mut visited = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for &next in deps.get(at).into_iter().flatten() {
            if next == start {
                let mut cycle = path.clone();
                cycle.push(start);
                return Some(cycle);
            }
            if visited.insert(next) {
                let mut longer = path.clone();
                longer.push(next);
                stack.push((next, longer));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_with_no_tasks_is_refused_in_either_form() {
        for empty in ["{\"tasks\":[]}", "# nothing to do\n", ""] {
            let e = Plan::parse(empty).err().unwrap_or_else(|| panic!("{empty:?} was accepted"));
            assert!(e.0.contains("the plan has no tasks"), "{empty:?}: {}", e.0);
        }
    }

    #[test]
    fn a_markdown_checklist_reads_as_the_same_fields_as_json() {
        let md = "# Plan\n\n- [ ] Design the schema\n  key: schema\n  priority: 1\n  role: backend\n  \
                  labels: db, api\n  The tables we need.\n- [x] Set up CI\n  key: ci\n- [ ] Write the API\n  \
                  after: schema, ci\n\nNot part of it.\n";
        let plan = Plan::parse(md).unwrap();
        assert_eq!(plan.entries.len(), 2);
        let (key, schema) = &plan.entries[0];
        assert_eq!(key, "schema");
        assert_eq!(schema.priority, Some(1));
        assert_eq!(schema.labels, ["db", "api"]);
        assert_eq!(schema.description, "The tables we need.");
        assert_eq!(plan.entries[1].0, "3", "no key: its number");
        assert_eq!(plan.entries[1].1.after, ["schema", "ci"]);
        assert!(plan.done.contains("ci"));
    }

    #[test]
    fn duplicate_keys_and_cycles_are_refused_naming_the_entry() {
        let dup = r#"{"tasks":[{"key":"a","title":"A"},{"key":"a","title":"B"}]}"#;
        assert!(Plan::parse(dup).unwrap_err().0.contains("entry 2 repeats the key 'a'"));
        let cycle =
            r#"{"tasks":[{"key":"a","title":"A","after":["b"]},{"key":"b","title":"B","after":["a"]}]}"#;
        assert!(Plan::parse(cycle).unwrap_err().0.contains("a -> b -> a"));
        let typo = r#"{"tasks":[{"key":"a","titel":"A"}]}"#;
        assert!(Plan::parse(typo).unwrap_err().0.contains("expected"));
    }
}
