//! The quickstart: one whole DIN task on the embedded defaults, no setup (paper §5.1,
//! §5.2). A Model Owner creates a task with a genesis MLP and a reward deposit; 30
//! Participants holding MNIST partitions train locally for 5 rounds, in subgroups of 10,
//! with SecAgg+ masking; 9 staked Evaluators (3 per subgroup) unmask and agree on each
//! subgroup's aggregate through the contracts on the embedded EVM; the Owner publishes
//! each round's global model; after the last round the Evaluators open the sealed test
//! set and the Participants' sealed models, score them by commit/reveal, and the
//! contract pays everyone by median score.
//!
//! ```text
//! cargo run --release --example quickstart -- [--json] [--chart quickstart.png]
//!     [--participants 30] [--subgroup-size 10] [--evaluators-per-subgroup 3]
//!     [--rounds 5] [--model mlp] [--local-epochs 5] [--lr 0.1] [--seed 0]
//!     [--drop N] [--lying-evaluators N] [--garbage-updates N] [--restart-every N]
//!     [--forged-words huge-weight|worst-in-bounds] [--forged-subgroups N]
//!     [--no-bound-checks] [--clip 8] [--max-weight 1000] [--data DIR]
//! ```
//!
//! The data is MNIST's 10k split compiled into din (no files needed); `--data DIR`
//! reads `DIR/mnist/` instead.
//!
//! It prints the accuracy of every round's global model, gas per role and operation,
//! and every Participant's score and reward, and writes a PNG chart (accuracy per round,
//! reward per Participant). With `--json` the last line is one JSON object with
//! `final_accuracy`, `rounds`, `participants`, `evaluators`, `deposit_wei`,
//! `paid_participants_wei`, `paid_evaluators_wei`, `refundable_wei`,
//! `slashed_evaluators`, `zero_reward_participants`, `gas`, `wall_seconds` and more.
//!
//! Faults: `--drop N` Participants vanish after masking in round 2; `--lying-evaluators
//! N` Evaluators lie (the 1st, 3rd, ... about aggregates, the 2nd, 4th, ... about
//! scores); `--garbage-updates N` Participants upload noise or models trained on
//! inverted labels; `--restart-every N` drops a role every N actions and rebuilds it
//! from its state directory (the crash drill); `--forged-words KIND` makes every
//! subgroup's first member of each round write forged words into its masked update (a
//! million added to its weight, or the most the task's bounds allow), and
//! `--forged-subgroups N` limits that to the first N subgroups, and `--no-bound-checks`
//! has the Evaluators accept sums outside the bounds (to measure what the check buys:
//! `benches/README.md`). `--clip` and `--max-weight` set the task's input bounds.

use std::error::Error;
use std::io::Write as _;
use std::path::PathBuf;

use din::local::{Forgery, Progress, TaskOptions, TaskSummary, run_task};
use din_examples::chart::{Canvas, Panel, colour};

struct Args {
    opts: TaskOptions,
    json: bool,
    chart: PathBuf,
}

