// SPDX-License-Identifier: Apache-2.0 OR MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {DinAssignment} from "./DinAssignment.sol";
import {DinTaskBase} from "./DinTaskBase.sol";
import {EvaluatorRegistry} from "./EvaluatorRegistry.sol";

/// @title DIN task manager: scoring and settlement
/// @notice The second half of the task manager (paper §5.2, §8.1): the sealed test set's
/// release, score commit/reveal with BlockFlow median scoring checked on chain, abandoning
/// a task whose owner missed a deadline, settlement to the wei, and pull claims. It runs
/// only by delegatecall from `DinTaskManager`, on the manager's storage; called directly
/// it has no tasks, so every function reverts (`UnknownTask` or `WrongPhase`).
contract DinTaskScoring is DinTaskBase {
    using SafeERC20 for IERC20;

    /// @param registry_ the evaluator registry (the manager's)
    constructor(EvaluatorRegistry registry_) DinTaskBase(registry_) {}

    /// Owner: releases the encrypted test set and the evaluators' wrapped keys (by CID);
    /// scoring starts. Participants have one stage period after the last model to
    /// publish their contributions: the release opens then and closes a period later (a
    /// release in the block of the last model would score every contribution 0 and
    /// refund the pool: issue #14). The test set must be the one committed at creation
    /// (`TaskParams.testSet`).
    function releaseTestSet(uint64 taskId, bytes calldata testSetCid, bytes calldata keysCid) external {
        _checkCid(testSetCid);
        _checkCid(keysCid);
        _state(taskId, Phase.AwaitingTestSet);
        Task storage t = _onlyOwner(taskId);
        bytes32 released = keccak256(testSetCid);
        if (released != t.testSet) revert TestSetMismatch(taskId, t.testSet, released);
        RoundState storage st = states[taskId];
        uint256 opens = uint256(t.scoringStart) + st.stagePeriod;
        _window(opens, opens + st.stagePeriod);
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

    /// Assigned evaluator, during the commit window: disputes the release (the test set or
    /// its key does not open, or the final model is not the one the accepted aggregates
    /// give). A subgroup where more than half of the assigned evaluators dispute is
    /// scored neutral (no quality slashing there); when more than half of the subgroups
    /// are, the task is abandoned: participants who updated and evaluators who voted
    /// honestly share the pools, and the owner's refund is only what nobody can claim. A
    /// coalition holding the majority of one subgroup cannot end the whole task.
    function disputeRelease(uint64 taskId, uint32 subgroup) external {
        RoundState memory s = _state(taskId, Phase.Scoring);
        uint256 start = tasks[taskId].scoringStart;
        _window(start, start + uint256(s.stagePeriod));
        uint256 slot = _evaluatorPosition(taskId, s, subgroup) % s.evaluatorsPerSubgroup;
        uint256 k = _key(taskId, SCORING, subgroup, 1);
        uint256 bits = disputes[k];
        if (bits & (1 << slot) != 0) revert AlreadySubmitted(taskId, SCORING, msg.sender);
        bits |= 1 << slot;
        disputes[k] = bits;
        emit ReleaseDisputed(taskId, subgroup, msg.sender);
        if (bits >> 255 == 0 && _disputed(bits, s.evaluatorsPerSubgroup)) {
            disputes[k] = bits | (1 << 255);
            Task storage t = tasks[taskId];
            t.disputedSubgroups += 1;
            if (uint256(t.disputedSubgroups) * 2 > s.numSubgroups) _abandon(taskId, Phase.Scoring);
        }
    }

    /// Whether the dispute bits (one per slot, bit 255 a marker) hold a strict majority
    /// of the `per` assigned evaluators.
    function _disputed(uint256 bits, uint256 per) internal pure returns (bool) {
        uint256 count = 0;
        for (bits &= type(uint256).max >> 1; bits != 0; bits &= bits - 1) ++count;
        return count * 2 > per;
    }

    /// Anyone, after the reveal window: verifies the lower medians of a subgroup's
    /// revealed scores (BlockFlow's m_k) and each revealing evaluator's quality d_e =
    /// min_k max(0, (1/2 - |s - m|) / (1/2 + |s - m|)). `members[i]` is the index of the
    /// participant at the subgroup's i-th shuffled position (checked on-chain);
    /// `medians[i]` is proposed off-chain and checked by counting below/equal.
    ///
    /// Quorum (paper §6 assumes strictly more than half of a subgroup's evaluators
    /// honest): the medians count only when, at every position, more than half of the
    /// subgroup's *assigned* evaluators revealed a score within the tolerance of the
    /// median (d > 0). Then they are recorded and evaluators with d_e = 0 are slashed.
    /// Without such a majority (too few reveals, a split, or a majority disputing the
    /// release), every participant who updated gets the neutral prior `NEUTRAL_SCORE`
    /// (others 0), revealers the neutral quality, and nobody is slashed for quality: one
    /// liar beside one honest evaluator cannot get it slashed.
    /// Evaluators who committed and did not reveal are slashed in both cases (withholding
    /// a reveal to move the median costs the stake).
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

        uint256 per = s.evaluatorsPerSubgroup;
        (uint256[][] memory revealed, uint256 count) = _reveals(taskId, rk, per, (size + 7) / 8);
        uint256[] memory quality = new uint256[](per);
        for (uint256 e = 0; e < per; ++e) {
            quality[e] = SCORE_ONE;
        }
        // A subgroup whose majority disputed the release is scored neutral.
        bool backed = count * 2 > per && !_disputed(disputes[_key(taskId, SCORING, subgroup, 1)], per);
        for (uint256 i = 0; i < size; ++i) {
            uint32 idx = members[i];
            if (idx >= s.numParticipants) revert BadHint(i);
            if (DinAssignment.shuffledIndex(idx, s.numParticipants, participantSeeds[taskId]) != first + i) {
                revert BadHint(i);
            }
            if (count == 0) {
                if (medians[i] != 0) revert NotMedian(i, medians[i]);
            } else if (!_checkMedian(revealed, i, medians[i], count, quality)) {
                backed = false;
            }
        }
        uint32[] memory recorded = _record(taskId, members, medians, backed);
        Task storage t = tasks[taskId];
        for (uint256 e = 0; e < per; ++e) {
            if (revealed[e].length == 0) continue;
            address who = scoreSlots[rk | e].evaluator;
            Evaluator storage ev = evaluators[taskId][who];
            uint32 q = backed ? uint32(quality[e]) : NEUTRAL_SCORE;
            ev.quality = q;
            // Paid by quality and by the rounds it aggregated: no-shows lose those rounds.
            uint64 w = uint64(q) * ev.votes;
            ev.weight = w;
            ev.before = t.sumEvaluatorWeights;
            t.sumEvaluatorWeights += w;
            if (q == 0) _slash(taskId, who);
        }
        results[rk].status = 1;
        states[taskId].finalized = s.finalized + 1;
        emit SubgroupScored(taskId, subgroup, recorded);
    }

    /// The revealed score words of a subgroup, per slot (empty for no reveal), and how many
    /// revealed; evaluators who committed and did not reveal are slashed.
    function _reveals(uint64 taskId, uint256 rk, uint256 per, uint256 words)
        internal
        returns (uint256[][] memory revealed, uint256 count)
    {
        revealed = new uint256[][](per);
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
    }

    /// Checks that `m` is the lower median of the revealed scores at position `i`, lowers
    /// each revealer's running quality to its closeness to `m`, and returns whether more
    /// than half of the assigned evaluators are within the tolerance of `m` (d > 0).
    function _checkMedian(uint256[][] memory revealed, uint256 i, uint32 m, uint256 count, uint256[] memory quality)
        internal
        pure
        returns (bool)
    {
        uint256 below = 0;
        uint256 equal = 0;
        uint256 within = 0;
        for (uint256 e = 0; e < revealed.length; ++e) {
            if (revealed[e].length == 0) continue;
            uint256 v = (revealed[e][i / 8] >> (32 * (i % 8))) & 0xffffffff;
            if (v < m) ++below;
            else if (v == m) ++equal;
            uint256 t = v > m ? v - m : m - v;
            uint256 half = SCORE_ONE / 2;
            uint256 q = t >= half ? 0 : ((half - t) * SCORE_ONE) / (half + t);
            if (q < quality[e]) quality[e] = q;
            if (q > 0) ++within;
        }
        uint256 rank = (count - 1) / 2;
        if (below > rank || below + equal <= rank) revert NotMedian(i, m);
        return within * 2 > revealed.length;
    }

    /// Records the subgroup's participant scores: the medians when backed, else the
    /// neutral prior. Returns what was recorded.
    function _record(uint64 taskId, uint32[] calldata members, uint32[] calldata medians, bool backed)
        internal
        returns (uint32[] memory recorded)
    {
        recorded = new uint32[](members.length);
        Task storage t = tasks[taskId];
        uint64 cumulative = t.sumParticipantWeights;
        for (uint256 i = 0; i < members.length; ++i) {
            // Without a quorum the neutral prior, but only for who did its part.
            Participant storage rec = participants[taskId][participantList[taskId][members[i]]];
            uint32 m = backed ? medians[i] : (rec.updated ? NEUTRAL_SCORE : 0);
            recorded[i] = m;
            rec.score = m;
            rec.before = cumulative;
            cumulative += m;
        }
        t.sumParticipantWeights = cumulative;
    }

    // ---------------------------------------------------------------- settlement

    /// Anyone: abandons a task that missed a deadline: training not started one stage
    /// period after registration end, a round's seed not drawn while its block's hash was
    /// available (256 blocks), a round's model not published within 6 stage
    /// periods of its seed, the test set not released within two stage periods of the
    /// last model, or scoring not finalized within three stage periods of the release
    /// (every task ends settled or abandoned).
    function abandon(uint64 taskId) external {
        RoundState memory s = states[taskId];
        Task storage t = tasks[taskId];
        bool late;
        if (s.phase == Phase.Registration) {
            late = block.timestamp >= uint256(t.registrationEnd) + s.stagePeriod;
        } else if (s.phase == Phase.Training) {
            late = s.roundStart == 0
                ? block.number > uint256(t.seedBlock) + 256 // the seed can no longer be drawn
                : block.timestamp >= uint256(s.roundStart) + 6 * uint256(s.stagePeriod);
        } else if (s.phase == Phase.AwaitingTestSet) {
            late = block.timestamp >= uint256(t.scoringStart) + 2 * uint256(s.stagePeriod);
        } else if (s.phase == Phase.Scoring) {
            late = s.finalized < s.numSubgroups
                && block.timestamp >= uint256(t.scoringStart) + 3 * uint256(s.stagePeriod);
        } else if (s.phase == Phase.None) {
            revert UnknownTask(taskId);
        }
        if (!late) revert NotAbandonable(taskId);
        _abandon(taskId, s.phase);
    }


    function _pools(Task storage t) internal view returns (uint256 participantPool, uint256 evaluatorPool) {
        evaluatorPool = (uint256(t.deposit) * t.evaluatorFeeBps) / BPS;
        participantPool = t.deposit - evaluatorPool;
    }

    /// Anyone: settles a fully scored (or abandoned) task.
    ///
    /// Participants are paid by telescoping: with weights `w_k` (the recorded score `m_k`;
    /// or 1 per participant who submitted an update when the task was abandoned, or when
    /// no contribution scored above 0, so the pool never flows back to the owner while
    /// participants did their part), `S` their sum and `B_k` the sum of the weights
    /// recorded before `k`, participant `k` is owed `floor(P (B_k + w_k) / S) - floor(P
    /// B_k / S)`. These add up to exactly the participant pool `P`. Evaluators likewise by
    /// their quality `d_e` times the finalized rounds they aggregated in (a round's
    /// no-show loses that round's share) in a scored task; in an abandoned one each
    /// evaluator that voted
    /// and was not slashed gets `floor(E / h)` of `h` such, the dust refundable. A pool
    /// with zero total weight is refundable to the owner. Settlement loops over nobody;
    /// evaluators' stakes are unlocked by their `claim` or `releaseStake`.
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
        if (t.abandoned || t.sumParticipantWeights == 0) {
            t.equalSplit = true;
            t.sumParticipantWeights = t.updaters;
        }
        uint256 paid = t.sumParticipantWeights == 0 ? 0 : pPool;
        if (t.abandoned) {
            if (t.honestVoters != 0) paid += (ePool / t.honestVoters) * t.honestVoters;
        } else if (t.sumEvaluatorWeights != 0) {
            paid += ePool;
        }
        t.refundable = uint128(t.deposit - paid);
        states[taskId].phase = Phase.Settled;
        emit Settled(taskId, pPool, ePool, t.deposit - paid);
    }

    function _release(uint64 taskId, address evaluator) internal {
        Evaluator storage e = evaluators[taskId][evaluator];
        if (e.index1 == 0 || e.released) return;
        e.released = true;
        registry.unlock(evaluator, taskId);
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
        (uint256 before, uint256 w) =
            t.equalSplit ? (uint256(p.rank), p.updated ? 1 : 0) : (uint256(p.before), uint256(p.score));
        return (pPool * (before + w)) / sum - (pPool * before) / sum;
    }

    function _evaluatorShare(Task storage t, uint256 ePool, Evaluator memory e) internal view returns (uint256) {
        if (e.slashed) return 0;
        if (t.abandoned) return e.voted ? ePool / t.honestVoters : 0;
        uint256 sum = t.sumEvaluatorWeights;
        return (ePool * (e.before + e.weight)) / sum - (ePool * e.before) / sum;
    }

    /// What `account` is owed by a settled task, and whether it is a participant.
    function _owed(uint64 taskId, Task storage t, address account) internal view returns (uint256, bool) {
        (uint256 pPool, uint256 ePool) = _pools(t);
        Participant memory p = participants[taskId][account];
        if (p.index1 != 0) return (p.claimed ? 0 : _participantShare(t, pPool, p), true);
        Evaluator memory e = evaluators[taskId][account];
        if (e.index1 == 0 || e.claimed) return (0, false);
        if (t.abandoned ? t.honestVoters == 0 : t.sumEvaluatorWeights == 0) return (0, false);
        return (_evaluatorShare(t, ePool, e), false);
    }

    /// What `account` may claim from a settled task (0 before settlement or after claiming).
    function claimable(uint64 taskId, address account) public view returns (uint256 amount) {
        if (states[taskId].phase != Phase.Settled) return 0;
        (amount,) = _owed(taskId, tasks[taskId], account);
    }

    /// Pays `account` what it is owed, once, unlocking an evaluator's stake; returns the amount.
    /// Pays `account` what it is owed, once, unlocking an evaluator's stake; returns the
    /// amount. With `strict` a failing transfer reverts; without, it is undone and skipped
    /// (the account can claim later) so one bad recipient cannot block a batch.
    function _pay(uint64 taskId, Task storage t, address account, bool strict) internal returns (uint256 amount) {
        bool participant;
        (amount, participant) = _owed(taskId, t, account);
        if (!participant) _release(taskId, account);
        if (amount == 0) return 0;
        if (participant) participants[taskId][account].claimed = true;
        else evaluators[taskId][account].claimed = true;
        if (strict) {
            t.token.safeTransfer(account, amount);
        } else if (!t.token.trySafeTransfer(account, amount)) {
            if (participant) participants[taskId][account].claimed = false;
            else evaluators[taskId][account].claimed = false;
            return 0;
        }
        emit Claimed(taskId, account, amount);
    }

    /// Participant or evaluator: pulls its reward or fee, once.
    function claim(uint64 taskId) external nonReentrant {
        _state(taskId, Phase.Settled);
        if (participants[taskId][msg.sender].claimed || evaluators[taskId][msg.sender].claimed) {
            revert AlreadyClaimed(taskId, msg.sender);
        }
        if (_pay(taskId, tasks[taskId], msg.sender, true) == 0) revert NothingToClaim(taskId, msg.sender);
    }

    /// Anyone: pays each of `accounts` what it is owed, to itself (the same entitlements
    /// as `claim`, batched so that one transaction serves many participants). Accounts
    /// with nothing owed, already paid, or whose transfer fails are skipped, so a batch
    /// cannot be blocked by a claim made in between or by one bad recipient.
    function claimFor(uint64 taskId, address[] calldata accounts) external nonReentrant {
        _state(taskId, Phase.Settled);
        Task storage t = tasks[taskId];
        for (uint256 i = 0; i < accounts.length; ++i) {
            _pay(taskId, t, accounts[i], false);
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

}
