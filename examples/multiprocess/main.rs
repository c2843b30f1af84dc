//! The quickstart's task with every role in its own OS process, against a real node
//! (anvil, its clock following the wall clock) and a real IPFS node (js-ipfs serving the
//! Kubo RPC API), both on 127.0.0.1. The orchestrator starts the nodes, deploys the
//! contracts, funds the Evaluators, starts one process per role (this same binary with
//! `role ...`), kills one Participant process mid-round and one Evaluator process
//! between its score commitment and its reveal and restarts both from their state
//! directories, waits for every role to finish, verifies every round from the chain and
//! the store, and prints the quickstart's JSON summary.
//!
//! ```text
//! bash examples/multiprocess/run.sh            # builds, then runs this with --json
//! cargo run --release --example multiprocess -- [--json] [--participants 8]
//!     [--subgroup-size 4] [--evaluators-per-subgroup 3] [--rounds 2]
//!     [--stage-period 10] [--local-epochs 2] [--data DIR] [--keep DIR]
//! ```
//!
//! Each role process logs to `DIR/logs/<role>.log` and keeps its state in
//! `DIR/<role>/` (a temporary directory unless `--keep DIR`).

// The examples' allocator (see `din_examples`).
extern crate din_examples;

use std::error::Error;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use din::chain::alloy::primitives::{Address, B256, U256, keccak256};
use din::chain::alloy::signers::local::PrivateKeySigner;
use din::chain::anvil::Anvil;
use din::chain::bindings::DinTaskManager;
use din::chain::{DeployConfig, Deployment, DevChain, Din, RpcChain, deploy};
use din::local::{Roster, TaskOptions, TaskPlan, evaluator_stake, summarize};
use din::roles::evaluator::EvaluatorRole;
use din::roles::learning::AccuracyScorer;
use din::roles::owner::OwnerRole;
use din::roles::participant::ParticipantRole;
use din::roles::{GasLog, Role, StateDir, Step};
use din::store::IpfsStore;
use din::store::jsipfs::JsIpfs;

type Res<T> = Result<T, Box<dyn Error>>;

/// Options shared by the orchestrator and the role processes.
#[derive(Debug, Clone)]
struct Args {
    opts: TaskOptions,
    stage_period: u32,
    json: bool,
    keep: Option<PathBuf>,
}

fn parse(args: &mut dyn Iterator<Item = String>) -> Res<(Args, Vec<(String, String)>)> {
    let mut a = Args {
        opts: TaskOptions {
            participants: 8,
            subgroup_size: 4,
            evaluators_per_subgroup: 3,
            rounds: 2,
            local_epochs: 2,
            ..TaskOptions::default()
        },
        stage_period: 10,
        json: false,
        keep: None,
    };
    let mut rest = Vec::new();
    while let Some(flag) = args.next() {
        if flag == "--json" {
            a.json = true;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let o = &mut a.opts;
        match flag.as_str() {
            "--participants" => o.participants = value.parse()?,
            "--subgroup-size" => o.subgroup_size = value.parse()?,
            "--evaluators-per-subgroup" => o.evaluators_per_subgroup = value.parse()?,
            "--rounds" => o.rounds = value.parse()?,
            "--local-epochs" => o.local_epochs = value.parse()?,
            "--seed" => o.seed = value.parse()?,
            "--data" => o.data_dir = Some(value.into()),
            "--stage-period" => a.stage_period = value.parse()?,
            "--keep" => a.keep = Some(value.into()),
            _ => rest.push((flag, value)),
        }
    }
    Ok((a, rest))
}

fn key(role: &str, i: usize) -> Res<PrivateKeySigner> {
    let k: B256 = keccak256(format!("din multiprocess example {role} {i}"));
    Ok(PrivateKeySigner::from_bytes(&k)?)
}

fn main() -> Res<()> {
    let mut argv = std::env::args().skip(1);
    let first = argv.next();
    match first.as_deref() {
        Some("role") => {
            let role = argv
                .next()
                .ok_or("role needs owner|participant|evaluator")?;
            let index: usize = argv.next().ok_or("role needs an index")?.parse()?;
            let (a, rest) = parse(&mut argv)?;
            run_role(&role, index, &a, &rest)
        }
        _ => {
            let mut all = first.into_iter().chain(argv);
            let (a, rest) = parse(&mut all)?;
            if let Some((flag, _)) = rest.first() {
                return Err(
                    format!("unknown flag {flag:?}; see examples/multiprocess/main.rs").into(),
                );
            }
            orchestrate(&a)
        }
    }
}

// ------------------------------------------------------------------ a role process

fn get<'r>(rest: &'r [(String, String)], flag: &str) -> Res<&'r str> {
    rest.iter()
        .find(|(f, _)| f == flag)
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| format!("missing {flag}").into())
}

