"""A whole task from Python: din.run_task returns the quickstart's summary."""

import pytest

import din


def test_run_task_returns_the_summary_with_faults():
    # No data_dir: the MNIST split compiled into the package.
    seen = []
    s = din.run_task(
        participants=12,
        subgroup_size=6,
        evaluators_per_subgroup=5,
        rounds=2,
        local_epochs=2,
        drop=1,
        lying_evaluators=1,
        garbage_updates=1,
        progress=seen.append,
    )
    assert seen and {"round", "rounds", "trained_steps", "total_steps", "last"} <= set(seen[-1])
    for key in [
        "final_accuracy", "rounds", "participants", "evaluators", "deposit_wei",
        "paid_participants_wei", "paid_evaluators_wei", "refundable_wei",
        "slashed_evaluators", "zero_reward_participants", "gas", "wall_seconds",
    ]:
        assert key in s, key
    assert s["rounds"] == 2 and s["participants"] == 12 and s["evaluators"] == 10
    assert s["verified_rounds"] == [1, 2]
    assert int(s["deposit_wei"]) == (
        int(s["paid_participants_wei"]) + int(s["paid_evaluators_wei"]) + int(s["refundable_wei"])
    )
    assert s["final_accuracy"] > 0.8
    assert len(s["slashed_evaluators"]) == 1
    faulty = [p["index"] for p in s["participant_outcomes"] if p["kind"] != "honest"]
    assert len(faulty) == 2 and set(faulty) <= set(s["zero_reward_participants"])
    assert s["gas"]["submit_update"] > 21_000


def test_run_task_bad_options_raise_din_errors(data_dir):
    with pytest.raises(din.InvalidInputError, match="subgroups"):
        din.run_task(participants=5, subgroup_size=10, data_dir=str(data_dir))
    with pytest.raises(din.InvalidInputError):
        din.run_task(rounds=0, data_dir=str(data_dir))
    with pytest.raises(din.DinError):
        din.run_task(participants=6, subgroup_size=3, data_dir="/nonexistent")
    with pytest.raises(din.InvalidInputError):
        din.run_task(model="transformer", data_dir=str(data_dir))
