// SPDX-License-Identifier: Apache-2.0 OR MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {DinAssignment} from "./DinAssignment.sol";
import {EvaluatorRegistry} from "./EvaluatorRegistry.sol";
import {IParticipantGate} from "./IParticipantGate.sol";

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
contract DinTaskManager is ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// Fixed-point one of scores (din-core `Score`): scores are in `[0, SCORE_ONE]`.
    uint32 internal constant SCORE_ONE = 1 << 20;
    /// Blocks between scheduling a seed and the block whose hash it uses.
    uint64 internal constant SEED_DELAY = 1;
    /// Basis points denominator of the evaluator fee share.
    uint256 internal constant BPS = 10_000;
    /// Secure-aggregation stages (din-core `secagg::Stage`), in order.
    uint8 internal constant STAGE_ADVERTISE_KEYS = 0;
    /// Encrypted key shares for neighbours.
    uint8 internal constant STAGE_SHARE_KEYS = 1;
    /// The masked update itself.
    uint8 internal constant STAGE_MASKED_INPUT = 2;
    /// Unmasking shares.
    uint8 internal constant STAGE_UNMASK = 3;
    /// Subgroup status: no aggregate has a strict majority; left out of the round.
    uint8 internal constant STATUS_FAILED = 2;
    /// Subgroup status: a strict majority found the unmasked sum outside the task's bounds
    /// (`rejectAggregate`); left out of the round.
    uint8 internal constant STATUS_REJECTED = 3;
    /// The vote of an Evaluator that rejects a subgroup's sum: `keccak256` of the empty
    /// CID its `AggregateSubmitted` event carries.
    bytes32 internal constant REJECTED = keccak256("");
    /// Largest `scaleBits` (din-core `MAX_SCALE_BITS`).
    uint8 internal constant MAX_SCALE_BITS = 40;
    /// Round number used in keys for the scoring phase.
    uint16 internal constant SCORING = type(uint16).max;

    /// A task's lifecycle.
    enum Phase {
        None,
        Registration,
        Training,
        AwaitingTestSet,
        Scoring,
        Settled,
        Abandoned
    }

    /// The parameter an `InvalidParameter` error names (a code, not a string, to keep the
    /// contract under EIP-170's size limit): task parameters, then call arguments.
    enum Param {
        Token,
        Deposit,
        EvaluatorFeeBps,
        Rounds,
        SubgroupSize,
        EvaluatorsPerSubgroup,
        Neighbours,
        Threshold,
        StagePeriod,
        RegistrationEnd,
        ClipMilli,
        ScaleBits,
        MaxWeight,
        FixedPoint,
        TestSet,
        Hints,
        Commitment,
        Slot,
        Registry
    }

    /// What the owner chooses when creating a task. `clipMilli`, `scaleBits` and
    /// `maxWeight` bound every Participant's input (din-core `FixedPoint`: values clipped
    /// to `±clipMilli / 1000`, at `2^-scaleBits` precision, weight at most `maxWeight`);
    /// Evaluators reject a subgroup sum outside them (`rejectAggregate`). `testSet` is
    /// `keccak256` of the sealed test set's CID: the release must match it.
    struct TaskParams {
        IERC20 token;
        uint128 deposit;
        uint16 evaluatorFeeBps;
        uint16 rounds;
        uint16 subgroupSize;
        uint8 evaluatorsPerSubgroup;
        uint16 neighbours;
        uint16 threshold;
        uint32 stagePeriod;
        uint64 registrationEnd;
        IParticipantGate gate;
        uint32 clipMilli;
        uint8 scaleBits;
        uint32 maxWeight;
        bytes32 testSet;
    }

    /// The hot state of a task, read by every round operation: one storage slot.
    struct RoundState {
        uint64 roundStart; // 0 until the round's seed is drawn
        uint32 stagePeriod;
        uint32 numParticipants;
        uint32 numEvaluators;
        uint32 numSubgroups;
        uint16 round;
        Phase phase;
        uint8 evaluatorsPerSubgroup;
        uint32 finalized; // subgroups finalized this round (or scored, in Scoring)
    }

    /// The rest of a task.
    struct Task {
        address owner;
        uint16 rounds;
        uint16 subgroupSize;
        uint16 neighbours;
        uint16 threshold;
        uint16 evaluatorFeeBps;
        bool abandoned;
        bool refundClaimed;
        IERC20 token;
        uint64 registrationEnd;
        uint128 deposit;
        uint64 seedBlock;
        IParticipantGate gate;
        uint64 scoringStart;
        uint32 updaters; // participants who submitted at least one update
        uint128 refundable;
        uint64 sumParticipantWeights;
        uint64 sumEvaluatorWeights;
        uint32 clipMilli;
        uint8 scaleBits;
        uint32 maxWeight;
        bytes32 testSet;
    }

    /// A participant of a task: one storage slot.
    struct Participant {
        uint32 index1; // index + 1; 0 = not registered
        uint16 round; // round of `stages`
        uint8 stages; // bit s: stage s submitted in `round`
        bool updated; // submitted at least one masked update
        uint32 score; // median score (m_k), set when its subgroup is scored
        bool claimed;
        uint32 rank; // order among participants who submitted an update (abandoned tasks)
        uint64 before; // sum of the medians recorded before this one (scored tasks)
        bool contributed; // published its sealed contribution for scoring
    }

    /// An evaluator of a task: one storage slot.
    struct Evaluator {
        uint32 index1; // index + 1; 0 = not joined
        bool voted; // submitted at least one aggregate
        bool slashed;
        bool claimed;
        uint32 quality; // d_e, set when its subgroup is scored
        bool released; // stake unlocked after settlement
    }

    /// A subgroup's outcome in a round.
    struct SubgroupResult {
        bytes32 accepted; // keccak256 of the accepted aggregate CID (`REJECTED` when rejected)
        uint8 status; // 0 open, 1 accepted, 2 failed, 3 rejected (sum out of the task's bounds)
    }

    /// Score commitments of the scoring phase.
    struct ScoreSlot {
        address evaluator;
        bool revealed;
        bytes32 commitment;
    }

    /// The evaluator registry (stakes and slashing).
    EvaluatorRegistry public immutable registry;
    /// Number of tasks created; task ids are `1..=taskCount`.
    uint64 public taskCount;

    mapping(uint64 => Task) internal tasks;
    mapping(uint64 => RoundState) internal states;
    mapping(uint64 => bytes32) internal participantSeeds;
    mapping(uint64 => bytes32) internal evaluatorSeeds;
    mapping(uint64 => mapping(address => Participant)) internal participants;
    mapping(uint64 => mapping(address => Evaluator)) internal evaluators;
    mapping(uint64 => address[]) internal participantList;
    mapping(uint64 => address[]) internal evaluatorList;
    mapping(uint256 => bytes) internal models; // key(task, round, 0, 0) => global model CID
    mapping(uint64 => mapping(address => bytes32)) internal lastVote; // keccak(round, subgroup, slot, cidHash)
    // key(task, 0, 0, q / 240) => round << 240 | bit (q % 240) set when position q voted in that
    // round; the words are created at startTraining and reused every round.
    mapping(uint256 => uint256) internal voteBits;
    mapping(uint256 => SubgroupResult) internal results; // key(task, round, subgroup, 0)
    mapping(uint256 => ScoreSlot) internal scoreSlots; // key(task, SCORING, subgroup, slot)
    mapping(uint256 => uint256) internal scoreWords; // key(task, SCORING, subgroup, slot) * 2^16 + word
    mapping(bytes32 => bool) internal contributionCids; // keccak(task, cid) of recorded contributions

    // ---------------------------------------------------------------- errors

    /// The task does not exist.
    error UnknownTask(uint64 taskId);
    /// The operation needs another phase.
    error WrongPhase(uint64 taskId, Phase expected, Phase actual);
    /// Only the task's owner may do this.
    error NotOwner(uint64 taskId, address caller);
    /// A parameter is out of range; `name` says which.
    error InvalidParameter(Param name);
    /// A CID is not a CIDv1 (raw or dag-pb) with a sha2-256 multihash.
    error InvalidCid();
    /// Registration is closed.
    error RegistrationClosed(uint64 taskId);
    /// The account is already registered in this task (as participant or evaluator).
    error AlreadyRegistered(uint64 taskId, address account);
    /// The participant gate refused the account.
    error NotAllowed(uint64 taskId, address account);
    /// The caller is not a participant of the task.
    error NotParticipant(uint64 taskId, address account);
    /// The caller is not an evaluator of the task.
    error NotEvaluator(uint64 taskId, address account);
    /// Not enough participants or evaluators to start.
    error NotEnoughMembers(uint32 participants, uint32 evaluators, uint32 neededParticipants, uint32 neededEvaluators);
    /// The message names another round than the current one.
    error WrongRound(uint16 expected, uint16 got);
    /// The round's seed is not drawn yet.
    error SeedNotDrawn(uint64 taskId, uint16 round);
    /// The round's seed is already drawn.
    error SeedAlreadyDrawn(uint64 taskId, uint16 round);
    /// The seed block is not mined yet.
    error SeedBlockNotReached(uint64 seedBlock, uint256 blockNumber);
    /// No such secure-aggregation stage.
    error InvalidStage(uint8 stage);
    /// The window for this action has not opened yet.
    error TooEarly(uint256 opens, uint256 nowTs);
    /// The window for this action has closed.
    error TooLate(uint256 closed, uint256 nowTs);
    /// This message was already submitted.
    error AlreadySubmitted(uint64 taskId, uint16 round, address account);
    /// The evaluator is not assigned to this subgroup.
    error NotAssigned(uint64 taskId, uint32 subgroup, address evaluator);
    /// The evaluator was slashed in this task.
    error EvaluatorSlashed(uint64 taskId, address evaluator);
    /// No such subgroup in this task.
    error InvalidSubgroup(uint32 subgroup, uint32 numSubgroups);
    /// The subgroup was already finalized (or scored).
    error AlreadyFinalized(uint64 taskId, uint32 subgroup);
    /// Not every subgroup of the round is finalized.
    error SubgroupsPending(uint32 finalized, uint32 numSubgroups);
    /// A finalization hint does not match what was recorded.
    error BadHint(uint256 index);
    /// A revealed score vector does not open the commitment.
    error CommitmentMismatch(uint64 taskId, address evaluator);
    /// A score is above `SCORE_ONE`, or the vector has the wrong length.
    error InvalidScores(uint256 index);
    /// A proposed median is not the lower median of the revealed scores.
    error NotMedian(uint256 position, uint32 proposed);
    /// The task cannot be abandoned yet.
    error NotAbandonable(uint64 taskId);
    /// Nothing to claim for this account.
    error NothingToClaim(uint64 taskId, address account);
    /// Already claimed.
    error AlreadyClaimed(uint64 taskId, address account);
    /// The released test set is not the one committed when the task was created.
    error TestSetMismatch(uint64 taskId, bytes32 committed, bytes32 released);
    /// Another participant already recorded this contribution CID.
    error DuplicateContribution(uint64 taskId, bytes32 cidHash);

    // ---------------------------------------------------------------- events

    /// A task was created with its deposit and genesis model.
    event TaskCreated(uint64 indexed taskId, address indexed owner, uint128 deposit, bytes genesisModel);
    /// A participant opted in.
    event ParticipantRegistered(uint64 indexed taskId, address indexed participant, uint32 index);
    /// A staked evaluator joined.
    event EvaluatorJoined(uint64 indexed taskId, address indexed evaluator, uint32 index);
    /// A round's seed will be drawn from `seedBlock`'s hash.
    event SeedScheduled(uint64 indexed taskId, uint16 indexed round, uint64 seedBlock);
    /// A round's seed was drawn; the round's stages start now.
    event SeedDrawn(uint64 indexed taskId, uint16 indexed round, bytes32 seed);
    /// A participant's secure-aggregation message (stage 2: its masked update), by CID.
    event Message(uint64 indexed taskId, uint16 indexed round, address indexed sender, uint8 stage, bytes cid);
    /// An evaluator's aggregate for a subgroup, by CID.
    event AggregateSubmitted(
        uint64 indexed taskId, uint16 indexed round, address indexed evaluator, uint32 subgroup, bytes cid
    );
    /// A subgroup's round outcome: `accepted` the aggregate CID's keccak256, or failed.
    event SubgroupFinalized(uint64 indexed taskId, uint16 indexed round, uint32 subgroup, bool accepted, bytes32 cidHash);
    /// An evaluator was slashed.
    event EvaluatorPenalized(uint64 indexed taskId, address indexed evaluator, uint256 amount);
    /// The global model of a round.
    event ModelPublished(uint64 indexed taskId, uint16 indexed round, bytes cid);
    /// The encrypted test set and the evaluators' wrapped keys.
    event TestSetReleased(uint64 indexed taskId, bytes testSetCid, bytes keysCid);
    /// An evaluator committed its scores for a subgroup.
    event ScoresCommitted(uint64 indexed taskId, uint32 indexed subgroup, address indexed evaluator, bytes32 commitment);
    /// An evaluator revealed its scores.
    event ScoresRevealed(uint64 indexed taskId, uint32 indexed subgroup, address indexed evaluator, uint32[] scores);
    /// A subgroup's medians were verified and recorded.
    event SubgroupScored(uint64 indexed taskId, uint32 indexed subgroup, uint32[] medians);
    /// The task was abandoned after a missed owner deadline (or cancelled in registration).
    event TaskAbandoned(uint64 indexed taskId, Phase phase);
    /// The deposit was settled: `refundable` goes back to the owner.
    event Settled(uint64 indexed taskId, uint256 participantPool, uint256 evaluatorPool, uint256 refundable);
    /// A reward or fee was claimed.
    event Claimed(uint64 indexed taskId, address indexed account, uint256 amount);
    /// The owner took the refundable remainder.
    event Refunded(uint64 indexed taskId, address indexed owner, uint256 amount);

    /// @param registry_ the evaluator registry, whose `taskManager` must become this contract
    constructor(EvaluatorRegistry registry_) {
        if (address(registry_) == address(0)) revert InvalidParameter(Param.Registry);
        registry = registry_;
    }

    // ---------------------------------------------------------------- helpers

    function _key(uint64 taskId, uint16 round, uint32 subgroup, uint256 slot) internal pure returns (uint256) {
        return (uint256(taskId) << 128) | (uint256(round) << 96) | (uint256(subgroup) << 32) | slot;
    }

    function _checkCid(bytes calldata cid) internal pure {
        if (
            cid.length != 36 || cid[0] != 0x01 || (cid[1] != 0x55 && cid[1] != 0x70) || cid[2] != 0x12
                || cid[3] != 0x20
        ) revert InvalidCid();
    }

    function _state(uint64 taskId, Phase expected) internal view returns (RoundState memory s) {
        s = states[taskId];
        if (s.phase != expected) {
            if (s.phase == Phase.None) revert UnknownTask(taskId);
            revert WrongPhase(taskId, expected, s.phase);
        }
    }

    function _onlyOwner(uint64 taskId) internal view returns (Task storage t) {
        t = tasks[taskId];
        if (t.owner != msg.sender) revert NotOwner(taskId, msg.sender);
    }

    function _window(uint256 opens, uint256 closes) internal view {
        if (block.timestamp < opens) revert TooEarly(opens, block.timestamp);
        if (block.timestamp >= closes) revert TooLate(closes, block.timestamp);
    }

    /// The caller's shuffled evaluator position, checked with din-core's assignment to
    /// fall in `subgroup` (its slot there is the position modulo evaluators per subgroup);
    /// reverts when not assigned.
    function _evaluatorPosition(uint64 taskId, RoundState memory s, uint32 subgroup) internal view returns (uint256) {
        Evaluator storage e = evaluators[taskId][msg.sender];
        if (e.index1 == 0) revert NotEvaluator(taskId, msg.sender);
        if (e.slashed) revert EvaluatorSlashed(taskId, msg.sender);
        if (subgroup >= s.numSubgroups) revert InvalidSubgroup(subgroup, s.numSubgroups);
        uint256 q = DinAssignment.shuffledIndex(e.index1 - 1, s.numEvaluators, evaluatorSeeds[taskId]);
        if (q / s.evaluatorsPerSubgroup != subgroup) revert NotAssigned(taskId, subgroup, msg.sender);
        return q;
    }

    function _aggregateVote(uint16 round, uint32 subgroup, uint256 slot, bytes32 cidHash) internal pure returns (bytes32) {
        return keccak256(abi.encode(round, subgroup, slot, cidHash));
    }

    function _slash(uint64 taskId, address evaluator) internal {
        Evaluator storage e = evaluators[taskId][evaluator];
        if (e.slashed) return;
        e.slashed = true;
        uint256 amount = registry.slash(evaluator, taskId);
        emit EvaluatorPenalized(taskId, evaluator, amount);
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
        if (p.subgroupSize < 2) revert InvalidParameter(Param.SubgroupSize);
        if (p.evaluatorsPerSubgroup == 0) revert InvalidParameter(Param.EvaluatorsPerSubgroup);
        if (p.neighbours == 0 || p.neighbours >= p.subgroupSize) revert InvalidParameter(Param.Neighbours);
        if (p.threshold * 2 <= p.neighbours || p.threshold > p.neighbours) revert InvalidParameter(Param.Threshold);
        if (p.stagePeriod == 0) revert InvalidParameter(Param.StagePeriod);
        if (p.registrationEnd <= block.timestamp) revert InvalidParameter(Param.RegistrationEnd);
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
        t.clipMilli = p.clipMilli;
        t.scaleBits = p.scaleBits;
        t.maxWeight = p.maxWeight;
        t.testSet = p.testSet;
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
        if (s.numParticipants == type(uint32).max) revert RegistrationClosed(taskId);
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
        if (s.numEvaluators == type(uint32).max) revert RegistrationClosed(taskId);
        registry.lock(msg.sender);
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
    /// after registration closed and unknown when it was scheduled. If that block is
    /// older than 256 blocks its hash is gone: a new block is scheduled instead.
    function drawSeed(uint64 taskId) external {
        RoundState memory s = _state(taskId, Phase.Training);
        if (s.roundStart != 0) revert SeedAlreadyDrawn(taskId, s.round);
        Task storage t = tasks[taskId];
        uint64 at = t.seedBlock;
        if (block.number <= at) revert SeedBlockNotReached(at, block.number);
        bytes32 h = blockhash(at);
        if (h == bytes32(0)) {
            _scheduleSeed(taskId, t, s.round);
            return;
        }
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
        evaluators[taskId][msg.sender].voted = true;
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

    /// Owner: releases the encrypted test set and the evaluators' wrapped keys (by CID);
    /// scoring starts. Must happen within one stage period of the last model, and the
    /// test set must be the one committed at creation (`TaskParams.testSet`).
    function releaseTestSet(uint64 taskId, bytes calldata testSetCid, bytes calldata keysCid) external {
        _checkCid(testSetCid);
        _checkCid(keysCid);
        _state(taskId, Phase.AwaitingTestSet);
        Task storage t = _onlyOwner(taskId);
        bytes32 released = keccak256(testSetCid);
        if (released != t.testSet) revert TestSetMismatch(taskId, t.testSet, released);
        RoundState storage st = states[taskId];
        uint256 closes = uint256(t.scoringStart) + st.stagePeriod;
        if (block.timestamp >= closes) revert TooLate(closes, block.timestamp);
        t.scoringStart = uint64(block.timestamp);
        st.phase = Phase.Scoring;
        st.finalized = 0;
        emit TestSetReleased(taskId, testSetCid, keysCid);
    }

    // ---------------------------------------------------------------- scoring

    /// The commitment an evaluator makes to its scores of a subgroup (in shuffled-position
    /// order): `keccak256(abi.encodePacked(uint64 taskId, address evaluator, uint32
    /// subgroup, uint32[] scores, bytes32 salt))` (array elements padded to 32 bytes).
    function _scoreCommitment(uint64 taskId, address evaluator, uint32 subgroup, uint32[] calldata scores, bytes32 salt)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encodePacked(taskId, evaluator, subgroup, scores, salt));
    }

    /// Evaluator assigned to `subgroup` in the final round: commits to its scores.
    function commitScores(uint64 taskId, uint32 subgroup, bytes32 commitment) external {
        RoundState memory s = _state(taskId, Phase.Scoring);
        uint256 start = tasks[taskId].scoringStart;
        _window(start, start + s.stagePeriod);
        if (commitment == bytes32(0)) revert InvalidParameter(Param.Commitment);
        uint256 slot = _evaluatorPosition(taskId, s, subgroup) % s.evaluatorsPerSubgroup;
        ScoreSlot storage ss = scoreSlots[_key(taskId, SCORING, subgroup, slot)];
        if (ss.evaluator != address(0)) revert AlreadySubmitted(taskId, SCORING, msg.sender);
        ss.evaluator = msg.sender;
        ss.commitment = commitment;
        emit ScoresCommitted(taskId, subgroup, msg.sender, commitment);
    }

    /// Evaluator: opens its commitment. `slot` is its slot in the subgroup (its shuffled
    /// evaluator position modulo evaluators per subgroup), fixed at commit time.
    function revealScores(uint64 taskId, uint32 subgroup, uint256 slot, uint32[] calldata scores, bytes32 salt)
        external
    {
        RoundState memory s = _state(taskId, Phase.Scoring);
        uint256 start = uint256(tasks[taskId].scoringStart) + s.stagePeriod;
        _window(start, start + s.stagePeriod);
        if (subgroup >= s.numSubgroups) revert InvalidSubgroup(subgroup, s.numSubgroups);
        if (slot >= s.evaluatorsPerSubgroup) revert InvalidParameter(Param.Slot);
        uint256 k = _key(taskId, SCORING, subgroup, slot);
        ScoreSlot storage ss = scoreSlots[k];
        if (ss.evaluator != msg.sender) revert NotAssigned(taskId, subgroup, msg.sender);
        if (ss.revealed) revert AlreadySubmitted(taskId, SCORING, msg.sender);
        (, uint256 size) = DinAssignment.subgroupRange(subgroup, s.numParticipants, s.numSubgroups);
        if (scores.length != size) revert InvalidScores(scores.length);
        if (_scoreCommitment(taskId, msg.sender, subgroup, scores, salt) != ss.commitment) {
            revert CommitmentMismatch(taskId, msg.sender);
        }
        ss.revealed = true;
        uint256 word;
        for (uint256 i = 0; i < size; ++i) {
            if (scores[i] > SCORE_ONE) revert InvalidScores(i);
            word |= uint256(scores[i]) << (32 * (i % 8));
            if (i % 8 == 7 || i + 1 == size) {
                scoreWords[(k << 16) | (i / 8)] = word;
                word = 0;
            }
        }
        emit ScoresRevealed(taskId, subgroup, msg.sender, scores);
    }

    /// Anyone, after the reveal window: verifies and records the lower medians of a
    /// subgroup's revealed scores (BlockFlow's m_k) and each revealing evaluator's quality
    /// d_e = min_k max(0, (1/2 - |s - m|) / (1/2 + |s - m|)). `members[i]` is the index of
    /// the participant at the subgroup's i-th shuffled position (checked on-chain);
    /// `medians[i]` is proposed off-chain and checked by counting below/equal. Evaluators
    /// with d_e = 0, or who committed and did not reveal, are slashed.
    function finalizeScores(uint64 taskId, uint32 subgroup, uint32[] calldata members, uint32[] calldata medians)
        external
    {
        RoundState memory s = _state(taskId, Phase.Scoring);
        uint256 opens = uint256(tasks[taskId].scoringStart) + 2 * uint256(s.stagePeriod);
        if (block.timestamp < opens) revert TooEarly(opens, block.timestamp);
        if (subgroup >= s.numSubgroups) revert InvalidSubgroup(subgroup, s.numSubgroups);
        uint256 rk = _key(taskId, SCORING, subgroup, 0);
        if (results[rk].status != 0) revert AlreadyFinalized(taskId, subgroup);
        (uint256 first, uint256 size) = DinAssignment.subgroupRange(subgroup, s.numParticipants, s.numSubgroups);
        if (members.length != size || medians.length != size) revert InvalidParameter(Param.Hints);

        // Revealed score words, per slot (or none).
        uint256 per = s.evaluatorsPerSubgroup;
        uint256 words = (size + 7) / 8;
        uint256[][] memory revealed = new uint256[][](per);
        uint256 count = 0;
        for (uint256 e = 0; e < per; ++e) {
            ScoreSlot storage ss = scoreSlots[rk | e];
            if (!ss.revealed) {
                if (ss.evaluator != address(0)) _slash(taskId, ss.evaluator);
                continue;
            }
            revealed[e] = new uint256[](words);
            for (uint256 w = 0; w < words; ++w) {
                revealed[e][w] = scoreWords[((rk | e) << 16) | w];
            }
            ++count;
        }

        bytes32 pseed = participantSeeds[taskId];
        uint64 cumulative = tasks[taskId].sumParticipantWeights;
        uint256[] memory quality = new uint256[](per);
        for (uint256 e = 0; e < per; ++e) {
            quality[e] = SCORE_ONE;
        }
        for (uint256 i = 0; i < size; ++i) {
            uint32 idx = members[i];
            if (idx >= s.numParticipants) revert BadHint(i);
            if (DinAssignment.shuffledIndex(idx, s.numParticipants, pseed) != first + i) revert BadHint(i);
            uint256 m = medians[i];
            if (count == 0) {
                if (m != 0) revert NotMedian(i, medians[i]);
            } else {
                uint256 below = 0;
                uint256 equal = 0;
                for (uint256 e = 0; e < per; ++e) {
                    if (revealed[e].length == 0) continue;
                    uint256 v = (revealed[e][i / 8] >> (32 * (i % 8))) & 0xffffffff;
                    if (v < m) ++below;
                    else if (v == m) ++equal;
                    uint256 t = v > m ? v - m : m - v;
                    uint256 half = SCORE_ONE / 2;
                    uint256 q = t >= half ? 0 : ((half - t) * SCORE_ONE) / (half + t);
                    if (q < quality[e]) quality[e] = q;
                }
                uint256 rank = (count - 1) / 2;
                if (below > rank || below + equal <= rank) revert NotMedian(i, medians[i]);
            }
            Participant storage rec = participants[taskId][participantList[taskId][idx]];
            rec.score = uint32(m);
            rec.before = cumulative;
            cumulative += uint64(m);
        }
        tasks[taskId].sumParticipantWeights = cumulative;
        for (uint256 e = 0; e < per; ++e) {
            if (revealed[e].length == 0) continue;
            address who = scoreSlots[rk | e].evaluator;
            evaluators[taskId][who].quality = uint32(quality[e]);
            if (quality[e] == 0) _slash(taskId, who);
        }
        results[rk].status = 1;
        states[taskId].finalized = s.finalized + 1;
        emit SubgroupScored(taskId, subgroup, medians);
    }

    // ---------------------------------------------------------------- settlement

    /// Anyone: abandons a task whose owner missed a deadline (round model not published
    /// within 6 stage periods of the seed, test set not released within one stage period
    /// of the last model, or training not started one stage period after registration end).
    function abandon(uint64 taskId) external {
        RoundState memory s = states[taskId];
        Task storage t = tasks[taskId];
        bool late;
        if (s.phase == Phase.Registration) {
            late = block.timestamp >= uint256(t.registrationEnd) + s.stagePeriod;
        } else if (s.phase == Phase.Training) {
            late = s.roundStart != 0 && block.timestamp >= uint256(s.roundStart) + 6 * uint256(s.stagePeriod);
        } else if (s.phase == Phase.AwaitingTestSet) {
            late = block.timestamp >= uint256(t.scoringStart) + s.stagePeriod;
        } else if (s.phase == Phase.None) {
            revert UnknownTask(taskId);
        }
        if (!late) revert NotAbandonable(taskId);
        _abandon(taskId, s.phase);
    }

    function _abandon(uint64 taskId, Phase from) internal {
        tasks[taskId].abandoned = true;
        states[taskId].phase = Phase.Abandoned;
        emit TaskAbandoned(taskId, from);
    }

    function _evaluatorWeight(Task storage t, Evaluator memory e) internal view returns (uint256) {
        if (e.slashed) return 0;
        if (t.abandoned) return e.voted ? 1 : 0;
        return e.quality;
    }

    function _pools(Task storage t) internal view returns (uint256 participantPool, uint256 evaluatorPool) {
        evaluatorPool = (uint256(t.deposit) * t.evaluatorFeeBps) / BPS;
        participantPool = t.deposit - evaluatorPool;
    }

    /// Anyone: settles a fully scored (or abandoned) task.
    ///
    /// Participants are paid by telescoping: with weights `w_k` (the median `m_k`, or 1
    /// per participant who submitted an update when the task was abandoned), `S` their
    /// sum and `B_k` the sum of the weights recorded before `k`, participant `k` is owed
    /// `floor(P (B_k + w_k) / S) - floor(P B_k / S)`. These add up to exactly the
    /// participant pool `P`, so settlement needs no pass over the participants.
    /// Evaluators (few) are owed `floor(E d_e / sum d)` of the evaluator pool `E`; the
    /// rounding dust, and any pool with zero total weight, is refundable to the owner.
    /// Evaluators' stakes are unlocked by their `claim` or `releaseStake`, not here, so
    /// that settlement stays cheap.
    function settle(uint64 taskId) external nonReentrant {
        RoundState memory s = states[taskId];
        if (s.phase == Phase.Scoring) {
            if (s.finalized != s.numSubgroups) revert SubgroupsPending(s.finalized, s.numSubgroups);
        } else if (s.phase != Phase.Abandoned) {
            if (s.phase == Phase.None) revert UnknownTask(taskId);
            revert WrongPhase(taskId, Phase.Scoring, s.phase);
        }
        Task storage t = tasks[taskId];
        (uint256 pPool, uint256 ePool) = _pools(t);
        if (t.abandoned) t.sumParticipantWeights = t.updaters;
        address[] storage elist = evaluatorList[taskId];
        uint256 m = elist.length;
        uint256[] memory ew = new uint256[](m);
        uint256 sumE = 0;
        for (uint256 i = 0; i < m; ++i) {
            ew[i] = _evaluatorWeight(t, evaluators[taskId][elist[i]]);
            sumE += ew[i];
        }
        uint256 paid = t.sumParticipantWeights == 0 ? 0 : pPool;
        if (sumE != 0) {
            for (uint256 i = 0; i < m; ++i) {
                paid += (ePool * ew[i]) / sumE;
            }
        }
        t.sumEvaluatorWeights = uint64(sumE);
        t.refundable = uint128(t.deposit - paid);
        states[taskId].phase = Phase.Settled;
        emit Settled(taskId, pPool, ePool, t.deposit - paid);
    }

    function _release(uint64 taskId, address evaluator) internal {
        Evaluator storage e = evaluators[taskId][evaluator];
        if (e.index1 == 0 || e.released) return;
        e.released = true;
        registry.unlock(evaluator);
    }

    /// Evaluator: unlocks its registry stake from a settled task (`claim` does it too).
    function releaseStake(uint64 taskId) external {
        _state(taskId, Phase.Settled);
        if (evaluators[taskId][msg.sender].index1 == 0) revert NotEvaluator(taskId, msg.sender);
        _release(taskId, msg.sender);
    }

    function _participantShare(Task storage t, uint256 pPool, Participant memory p) internal view returns (uint256) {
        uint256 sum = t.sumParticipantWeights;
        if (sum == 0) return 0;
        (uint256 before, uint256 w) = t.abandoned ? (uint256(p.rank), p.updated ? 1 : 0) : (uint256(p.before), uint256(p.score));
        return (pPool * (before + w)) / sum - (pPool * before) / sum;
    }

    /// What `account` is owed by a settled task, and whether it is a participant.
    function _owed(uint64 taskId, Task storage t, address account) internal view returns (uint256, bool) {
        (uint256 pPool, uint256 ePool) = _pools(t);
        Participant memory p = participants[taskId][account];
        if (p.index1 != 0) return (p.claimed ? 0 : _participantShare(t, pPool, p), true);
        Evaluator memory e = evaluators[taskId][account];
        if (e.index1 == 0 || e.claimed || t.sumEvaluatorWeights == 0) return (0, false);
        return ((ePool * _evaluatorWeight(t, e)) / t.sumEvaluatorWeights, false);
    }

    /// What `account` may claim from a settled task (0 before settlement or after claiming).
    function claimable(uint64 taskId, address account) public view returns (uint256 amount) {
        if (states[taskId].phase != Phase.Settled) return 0;
        (amount,) = _owed(taskId, tasks[taskId], account);
    }

    /// Pays `account` what it is owed, once, unlocking an evaluator's stake; returns the amount.
    function _pay(uint64 taskId, Task storage t, address account) internal returns (uint256 amount) {
        bool participant;
        (amount, participant) = _owed(taskId, t, account);
        if (!participant) _release(taskId, account);
        if (amount == 0) return 0;
        if (participant) participants[taskId][account].claimed = true;
        else evaluators[taskId][account].claimed = true;
        t.token.safeTransfer(account, amount);
        emit Claimed(taskId, account, amount);
    }

    /// Participant or evaluator: pulls its reward or fee, once.
    function claim(uint64 taskId) external nonReentrant {
        _state(taskId, Phase.Settled);
        if (participants[taskId][msg.sender].claimed || evaluators[taskId][msg.sender].claimed) {
            revert AlreadyClaimed(taskId, msg.sender);
        }
        if (_pay(taskId, tasks[taskId], msg.sender) == 0) revert NothingToClaim(taskId, msg.sender);
    }

    /// Anyone: pays each of `accounts` what it is owed, to itself (the same entitlements
    /// as `claim`, batched so that one transaction serves many participants). Accounts
    /// with nothing owed or already paid are skipped, so a batch cannot be blocked by a
    /// claim made in between.
    function claimFor(uint64 taskId, address[] calldata accounts) external nonReentrant {
        _state(taskId, Phase.Settled);
        Task storage t = tasks[taskId];
        for (uint256 i = 0; i < accounts.length; ++i) {
            _pay(taskId, t, accounts[i]);
        }
    }

    /// Owner: takes the refundable remainder of a settled task, once.
    function claimRefund(uint64 taskId) external nonReentrant {
        _state(taskId, Phase.Settled);
        Task storage t = _onlyOwner(taskId);
        if (t.refundClaimed) revert AlreadyClaimed(taskId, msg.sender);
        uint256 amount = t.refundable;
        if (amount == 0) revert NothingToClaim(taskId, msg.sender);
        t.refundClaimed = true;
        t.token.safeTransfer(msg.sender, amount);
        emit Refunded(taskId, msg.sender, amount);
    }

    // ---------------------------------------------------------------- views

    /// The hot state of a task (phase, round, sizes, round start).
    function roundState(uint64 taskId) external view returns (RoundState memory) {
        return states[taskId];
    }

    /// The rest of a task's record.
    function task(uint64 taskId) external view returns (Task memory) {
        Task memory t = tasks[taskId]; return t;
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
