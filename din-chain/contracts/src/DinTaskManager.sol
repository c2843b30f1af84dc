// SPDX-License-Identifier: Apache-2.0 OR MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {DinAssignment} from "./DinAssignment.sol";
import {DinTaskBase} from "./DinTaskBase.sol";
import {DinTaskScoring} from "./DinTaskScoring.sol";
import {EvaluatorRegistry} from "./EvaluatorRegistry.sol";

/// @title DIN task manager
/// @notice The "intelligence" contract of the DIN paper (§3.3, §3.4, §5.1, §5.2, §8.1): it
/// holds every task's deposit, registers participants and evaluators, draws each round's
/// assignment seed from a future block, records update and secure-aggregation message CIDs
/// with deadlines, accepts a subgroup aggregate when more than half of its evaluators agree
/// (slashing dissenters), records global models, runs score commit/reveal with BlockFlow
/// median scoring checked on-chain, and settles the deposit to the wei with pull claims.
///
/// A round's timeline, `P` = the task's `stagePeriod`, `t0` = when its seed was drawn:
/// - `[t0, t0+P)` advertise keys, `[t0, t0+2P)` share keys, `[t0, t0+3P)` masked updates;
/// - `[t0+3P, t0+4P)` unmasking shares; `[t0+4P, t0+5P)` evaluators submit aggregates;
/// - from `t0+5P` anyone finalizes subgroups; the owner publishes the global model before `t0+6P`.
/// Scoring, `s0` = when the test set was released: commits in `[s0, s0+P)`, reveals in
/// `[s0+P, s0+2P)`, then anyone finalizes each subgroup's medians and settles.
///
/// Defined outcomes: a subgroup whose aggregate votes have no strict majority is `Failed`
/// (its updates are left out of the round, nobody is slashed); evaluators who voted
/// against an accepted majority are slashed; an owner who misses a deadline lets anyone
/// abandon the task, after which the pools are split equally among participants who
/// submitted an update and evaluators who voted honestly, and the rest is refundable.
///
/// This contract holds the state and the training half; the scoring and settlement half
/// is `DinTaskScoring`, reached through `fallback` by delegatecall (one address, one
/// storage, one set of events for clients).
contract DinTaskManager is DinTaskBase {
    using SafeERC20 for IERC20;

    /// The scoring and settlement half (immutable: no upgrades, no admin).
    DinTaskScoring public immutable scoring;

    /// @param registry_ the evaluator registry, whose `taskManager` must become this contract
    /// @param scoring_ the scoring and settlement half, deployed with the same registry
    constructor(EvaluatorRegistry registry_, DinTaskScoring scoring_) DinTaskBase(registry_) {
        if (address(scoring_) == address(0) || scoring_.registry() != registry_) revert InvalidParameter(Param.Registry);
        scoring = scoring_;
    }

    /// Every function this contract does not define (the sealed test set, scoring,
    /// settlement and claims) runs in `scoring` on this contract's storage.
    fallback() external {
        address impl = address(scoring);
        assembly ("memory-safe") {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), impl, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    // ---------------------------------------------------------------- task setup

    /// Creates a task, pulling `p.deposit` of `p.token` from the caller (needs an allowance).
    /// @return taskId the new task's id
    function createTask(TaskParams calldata p, bytes calldata genesisModel) external nonReentrant returns (uint64 taskId) {
        _checkCid(genesisModel);
        if (address(p.token) == address(0)) revert InvalidParameter(Param.Token);
        if (p.deposit == 0) revert InvalidParameter(Param.Deposit);
        if (p.evaluatorFeeBps > BPS) revert InvalidParameter(Param.EvaluatorFeeBps);
        if (p.rounds == 0 || p.rounds == SCORING) revert InvalidParameter(Param.Rounds);
        if (p.subgroupSize < 2 || p.subgroupSize > MAX_SUBGROUP_SIZE) revert InvalidParameter(Param.SubgroupSize);
        if (p.evaluatorsPerSubgroup == 0 || p.evaluatorsPerSubgroup > MAX_EVALUATORS_PER_SUBGROUP) {
            revert InvalidParameter(Param.EvaluatorsPerSubgroup);
        }
        if (p.maxEvaluators < p.evaluatorsPerSubgroup || p.maxEvaluators > MAX_EVALUATORS) {
            revert InvalidParameter(Param.MaxEvaluators);
        }
        if (p.neighbours == 0 || p.neighbours >= p.subgroupSize) revert InvalidParameter(Param.Neighbours);
        if (p.threshold * 2 <= p.neighbours || p.threshold > p.neighbours) revert InvalidParameter(Param.Threshold);
        if (p.stagePeriod == 0 || p.stagePeriod > MAX_STAGE_PERIOD) revert InvalidParameter(Param.StagePeriod);
        if (p.registrationEnd <= block.timestamp || p.registrationEnd > block.timestamp + MAX_REGISTRATION) {
            revert InvalidParameter(Param.RegistrationEnd);
        }
        if (p.clipMilli == 0) revert InvalidParameter(Param.ClipMilli);
        if (p.scaleBits > MAX_SCALE_BITS) revert InvalidParameter(Param.ScaleBits);
        if (p.maxWeight == 0) revert InvalidParameter(Param.MaxWeight);
        // The largest subgroup (2 * subgroupSize - 1 members) must sum without wrapping
        // 64-bit words: 2 * members * maxWeight * ceil(clip * 2^scaleBits) < 2^64.
        uint256 q = ((uint256(p.clipMilli) << p.scaleBits) + 999) / 1000;
        if (2 * (2 * uint256(p.subgroupSize) - 1) * p.maxWeight * q >= 1 << 64) revert InvalidParameter(Param.FixedPoint);
        if (p.testSet == bytes32(0)) revert InvalidParameter(Param.TestSet);

        taskId = ++taskCount;
        Task storage t = tasks[taskId];
        t.owner = msg.sender;
        t.rounds = p.rounds;
        t.subgroupSize = p.subgroupSize;
        t.neighbours = p.neighbours;
        t.threshold = p.threshold;
        t.evaluatorFeeBps = p.evaluatorFeeBps;
        t.token = p.token;
        t.registrationEnd = p.registrationEnd;
        t.deposit = p.deposit;
        t.gate = p.gate;
        t.bounds = InputBounds({clipMilli: p.clipMilli, scaleBits: p.scaleBits, maxWeight: p.maxWeight});
        t.testSet = p.testSet;
        t.maxEvaluators = p.maxEvaluators;
        RoundState storage s = states[taskId];
        s.phase = Phase.Registration;
        s.stagePeriod = p.stagePeriod;
        s.evaluatorsPerSubgroup = p.evaluatorsPerSubgroup;
        models[_key(taskId, 0, 0, 0)] = genesisModel;

        uint256 before = p.token.balanceOf(address(this));
        p.token.safeTransferFrom(msg.sender, address(this), p.deposit);
        // Fee-on-transfer tokens would break exact accounting: refuse them.
        if (p.token.balanceOf(address(this)) - before != p.deposit) revert InvalidParameter(Param.Token);
        emit TaskCreated(taskId, msg.sender, p.deposit, genesisModel);
    }

    /// Opts the caller in as a participant; `proof` goes to the task's gate, if any.
    function register(uint64 taskId, bytes calldata proof) external {
        RoundState memory s = _state(taskId, Phase.Registration);
        Task storage t = tasks[taskId];
        if (block.timestamp >= t.registrationEnd) revert RegistrationClosed(taskId);
        Participant storage p = participants[taskId][msg.sender];
        if (p.index1 != 0 || evaluators[taskId][msg.sender].index1 != 0) revert AlreadyRegistered(taskId, msg.sender);
        if (address(t.gate) != address(0) && !t.gate.isAllowed(taskId, msg.sender, proof)) {
            revert NotAllowed(taskId, msg.sender);
        }
        if (s.numParticipants == MAX_PARTICIPANTS) revert RegistrationClosed(taskId);
        // More participants than the task's evaluators can cover would make
        // `startTraining` impossible: registrations past that point are closed.
        if ((uint256(s.numParticipants) + 1) / t.subgroupSize * s.evaluatorsPerSubgroup > t.maxEvaluators) {
            revert RegistrationClosed(taskId);
        }
        uint32 index = s.numParticipants;
        p.index1 = index + 1;
        states[taskId].numParticipants = index + 1;
        participantList[taskId].push(msg.sender);
        emit ParticipantRegistered(taskId, msg.sender, index);
    }

    /// Joins the caller as an evaluator: its registry stake is locked until settlement.
    function joinAsEvaluator(uint64 taskId) external {
        RoundState memory s = _state(taskId, Phase.Registration);
        if (block.timestamp >= tasks[taskId].registrationEnd) revert RegistrationClosed(taskId);
        Evaluator storage e = evaluators[taskId][msg.sender];
        if (e.index1 != 0 || participants[taskId][msg.sender].index1 != 0) revert AlreadyRegistered(taskId, msg.sender);
        if (s.numEvaluators == tasks[taskId].maxEvaluators) revert RegistrationClosed(taskId);
        registry.lock(msg.sender, taskId);
        lastVote[taskId][msg.sender] = bytes32(uint256(1)); // the vote slot, reused every round
        uint32 index = s.numEvaluators;
        e.index1 = index + 1;
        states[taskId].numEvaluators = index + 1;
        evaluatorList[taskId].push(msg.sender);
        emit EvaluatorJoined(taskId, msg.sender, index);
    }

    /// Owner: closes registration, fixes the subgroups and schedules round 1's seed.
    function startTraining(uint64 taskId) external {
        RoundState memory s = _state(taskId, Phase.Registration);
        Task storage t = _onlyOwner(taskId);
        uint32 g = s.numParticipants / t.subgroupSize;
        uint32 needed = g * s.evaluatorsPerSubgroup;
        if (g == 0 || s.numEvaluators < needed) {
            revert NotEnoughMembers(s.numParticipants, s.numEvaluators, t.subgroupSize, needed);
        }
        RoundState storage st = states[taskId];
        st.numSubgroups = g;
        st.phase = Phase.Training;
        st.round = 1;
        for (uint256 w = 0; w * 240 < s.numEvaluators; ++w) {
            voteBits[_key(taskId, 0, 0, w)] = uint256(SCORING) << 240; // "no round yet"
        }
        _scheduleSeed(taskId, t, 1);
    }

    /// Owner: cancels a task still in registration; the whole deposit becomes refundable.
    function cancel(uint64 taskId) external {
        _state(taskId, Phase.Registration);
        _onlyOwner(taskId);
        _abandon(taskId, Phase.Registration);
    }

    function _scheduleSeed(uint64 taskId, Task storage t, uint16 round) internal {
        uint64 at = uint64(block.number) + SEED_DELAY;
        t.seedBlock = at;
        emit SeedScheduled(taskId, round, at);
    }

    /// Anyone: draws the current round's seed from the scheduled block's hash, fixed
    /// after registration closed and unknown when it was scheduled. There is no reroll:
    /// once that block is older than 256 blocks its hash is gone and the draw reverts
    /// (`SeedExpired`); the task can then be abandoned. What bias remains: the proposer
    /// of the scheduled block can withhold it (forgoing its reward) to choose between two
    /// hashes; on a rollup the sequencer picks the hash outright (issue #14).
    function drawSeed(uint64 taskId) external {
        RoundState memory s = _state(taskId, Phase.Training);
        if (s.roundStart != 0) revert SeedAlreadyDrawn(taskId, s.round);
        Task storage t = tasks[taskId];
        uint64 at = t.seedBlock;
        if (block.number <= at) revert SeedBlockNotReached(at, block.number);
        bytes32 h = blockhash(at);
        if (h == bytes32(0)) revert SeedExpired(taskId, s.round);
        bytes32 seed = keccak256(abi.encodePacked(h, taskId, s.round));
        participantSeeds[taskId] = DinAssignment.participantSeed(seed);
        evaluatorSeeds[taskId] = DinAssignment.evaluatorSeed(seed);
        states[taskId].roundStart = uint64(block.timestamp);
        emit SeedDrawn(taskId, s.round, seed);
    }

    // ---------------------------------------------------------------- rounds

    /// Participant: records a secure-aggregation message of the current round by CID.
    /// Stage 2 is the masked update itself (see `submitUpdate`).
    function submitMessage(uint64 taskId, uint16 round, uint8 stage, bytes calldata cid) public {
        _checkCid(cid);
        RoundState memory s = _state(taskId, Phase.Training);
        if (round != s.round) revert WrongRound(s.round, round);
        if (s.roundStart == 0) revert SeedNotDrawn(taskId, round);
        if (stage > STAGE_UNMASK) revert InvalidStage(stage);
        uint256 p = s.stagePeriod;
        if (stage == STAGE_UNMASK) _window(s.roundStart + 3 * p, s.roundStart + 4 * p);
        else _window(s.roundStart, s.roundStart + (uint256(stage) + 1) * p);
        Participant storage rec = participants[taskId][msg.sender];
        Participant memory m = rec;
        if (m.index1 == 0) revert NotParticipant(taskId, msg.sender);
        uint8 stages = m.round == round ? m.stages : 0;
        uint8 bit = uint8(1) << stage;
        if (stages & bit != 0) revert AlreadySubmitted(taskId, round, msg.sender);
        rec.round = round;
        rec.stages = stages | bit;
        if (stage == STAGE_MASKED_INPUT && !m.updated) {
            Task storage t = tasks[taskId];
            rec.updated = true;
            rec.rank = t.updaters;
            t.updaters = t.updaters + 1;
        }
        emit Message(taskId, round, msg.sender, stage, cid);
    }

    /// Participant: records its masked model update of the current round by CID.
    function submitUpdate(uint64 taskId, uint16 round, bytes calldata cid) external {
        submitMessage(taskId, round, STAGE_MASKED_INPUT, cid);
    }

    /// Participant: after the last round, publishes its contribution (its last local
    /// model, sealed to its Evaluators) by CID, before the test set is released.
    function submitContribution(uint64 taskId, bytes calldata cid) external {
        _checkCid(cid);
        _state(taskId, Phase.AwaitingTestSet);
        Participant storage rec = participants[taskId][msg.sender];
        if (rec.index1 == 0) revert NotParticipant(taskId, msg.sender);
        if (rec.contributed) revert AlreadySubmitted(taskId, SCORING, msg.sender);
        // A copy of another participant's contribution would take its score.
        bytes32 ck = keccak256(abi.encodePacked(taskId, cid));
        if (contributionCids[ck]) revert DuplicateContribution(taskId, keccak256(cid));
        contributionCids[ck] = true;
        rec.contributed = true;
        emit Message(taskId, SCORING, msg.sender, 4, cid);
    }

    /// Evaluator: submits its aggregate of `subgroup` for the current round, by CID, or
    /// with an empty `cid` rejects the subgroup's unmasked sum as outside the task's bounds
    /// (total weight above survivors × `maxWeight`, or a coordinate beyond what clipped
    /// inputs can sum to). The rejection's vote is `REJECTED`; a strict majority of them
    /// leaves the subgroup out of the round (`STATUS_REJECTED`).
    function submitAggregate(uint64 taskId, uint16 round, uint32 subgroup, bytes calldata cid) external {
        if (cid.length != 0) _checkCid(cid);
        RoundState memory s = _state(taskId, Phase.Training);
        if (round != s.round) revert WrongRound(s.round, round);
        if (s.roundStart == 0) revert SeedNotDrawn(taskId, round);
        _window(s.roundStart + 4 * uint256(s.stagePeriod), s.roundStart + 5 * uint256(s.stagePeriod));
        uint256 q = _evaluatorPosition(taskId, s, subgroup);
        // One bit per evaluator position marks the vote (in words reused every round); the
        // vote itself goes in the evaluator's own slot, created when it joined.
        uint256 bk = _key(taskId, 0, 0, q / 240);
        uint256 word = voteBits[bk];
        if (word >> 240 != round) word = uint256(round) << 240;
        uint256 bit = uint256(1) << (q % 240);
        if (word & bit != 0) revert AlreadySubmitted(taskId, round, msg.sender);
        voteBits[bk] = word | bit;
        lastVote[taskId][msg.sender] = _aggregateVote(round, subgroup, q % s.evaluatorsPerSubgroup, keccak256(cid));

        emit AggregateSubmitted(taskId, round, msg.sender, subgroup, cid);
    }

    /// Anyone, once the aggregate window closed: settles `subgroup`'s round by majority.
    /// `voters[i]` and `cidHashes[i]` must repeat slot `i`'s vote (zero address for no vote), as
    /// read from `AggregateSubmitted` events; they are checked against storage.
    /// A hash with more than half of the subgroup's evaluators is accepted and those who
    /// voted otherwise are slashed; without such a hash the subgroup fails this round. A
    /// majority for `REJECTED` rejects the subgroup (left out of the round; dissenters,
    /// who vouched for an out-of-bounds sum, are slashed).
    function finalizeSubgroup(
        uint64 taskId,
        uint32 subgroup,
        address[] calldata voters,
        bytes32[] calldata cidHashes
    ) external {
        RoundState memory s = _state(taskId, Phase.Training);
        if (s.roundStart == 0) revert SeedNotDrawn(taskId, s.round);
        uint256 opens = s.roundStart + 5 * uint256(s.stagePeriod);
        if (block.timestamp < opens) revert TooEarly(opens, block.timestamp);
        if (subgroup >= s.numSubgroups) revert InvalidSubgroup(subgroup, s.numSubgroups);
        uint256 rk = _key(taskId, s.round, subgroup, 0);
        if (results[rk].status != 0) revert AlreadyFinalized(taskId, subgroup);
        uint256 per = s.evaluatorsPerSubgroup;
        if (voters.length != per || cidHashes.length != per) revert InvalidParameter(Param.Hints);
        for (uint256 i = 0; i < per; ++i) {
            uint256 q = uint256(subgroup) * per + i;
            uint256 word = voteBits[_key(taskId, 0, 0, q / 240)];
            bool voted = word >> 240 == s.round && (word >> (q % 240)) & 1 == 1;
            if (voted != (voters[i] != address(0))) revert BadHint(i);
            if (voted && lastVote[taskId][voters[i]] != _aggregateVote(s.round, subgroup, i, cidHashes[i])) {
                revert BadHint(i);
            }
        }
        bytes32 winner;
        for (uint256 i = 0; i < per; ++i) {
            if (voters[i] == address(0)) continue;
            uint256 count = 0;
            for (uint256 j = 0; j < per; ++j) {
                if (voters[j] != address(0) && cidHashes[j] == cidHashes[i]) ++count;
            }
            if (count * 2 > per) {
                winner = cidHashes[i];
                break;
            }
        }
        uint8 status = winner == bytes32(0) ? STATUS_FAILED : winner == REJECTED ? STATUS_REJECTED : 1;
        results[rk] = SubgroupResult({accepted: winner, status: status});
        states[taskId].finalized = s.finalized + 1;
        if (winner != bytes32(0)) {
            for (uint256 i = 0; i < per; ++i) {
                if (voters[i] != address(0) && cidHashes[i] != winner) _slash(taskId, voters[i]);
            }
        }
        // Voters of the accepted (or rejecting) majority earn this round's share of the
        // evaluator pool (a no-show, or a vote in a failed subgroup, does not), and count
        // for an abandoned task's; kept here rather than in `submitAggregate`, whose gas
        // is what evaluators pay.
        for (uint256 i = 0; i < per; ++i) {
            if (voters[i] == address(0) || winner == bytes32(0) || cidHashes[i] != winner) continue;
            Evaluator storage e = evaluators[taskId][voters[i]];
            if (e.slashed) continue;
            e.votes += 1;
            if (!e.voted) {
                e.voted = true;
                tasks[taskId].honestVoters += 1;
            }
        }
        emit SubgroupFinalized(taskId, s.round, subgroup, status == 1, winner);
    }

    /// Owner: publishes the round's global model (the sample-weighted mean of the accepted
    /// subgroup aggregates) once every subgroup is finalized, and opens the next round;
    /// after the last round the task waits for the test set.
    function publishModel(uint64 taskId, uint16 round, bytes calldata cid) external {
        _checkCid(cid);
        RoundState memory s = _state(taskId, Phase.Training);
        Task storage t = _onlyOwner(taskId);
        if (round != s.round) revert WrongRound(s.round, round);
        if (s.roundStart == 0) revert SeedNotDrawn(taskId, round);
        if (s.finalized != s.numSubgroups) revert SubgroupsPending(s.finalized, s.numSubgroups);
        uint256 closes = s.roundStart + 6 * uint256(s.stagePeriod);
        if (block.timestamp >= closes) revert TooLate(closes, block.timestamp);
        models[_key(taskId, round, 0, 0)] = cid;
        emit ModelPublished(taskId, round, cid);
        RoundState storage st = states[taskId];
        if (round < t.rounds) {
            st.round = round + 1;
            st.roundStart = 0;
            st.finalized = 0;
            _scheduleSeed(taskId, t, round + 1);
        } else {
            st.phase = Phase.AwaitingTestSet;
            t.scoringStart = uint64(block.timestamp);
        }
    }

    // ---------------------------------------------------------------- views

    /// The hot state of a task (phase, round, sizes, round start).
    function roundState(uint64 taskId) external view returns (RoundState memory) {
        return states[taskId];
    }

    /// The rest of a task's record.
    function task(uint64 taskId) external view returns (Task memory) {
        return tasks[taskId];
    }

    /// The derived participant and evaluator seeds of the current round.
    function seeds(uint64 taskId) external view returns (bytes32 participantSeed, bytes32 evaluatorSeed) {
        return (participantSeeds[taskId], evaluatorSeeds[taskId]);
    }

    /// The global model CID of `round` (round 0: the genesis model).
    function model(uint64 taskId, uint16 round) external view returns (bytes memory) {
        return models[_key(taskId, round, 0, 0)];
    }

    /// A subgroup's outcome in a round (`round` = 65535: its scoring).
    function subgroupResult(uint64 taskId, uint16 round, uint32 subgroup) external view returns (SubgroupResult memory) {
        return results[_key(taskId, round, subgroup, 0)];
    }

    /// Registered participants, in registration order (index = position in this list).
    function participantsOf(uint64 taskId) external view returns (address[] memory) {
        return participantList[taskId];
    }

    /// Joined evaluators, in joining order.
    function evaluatorsOf(uint64 taskId) external view returns (address[] memory) {
        return evaluatorList[taskId];
    }
}