fn parse() -> Result<Args, Box<dyn Error>> {
    let mut a = Args {
        opts: TaskOptions::default(),
        json: false,
        chart: PathBuf::from("quickstart.png"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let o = &mut a.opts;
        match flag.as_str() {
            "--json" => a.json = true,
            "--chart" => a.chart = value()?.into(),
            "--participants" => o.participants = value()?.parse()?,
            "--subgroup-size" => o.subgroup_size = value()?.parse()?,
            "--evaluators-per-subgroup" => o.evaluators_per_subgroup = value()?.parse()?,
            "--rounds" => o.rounds = value()?.parse()?,
            "--model" => o.model = value()?,
            "--local-epochs" => o.local_epochs = value()?.parse()?,
            "--lr" => o.lr = value()?.parse()?,
            "--seed" => o.seed = value()?.parse()?,
            "--drop" => o.drop = value()?.parse()?,
            "--lying-evaluators" => o.lying_evaluators = value()?.parse()?,
            "--garbage-updates" => o.garbage_updates = value()?.parse()?,
            "--restart-every" => o.restart_every = value()?.parse()?,
            "--data" => o.data_dir = Some(value()?.into()),
            "--forged-words" => {
                o.forged_words = Some(match value()?.as_str() {
                    "huge-weight" => Forgery::HugeWeight,
                    "worst-in-bounds" => Forgery::WorstInBounds,
                    other => {
                        return Err(format!(
                            "--forged-words {other:?}: expected huge-weight or worst-in-bounds"
                        )
                        .into());
                    }
                });
            }
            "--forged-subgroups" => o.forged_subgroups = value()?.parse()?,
            "--no-bound-checks" => o.bound_checks = false,
            "--clip" => o.bounds.clip = value()?.parse()?,
            "--max-weight" => o.bounds.max_weight = value()?.parse()?,
            "-h" | "--help" => {
                return Err("see the header of examples/quickstart.rs for the flags".into());
            }
            other => return Err(format!("unknown flag {other:?}; try --help").into()),
        }
    }
    Ok(a)
}

fn bar(p: &Progress) {
    // Redraw at most every 100 ms.
    static LAST: std::sync::Mutex<Option<std::time::Instant>> = std::sync::Mutex::new(None);
    if let Ok(mut last) = LAST.lock() {
        if last.is_some_and(|t| t.elapsed().as_millis() < 100) {
            return;
        }
        *last = Some(std::time::Instant::now());
    }
    let total = p.total_steps.max(1);
    let filled = (p.trained_steps.min(total) * 30) / total;
    let mut last = p.last.clone();
    last.truncate(60);
    eprint!(
        "\r[{}{}] round {}/{} {last:<60}",
        "#".repeat(filled),
        " ".repeat(30 - filled),
        p.round,
        p.rounds
    );
    let _ = std::io::stderr().flush();
}

fn main() -> Result<(), Box<dyn Error>> {
    let a = parse()?;
    eprintln!(
        "din quickstart: {} participants in subgroups of {}, {} evaluators per subgroup, {} rounds, SecAgg+ on, embedded EVM",
        a.opts.participants, a.opts.subgroup_size, a.opts.evaluators_per_subgroup, a.opts.rounds
    );
    let s = run_task(&a.opts, bar)?;
    eprintln!();
    print_tables(&s);
    chart(&s, &a.chart)?;
    println!("chart: {}", a.chart.display());
    if a.json {
        println!("{}", serde_json::to_string(&s)?);
    }
    Ok(())
}

fn din_units(wei: &str) -> f64 {
    wei.parse::<f64>().unwrap_or(0.0) / 1e18
}

fn print_tables(s: &TaskSummary) {
    println!("\nround  test accuracy  verified  rejected subgroups");
    for (r, acc) in s.accuracy_per_round.iter().enumerate() {
        let r = r as u16 + 1;
        let ok = if s.verified_rounds.contains(&r) {
            "yes"
        } else {
            "NO"
        };
        let rejected: Vec<String> = s
            .rejected_subgroups
            .iter()
            .filter(|(round, _)| *round == r)
            .map(|(_, j)| j.to_string())
            .collect();
        println!("{r:>5}  {acc:>13.4}  {ok:>8}  {}", rejected.join(","));
    }
    println!(
        "\ngas per role: {}",
        s.gas_by_role
            .iter()
            .map(|(r, g)| format!("{r} {g}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("operation              mean gas");
    for (op, g) in &s.gas {
        println!("{op:<22} {g:>8}");
    }
    println!("\nparticipant  kind              score   reward (DIN)");
    for p in &s.participant_outcomes {
        println!(
            "{:>11}  {:<16} {:>6.3} {:>14.4}",
            p.index,
            p.kind,
            f64::from(p.score) / f64::from(din::core::scoring::SCORE_ONE),
            din_units(&p.reward_wei)
        );
    }
    println!("\nevaluator  kind              slashed  reward (DIN)");
    for e in &s.evaluator_outcomes {
        println!(
            "{:>9}  {:<16} {:>8} {:>13.4}",
            e.index,
            e.kind,
            if e.slashed { "yes" } else { "no" },
            din_units(&e.reward_wei)
        );
    }
    println!(
        "\ndeposit {:.4} DIN = participants {:.4} + evaluators {:.4} + refundable {:.4} wei-exact: {}",
        din_units(&s.deposit_wei),
        din_units(&s.paid_participants_wei),
        din_units(&s.paid_evaluators_wei),
        s.refundable_wei.parse::<f64>().unwrap_or(0.0) / 1e18,
        s.accounting_exact
    );
    println!(
        "final accuracy {:.4}; slashed evaluators {}; zero-reward participants {:?}; {:.1} s",
        s.final_accuracy,
        s.slashed_evaluators.len(),
        s.zero_reward_participants,
        s.wall_seconds
    );
}

/// Accuracy per round (left) and reward per Participant (right: blue honest, red
/// garbage, grey dropped).
fn chart(s: &TaskSummary, path: &std::path::Path) -> Result<(), Box<dyn Error>> {
    let mut cv = Canvas::new(1000, 440);
    let left = Panel {
        x: 70,
        y: 60,
        w: 360,
        h: 320,
    };
    left.frame(&mut cv, "TEST ACCURACY PER ROUND", (0.0, 1.0), 10, |v| {
        format!("{v:.1}")
    });
    let n = s.accuracy_per_round.len().max(1);
    let x_of = |r: usize| left.x as f64 + (r as f64 + 0.5) * left.w as f64 / n as f64;
    for r in 0..n {
        let label = format!("{}", r + 1);
        cv.text(
            x_of(r) as i64 - 3,
            left.y + left.h + 8,
            &label,
            1,
            colour::INK,
        );
    }
    cv.text(
        left.x + left.w / 2 - 15,
        left.y + left.h + 24,
        "ROUND",
        1,
        colour::INK,
    );
    let pts: Vec<(f64, f64)> = s
        .accuracy_per_round
        .iter()
        .enumerate()
        .map(|(r, a)| (x_of(r), left.y_of(*a, 0.0, 1.0)))
        .collect();
    for w in pts.windows(2) {
        if let [a, b] = w {
            cv.line(*a, *b, 3, colour::BLUE);
        }
    }
    for (x, y) in &pts {
        cv.rect(
            *x as i64 - 4,
            *y as i64 - 4,
            *x as i64 + 4,
            *y as i64 + 4,
            colour::BLUE,
        );
    }

    let right = Panel {
        x: 560,
        y: 60,
        w: 410,
        h: 320,
    };
    let rewards: Vec<f64> = s
        .participant_outcomes
        .iter()
        .map(|p| din_units(&p.reward_wei))
        .collect();
    let top = rewards.iter().copied().fold(0.0, f64::max).max(1e-9) * 1.1;
    right.frame(
        &mut cv,
        "REWARD PER PARTICIPANT (DIN)",
        (0.0, top),
        5,
        |v| format!("{v:.1}"),
    );
    let m = rewards.len().max(1);
    let slot = right.w as f64 / m as f64;
    for (i, (p, r)) in s.participant_outcomes.iter().zip(&rewards).enumerate() {
        let c = match p.kind.as_str() {
            "honest" => colour::BLUE,
            "dropped" => colour::GREY,
            _ => colour::RED,
        };
        let x0 = right.x as f64 + i as f64 * slot + slot * 0.15;
        let x1 = right.x as f64 + (i + 1) as f64 * slot - slot * 0.15;
        let y = right.y_of(*r, 0.0, top);
        cv.rect(x0 as i64, y as i64, x1 as i64, right.y + right.h - 1, c);
        if r == &0.0 {
            cv.rect(
                x0 as i64,
                right.y + right.h - 3,
                x1 as i64,
                right.y + right.h - 1,
                c,
            );
        }
    }
    cv.text(
        right.x + right.w / 2 - 80,
        right.y + right.h + 24,
        "PARTICIPANT (RED: GARBAGE, GREY: DROPPED)",
        1,
        colour::INK,
    );
    cv.save(path)
}
