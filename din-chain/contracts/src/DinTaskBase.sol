// SPDX-License-Identifier: Apache-2.0 OR MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {DinAssignment} from "./DinAssignment.sol";
import {EvaluatorRegistry} from "./EvaluatorRegistry.sol";
import {IParticipantGate} from "./IParticipantGate.sol";


/// @title DIN task manager: shared state
/// @notice Everything both halves of the task manager share, in one storage layout:
/// constants, types, storage, errors, events and helpers. `DinTaskManager` (tasks,
/// registration, rounds, consensus on aggregates) is the deployed entry point; calls it
/// does not define run in `DinTaskScoring` (the sealed test set, scoring, settlement,
/// claims) by delegatecall, on the manager's storage. Two contracts because one would
/// exceed EIP-170's 24,576-byte limit.
abstract contract DinTaskBase is ReentrancyGuard {
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
    /// Neutral prior score (BlockFlow's 0.5) of the participants of a subgroup whose
    /// medians no strict majority of its assigned evaluators backs.
    uint32 internal constant NEUTRAL_SCORE = SCORE_ONE / 2;
    /// Subgroup status: no aggregate has a strict majority; left out of the round.
    uint8 internal constant STATUS_FAILED = 2;
    /// Subgroup status: a strict majority found the unmasked sum outside the task's bounds
    /// (`rejectAggregate`); left out of the round.
    uint8 internal constant STATUS_REJECTED = 3;
    /// The vote of an Evaluator that rejects a subgroup's sum: `keccak256` of the empty
    /// CID its `AggregateSubmitted` event carries.
    bytes32 internal constant REJECTED = keccak256("");
    /// Hard caps that keep every function's worst case well under the 16,777,216 gas per
    /// transaction of EIP-7825 (measured in `din-chain/README.md`): subgroups of up to
    /// `2 * MAX_SUBGROUP_SIZE - 1` members, evaluators per subgroup, per task, and
    /// participants per task.
    uint16 internal constant MAX_SUBGROUP_SIZE = 64;
    /// See `MAX_SUBGROUP_SIZE`.
    uint8 internal constant MAX_EVALUATORS_PER_SUBGROUP = 16;
    /// See `MAX_SUBGROUP_SIZE`.
    uint32 internal constant MAX_EVALUATORS = 1024;
    /// See `MAX_SUBGROUP_SIZE`.
    uint32 internal constant MAX_PARTICIPANTS = 10_000;
    /// Longest stage period: a task cannot hold evaluators' reserved stake for long.
    uint32 internal constant MAX_STAGE_PERIOD = 7 days;
    /// Longest registration: evaluators cannot leave a task before it starts, so it must
    /// start (or be abandonable) soon.
    uint64 internal constant MAX_REGISTRATION = 30 days;
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
        Registry,
        MaxEvaluators
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
        uint32 maxEvaluators;
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

    /// The bounds of every participant's input (`TaskParams`' `clipMilli`, `scaleBits`,
    /// `maxWeight`).
    struct InputBounds {
        uint32 clipMilli;
        uint8 scaleBits;
        uint32 maxWeight;
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
        uint64 sumEvaluatorWeights; // sum of the weights (d_e x votes) of unslashed evaluators
        uint32 honestVoters; // unslashed evaluators that voted on an aggregate (abandoned tasks)
        bool equalSplit; // no contribution scored above 0: participants who updated share equally
        uint32 disputedSubgroups; // scoring subgroups whose majority disputed the release
        InputBounds bounds;
        bytes32 testSet;
        uint32 maxEvaluators;
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
        bool voted; // voted in a finalized subgroup-round and was not slashed then
        bool slashed;
        bool claimed;
        uint32 quality; // d_e, set when its subgroup is scored
        bool released; // stake unlocked after settlement
        uint64 before; // sum of the weights recorded before this one (scored tasks)
        uint16 votes; // finalized subgroup-rounds it voted in without being slashed
        uint64 weight; // its share of the evaluator pool: quality x votes (scored tasks)
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
    mapping(uint256 => uint256) internal disputes; // key(task, SCORING, subgroup, 1) => bit per slot

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
    /// The scheduled seed block is older than 256 blocks: its hash is gone, and there is
    /// no reroll; the task can be abandoned.
    error SeedExpired(uint64 taskId, uint16 round);
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
    /// The scoring phase is not over, or it is already settled.
    error ScoringPending(uint64 taskId);
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
    /// An assigned evaluator found the released test set, key bundle or final model
    /// unusable (undecryptable, or not what the chain committed to).
    event ReleaseDisputed(uint64 indexed taskId, uint32 indexed subgroup, address indexed evaluator);
    /// The owner took the refundable remainder.
    event Refunded(uint64 indexed taskId, address indexed owner, uint256 amount);

    /// @param registry_ the evaluator registry, whose `taskManager` must be the manager
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
        // A slashed evaluator leaves the running sums settlement divides by.
        Task storage t = tasks[taskId];
        if (e.voted) t.honestVoters -= 1;
        t.sumEvaluatorWeights -= e.weight;
        uint256 amount = registry.slash(evaluator, taskId);
        emit EvaluatorPenalized(taskId, evaluator, amount);
    }

    function _abandon(uint64 taskId, Phase from) internal {
        tasks[taskId].abandoned = true;
        states[taskId].phase = Phase.Abandoned;
        emit TaskAbandoned(taskId, from);
    }

}