fn deployment_of(s: &str) -> Res<Deployment> {
    let parts: Vec<&str> = s.split(':').collect();
    let [token, registry, manager, block] = parts.as_slice() else {
        return Err("--deployment is token:registry:manager:block".into());
    };
    Ok(Deployment {
        token: token.parse()?,
        registry: registry.parse()?,
        manager: manager.parse()?,
        block: block.parse()?,
    })
}

/// Steps one role until it is done, polling; errors are logged and retried (another
/// process may not have acted yet), up to a limit. Its gas log is saved after every
/// action (appended to what earlier incarnations of the process logged).
fn drive(name: &str, dir: &StateDir, role: &mut dyn Role) -> Res<()> {
    let mut errors = 0;
    let mut saved: GasLog = dir.load("gas.json")?;
    let base = saved.0.len();
    loop {
        match role.step() {
            Ok(Step::Acted(what)) => {
                println!("{name}: {what}");
                errors = 0;
                saved.0.truncate(base);
                saved.0.extend(role.gas().0.iter().cloned());
                dir.save("gas.json", &saved)?;
            }
            Ok(Step::Waiting { .. }) => std::thread::sleep(Duration::from_millis(300)),
            Ok(Step::Done) => {
                println!("{name}: done");
                return Ok(());
            }
            Err(e) => {
                errors += 1;
                println!("{name}: error (will retry): {e}");
                if errors > 40 {
                    return Err(format!("{name}: giving up after repeated errors: {e}").into());
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

fn run_role(role: &str, index: usize, a: &Args, rest: &[(String, String)]) -> Res<()> {
    let plan = TaskPlan::new(&a.opts)?;
    let chain = RpcChain::connect(get(rest, "--rpc")?)?;
    let me = chain.add_signer(key(role, index)?);
    let deployment = deployment_of(get(rest, "--deployment")?)?;
    let din = Din::new(&chain, deployment);
    let store = IpfsStore::new(get(rest, "--ipfs")?);
    let dir = StateDir::open(get(rest, "--state")?)?;
    let name = format!("{role} {index}");
    let task = || -> Res<u64> { Ok(get(rest, "--task")?.parse()?) };
    let mut r: Box<dyn Role + '_> = match role {
        "owner" => {
            let config = plan.owner_config(deployment.token, a.stage_period);
            let mut o = OwnerRole::new(din, &store, me, dir.clone(), config)?;
            // The orchestrator waits for the task id in `task.json`.
            while o.task().is_none() {
                o.step()?;
            }
            dir.save("task.json", &o.task())?;
            Box::new(o)
        }
        "participant" => Box::new(
            ParticipantRole::new(
                din,
                &store,
                me,
                task()?,
                dir.clone(),
                Box::new(plan.trainer(index)),
            )?
            .with_fault(plan.participant_fault(index)),
        ),
        "evaluator" => {
            let scorer = Box::new(AccuracyScorer::new(plan.arch.clone()));
            Box::new(
                EvaluatorRole::new(
                    din,
                    &store,
                    me,
                    task()?,
                    dir.clone(),
                    evaluator_stake(),
                    scorer,
                )?
                .with_fault(plan.evaluator_fault(index)),
            )
        }
        other => return Err(format!("unknown role {other:?}").into()),
    };
    drive(&name, &dir, r.as_mut())
}

// ------------------------------------------------------------------ the orchestrator

struct Proc {
    name: String,
    args: Vec<String>,
    log: PathBuf,
    child: Child,
}

fn spawn(name: &str, args: &[String], log: &Path) -> Res<Child> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    Ok(Command::new(std::env::current_exe()?)
        .args(args)
        .stdout(Stdio::from(out.try_clone()?))
        .stderr(Stdio::from(out))
        .spawn()
        .map_err(|e| format!("cannot start {name}: {e}"))?)
}

impl Proc {
    fn start(name: String, args: Vec<String>, logs: &Path) -> Res<Self> {
        let log = logs.join(format!("{}.log", name.replace(' ', "-")));
        let child = spawn(&name, &args, &log)?;
        Ok(Self {
            name,
            args,
            log,
            child,
        })
    }

    /// SIGKILL, then a fresh process on the same state directory.
    fn kill_and_restart(&mut self, pause: Duration) -> Res<()> {
        self.child.kill()?;
        self.child.wait()?;
        eprintln!(
            "\n  killed {} (SIGKILL); restarting it in {:?}",
            self.name, pause
        );
        std::thread::sleep(pause);
        self.child = spawn(&self.name, &self.args, &self.log)?;
        Ok(())
    }
}

fn orchestrate(a: &Args) -> Res<()> {
    let started = Instant::now();
    let plan = TaskPlan::new(&a.opts)?;
    let tmp = tempfile::tempdir()?;
    let root = a.keep.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let logs = root.join("logs");
    std::fs::create_dir_all(&logs)?;
    eprintln!(
        "din multiprocess: {} participants, {} evaluators, {} rounds, {} s stages; state and logs in {}",
        a.opts.participants,
        plan.evaluators,
        a.opts.rounds,
        a.stage_period,
        root.display()
    );

    let anvil = Anvil::spawn_with(&["--block-time", "1"])?;
    let ipfs = JsIpfs::spawn()?;
    eprintln!("  anvil at {}, js-ipfs at {}", anvil.url(), ipfs.api());
    let chain = RpcChain::connect(&anvil.url())?;
    let owner = chain.add_signer(key("owner", 0)?);
    let ether = U256::from(10u64).pow(U256::from(20u64));
    chain.set_balance(owner, ether)?;
    let (deployment, _) = deploy(
        &chain,
        owner,
        &DeployConfig::dev(Address::repeat_byte(0x77)),
    )?;
    let din = Din::new(&chain, deployment);
    let participants: Vec<Address> = (0..a.opts.participants)
        .map(|i| Ok(key("participant", i)?.address()))
        .collect::<Res<_>>()?;
    let evaluators: Vec<Address> = (0..plan.evaluators)
        .map(|e| Ok(key("evaluator", e)?.address()))
        .collect::<Res<_>>()?;
    for &p in &participants {
        chain.set_balance(p, ether)?;
    }
    for &e in &evaluators {
        chain.set_balance(e, ether)?;
        din.transfer(owner, e, evaluator_stake())?;
    }

    let common = |role: &str, i: usize, dir: &Path| -> Vec<String> {
        let mut v: Vec<String> = vec!["role".into(), role.into(), i.to_string()];
        let o = &a.opts;
        if let Some(data) = &o.data_dir {
            v.extend(["--data".into(), data.display().to_string()]);
        }
        for (f, x) in [
            ("--participants", o.participants.to_string()),
            ("--subgroup-size", o.subgroup_size.to_string()),
            (
                "--evaluators-per-subgroup",
                o.evaluators_per_subgroup.to_string(),
            ),
            ("--rounds", o.rounds.to_string()),
            ("--local-epochs", o.local_epochs.to_string()),
            ("--seed", o.seed.to_string()),
            ("--stage-period", a.stage_period.to_string()),
            ("--rpc", anvil.url()),
            ("--ipfs", ipfs.api().to_string()),
            (
                "--deployment",
                format!(
                    "{}:{}:{}:{}",
                    deployment.token, deployment.registry, deployment.manager, deployment.block
                ),
            ),
            ("--state", dir.display().to_string()),
        ] {
            v.push(f.into());
            v.push(x);
        }
        v
    };

    // The Owner first: it creates the task.
    let owner_dir = root.join("owner");
    let mut procs = vec![Proc::start(
        "owner 0".into(),
        common("owner", 0, &owner_dir),
        &logs,
    )?];
    let task: u64 = loop {
        if let Some(t) = StateDir::open(&owner_dir)?.load::<Option<u64>>("task.json")? {
            break t;
        }
        let Some(owner_proc) = procs.first_mut() else {
            return Err("no owner process".into());
        };
        if let Some(status) = owner_proc.child.try_wait()? {
            return Err(format!(
                "the owner process exited ({status}); see {}",
                owner_proc.log.display()
            )
            .into());
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    eprintln!("  task {task} created");
    for i in 0..a.opts.participants {
        let mut args = common("participant", i, &root.join(format!("participant-{i}")));
        args.extend(["--task".into(), task.to_string()]);
        procs.push(Proc::start(format!("participant {i}"), args, &logs)?);
    }
    for e in 0..plan.evaluators {
        let mut args = common("evaluator", e, &root.join(format!("evaluator-{e}")));
        args.extend(["--task".into(), task.to_string()]);
        procs.push(Proc::start(format!("evaluator {e}"), args, &logs)?);
    }

    // The kill drill, then wait for every process.
    let p0 = 1usize; // participant 0
    let e0 = 1 + a.opts.participants; // evaluator 0
    let mut killed_participant = false;
    let mut killed_evaluator = false;
    let mut restarts = 0;
    let mut last_status = None;
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        if !killed_participant && root.join("participant-0/round-1.update").exists() {
            // Trained in round 1; its masked update may or may not be on-chain yet.
            if let Some(p) = procs.get_mut(p0) {
                p.kill_and_restart(Duration::from_secs(1))?;
            }
            killed_participant = true;
            restarts += 1;
        }
        if !killed_evaluator {
            let committed = din
                .events::<DinTaskManager::ScoresCommitted>()?
                .iter()
                .any(|ev| ev.taskId == task && evaluators.first() == Some(&ev.evaluator));
            if committed {
                // Between its score commitment and its reveal.
                if let Some(p) = procs.get_mut(e0) {
                    p.kill_and_restart(Duration::from_secs(1))?;
                }
                killed_evaluator = true;
                restarts += 1;
            }
        }
        let mut running = 0;
        for p in &mut procs {
            match p.child.try_wait()? {
                None => running += 1,
                Some(s) if !s.success() => {
                    return Err(format!("{} failed ({s}); see {}", p.name, p.log.display()).into());
                }
                Some(_) => {}
            }
        }
        let st = din.round_state(task)?;
        let status = (st.phase, st.round, running);
        if last_status != Some(status) {
            // A live line on a terminal, one line per change in logs.
            let line = format!(
                "  phase {} round {}/{}: {running} role processes running",
                st.phase, st.round, a.opts.rounds
            );
            if std::io::stderr().is_terminal() {
                eprint!("\r{line}   ");
            } else {
                eprintln!("{line}");
            }
            last_status = Some(status);
        }
        if running == 0 {
            break;
        }
        if Instant::now() > deadline {
            return Err("the task did not finish within 15 minutes".into());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!();

    // Verify round 1 with the stand-alone command, as a user would.
    let verify = Command::new(std::env::current_exe()?.with_file_name("verify"))
        .args(["--rpc", &anvil.url(), "--ipfs", ipfs.api(), "--manager"])
        .arg(deployment.manager.to_string())
        .args([
            "--block",
            &deployment.block.to_string(),
            "--task",
            &task.to_string(),
            "--round",
            "1",
        ])
        .output();
    match verify {
        Ok(out) => eprintln!(
            "  examples/verify on round 1: {}",
            String::from_utf8_lossy(&out.stdout).trim()
        ),
        Err(e) => eprintln!("  (examples/verify not built: {e})"),
    }

    let mut gas = Vec::new();
    gas.push((
        "owner",
        StateDir::open(&owner_dir)?.load::<GasLog>("gas.json")?,
    ));
    for i in 0..a.opts.participants {
        gas.push((
            "participants",
            StateDir::open(root.join(format!("participant-{i}")))?.load("gas.json")?,
        ));
    }
    for e in 0..plan.evaluators {
        gas.push((
            "evaluators",
            StateDir::open(root.join(format!("evaluator-{e}")))?.load("gas.json")?,
        ));
    }
    let store = IpfsStore::new(ipfs.api());
    let who = Roster {
        participants,
        evaluators,
    };
    let s = summarize(&din, &store, task, &plan, &who, &gas, restarts, started)?;
    println!(
        "accuracy per round {:?}; verified rounds {:?}; accounting exact {}; restarts {}",
        s.accuracy_per_round, s.verified_rounds, s.accounting_exact, s.restarts
    );
    if a.json {
        println!("{}", serde_json::to_string(&s)?);
    }
    if !s.accounting_exact || s.verified_rounds.len() != usize::from(a.opts.rounds) {
        return Err("the task did not verify or account exactly".into());
    }
    Ok(())
}
