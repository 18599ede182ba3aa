//! Benchmark: validating the example workflows, and evaluating a compiled Rhai filter over a
//! recipient map (the per-recipient cost every campaign pays).
//!
//! `cargo bench -p switchboard-model --bench validate` prints the figures. A bench binary
//! rather than criterion: the numbers we track are few and a plain loop keeps the build light.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use rhai::{Dynamic, Map, Scope};
use switchboard_model::expr::ExprEngine;
use switchboard_model::loader::load_path;
use switchboard_model::segments::segment_info;
use switchboard_model::template::Template;

/// Runs `work` repeatedly for at least `budget` and returns the mean time per run.
fn measure(budget: Duration, mut work: impl FnMut()) -> (Duration, u64) {
    work(); // warm-up (lazy schema build, phone metadata)
    let start = Instant::now();
    let mut runs = 0u64;
    while start.elapsed() < budget {
        work();
        runs += 1;
    }
    (start.elapsed() / runs.max(1) as u32, runs)
}

fn recipient(index: u64) -> Map {
    let mut map = Map::new();
    map.insert(
        "phone".into(),
        format!("+1416555{:04}", index % 10_000).into(),
    );
    map.insert("name".into(), "Jane Doe".into());
    map.insert(
        "company".into(),
        if index.is_multiple_of(4) {
            "".into()
        } else {
            Dynamic::from("Acme Corp")
        },
    );
    map.insert(
        "country".into(),
        if index.is_multiple_of(3) {
            "US".into()
        } else {
            Dynamic::from("CA")
        },
    );
    map.insert("timezone".into(), "America/Toronto".into());
    map.insert("plan".into(), "pro".into());
    map.insert("score".into(), Dynamic::from(index as i64 % 100));
    map
}

fn main() {
    let budget = Duration::from_secs(2);
    let workflows = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows");
    let files = load_path(&workflows)
        .map(|reports| reports.len())
        .unwrap_or(0);
    let (per_dir, runs) = measure(budget, || {
        black_box(load_path(&workflows).ok());
    });
    println!(
        "validate workflows/ ({files} files): {:.2} ms per directory, {:.0} µs per file ({runs} runs)",
        per_dir.as_secs_f64() * 1e3,
        per_dir.as_secs_f64() * 1e6 / files.max(1) as f64
    );

    let engine = ExprEngine::new();
    let filter = engine
        .compile(
            r#"recipient.company != "" && recipient.country == "CA" && recipient.score > 10"#,
            &["recipient", "vars"],
        )
        .expect("filter compiles");
    let recipients: Vec<Map> = (0..1_000).map(recipient).collect();
    let evaluations = 200_000u64;
    let start = Instant::now();
    let mut passed = 0u64;
    for i in 0..evaluations {
        let mut scope = Scope::new();
        scope.push("recipient", recipients[(i % 1_000) as usize].clone());
        scope.push("vars", Map::new());
        if engine.eval_bool(&filter, &mut scope).unwrap_or(false) {
            passed += 1;
        }
    }
    let per_eval = start.elapsed().as_secs_f64() * 1e9 / evaluations as f64;
    println!(
        "rhai filter over a 7-field recipient map: {per_eval:.0} ns per evaluation, scope built each time ({passed}/{evaluations} passed)"
    );

    let mut scope = Scope::new();
    scope.push("recipient", recipients[1].clone());
    scope.push("vars", Map::new());
    let start = Instant::now();
    for _ in 0..evaluations {
        black_box(engine.eval_bool(&filter, &mut scope).ok());
    }
    let per_eval = start.elapsed().as_secs_f64() * 1e9 / evaluations as f64;
    println!("rhai filter, scope reused: {per_eval:.0} ns per evaluation");

    let template = Template::parse(
        "Hi {name|there}, we have a special offer for {company}! Reply STOP to opt out.",
    )
    .expect("template parses");
    let field_maps: Vec<std::collections::HashMap<String, String>> = recipients
        .iter()
        .map(|map| {
            map.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect();
    let start = Instant::now();
    for i in 0..evaluations {
        let fields = &field_maps[(i % 1_000) as usize];
        if let Ok(text) = template.render(|name| fields.get(name).map(String::as_str)) {
            black_box(segment_info(&text));
        }
    }
    let per_render = start.elapsed().as_secs_f64() * 1e9 / evaluations as f64;
    println!("template render + segment count: {per_render:.0} ns per message");
}
