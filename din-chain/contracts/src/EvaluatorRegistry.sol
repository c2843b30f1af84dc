// SPDX-License-Identifier: Apache-2.0 OR MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {DinAssignment} from "./DinAssignment.sol";

/// @title Evaluator registry
/// @notice Evaluators stake DIN tokens to be assignable (paper §3.4: staked nodes give
/// Sybil resistance). Joining a task reserves `minStake` of the free stake for that task
/// (issue #14: one stake no longer backs any number of tasks); slashing in a task draws
/// from that task's reservation only, and a task's release returns what is left of it.
/// Unstaking needs no reservation and waits `unstakeDelay` seconds after the request;
/// only the task manager named at deployment may lock, unlock and slash. Slashed tokens
/// go to `treasury`.
contract EvaluatorRegistry is ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// One evaluator's record.
    struct Evaluator {
        uint128 stake;
        uint64 unstakeAt; // 0 when no exit was requested
        uint32 locks; // tasks currently served
        uint128 reserved; // sum of the reservations of the tasks served
    }

    /// The staking token.
    IERC20 public immutable token;
    /// Smallest stake that makes an evaluator assignable.
    uint256 public immutable minStake;
    /// Amount taken per slashing offence (capped at the remaining stake).
    uint256 public immutable slashPenalty;
    /// Seconds between an unstake request and the withdrawal.
    uint64 public immutable unstakeDelay;
    /// Receives slashed stake.
    address public immutable treasury;
    /// The deployer, who names the task manager once.
    address public immutable deployer;
    /// The only contract allowed to lock, unlock and slash.
    address public taskManager;

    /// Evaluator records by account.
    mapping(address => Evaluator) public evaluators;
    /// What is reserved of each evaluator's stake for each task it serves.
    mapping(address => mapping(uint64 => uint256)) public reservations;
    /// Each evaluator's X25519 public key for receiving sealed test-set keys (paper §5.2).
    mapping(address => bytes32) internal encryptionKeys;

    error ZeroAmount();
    error NotDeployer(address caller);
    error TaskManagerAlreadySet(address current);
    error NotTaskManager(address caller);
    error StakeTooLow(address evaluator, uint256 stake, uint256 minStake);
    error StakeLocked(address evaluator, uint32 locks);
    error ExitPending(address evaluator, uint64 unstakeAt);
    error NoExitRequested(address evaluator);
    error TooEarly(uint64 unstakeAt, uint256 nowTs);
    error NotLocked(address evaluator);
    error InvalidParameter(string name);

    event TaskManagerSet(address indexed taskManager);
    event Staked(address indexed evaluator, uint256 amount, uint256 total);
    event UnstakeRequested(address indexed evaluator, uint64 unstakeAt);
    event Withdrawn(address indexed evaluator, uint256 amount);
    event Locked(address indexed evaluator, uint32 locks);
    event Unlocked(address indexed evaluator, uint32 locks);
    event Slashed(address indexed evaluator, uint256 amount, uint64 indexed taskId);
    event EncryptionKeySet(address indexed evaluator, bytes32 key);

    constructor(IERC20 token_, uint256 minStake_, uint256 slashPenalty_, uint64 unstakeDelay_, address treasury_) {
        if (address(token_) == address(0)) revert InvalidParameter("token");
        if (minStake_ == 0 || minStake_ > type(uint128).max) revert InvalidParameter("minStake");
        if (slashPenalty_ == 0) revert InvalidParameter("slashPenalty");
        if (treasury_ == address(0)) revert InvalidParameter("treasury");
        token = token_;
        minStake = minStake_;
        slashPenalty = slashPenalty_;
        unstakeDelay = unstakeDelay_;
        treasury = treasury_;
        deployer = msg.sender;
    }

    /// Names the task manager; once.
    function setTaskManager(address manager) external {
        if (msg.sender != deployer) revert NotDeployer(msg.sender);
        if (taskManager != address(0)) revert TaskManagerAlreadySet(taskManager);
        if (manager == address(0)) revert InvalidParameter("taskManager");
        taskManager = manager;
        emit TaskManagerSet(manager);
    }

    /// Adds `amount` to the caller's stake (needs an allowance). Cancels no exit: stake
    /// cannot grow while an exit is pending.
    function stake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Evaluator storage e = evaluators[msg.sender];
        if (e.unstakeAt != 0) revert ExitPending(msg.sender, e.unstakeAt);
        uint256 total = uint256(e.stake) + amount;
        if (total > type(uint128).max) revert InvalidParameter("amount");
        e.stake = uint128(total);
        token.safeTransferFrom(msg.sender, address(this), amount);
        emit Staked(msg.sender, amount, total);
    }

    /// Starts the exit: the stake can be withdrawn `unstakeDelay` seconds from now.
    function requestUnstake() external {
        Evaluator storage e = evaluators[msg.sender];
        if (e.stake == 0) revert ZeroAmount();
        if (e.locks != 0) revert StakeLocked(msg.sender, e.locks);
        if (e.unstakeAt != 0) revert ExitPending(msg.sender, e.unstakeAt);
        uint64 at = uint64(block.timestamp) + unstakeDelay;
        e.unstakeAt = at;
        emit UnstakeRequested(msg.sender, at);
    }

    /// Withdraws the whole stake after the delay.
    function withdraw() external nonReentrant {
        Evaluator storage e = evaluators[msg.sender];
        if (e.unstakeAt == 0) revert NoExitRequested(msg.sender);
        if (block.timestamp < e.unstakeAt) revert TooEarly(e.unstakeAt, block.timestamp);
        uint256 amount = e.stake;
        e.stake = 0;
        e.unstakeAt = 0;
        token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    /// Publishes the caller's X25519 public key, to which Model Owners wrap test-set keys.
    function setEncryptionKey(bytes32 key) external {
        if (key == bytes32(0)) revert InvalidParameter("key");
        encryptionKeys[msg.sender] = key;
        emit EncryptionKeySet(msg.sender, key);
    }

    /// The X25519 public key `evaluator` published (zero if none).
    function encryptionKeyOf(address evaluator) external view returns (bytes32) {
        return encryptionKeys[evaluator];
    }

    /// din-core's `shuffled_index`, exactly as the task manager runs it on-chain, so
    /// clients can check assignments (it lives here because the task manager is at the
    /// contract size limit).
    function shuffledIndex(uint256 index, uint256 count, bytes32 seed) external pure returns (uint256) {
        if (count == 0 || count > type(uint32).max || index >= count) revert InvalidParameter("count");
        return DinAssignment.shuffledIndex(index, count, seed);
    }

    /// The stake of `evaluator`.
    function stakeOf(address evaluator) external view returns (uint256) {
        return evaluators[evaluator].stake;
    }

    /// Reserves `minStake` of `evaluator`'s free stake (stake not reserved for another
    /// task) for `taskId`: needs that much free and no pending exit.
    function lock(address evaluator, uint64 taskId) external {
        if (msg.sender != taskManager) revert NotTaskManager(msg.sender);
        Evaluator storage e = evaluators[evaluator];
        uint256 free = uint256(e.stake) - e.reserved;
        if (free < minStake) revert StakeTooLow(evaluator, free, minStake);
        if (e.unstakeAt != 0) revert ExitPending(evaluator, e.unstakeAt);
        if (reservations[evaluator][taskId] != 0) revert InvalidParameter("taskId");
        reservations[evaluator][taskId] = minStake;
        e.reserved += uint128(minStake);
        uint32 locks = e.locks + 1;
        e.locks = locks;
        emit Locked(evaluator, locks);
    }

    /// Releases `evaluator`'s reservation for `taskId` (what slashing left of it).
    function unlock(address evaluator, uint64 taskId) external {
        if (msg.sender != taskManager) revert NotTaskManager(msg.sender);
        Evaluator storage e = evaluators[evaluator];
        if (e.locks == 0) revert NotLocked(evaluator);
        e.reserved -= uint128(reservations[evaluator][taskId]);
        delete reservations[evaluator][taskId];
        uint32 locks = e.locks - 1;
        e.locks = locks;
        emit Unlocked(evaluator, locks);
    }

    /// Takes `slashPenalty` (or what is left of the reservation) from `evaluator`'s
    /// reservation for `taskId` and sends it to the treasury: an offence in one task never
    /// touches the stake backing another. Returns the amount taken.
    function slash(address evaluator, uint64 taskId) external nonReentrant returns (uint256 amount) {
        if (msg.sender != taskManager) revert NotTaskManager(msg.sender);
        Evaluator storage e = evaluators[evaluator];
        uint256 reserved = reservations[evaluator][taskId];
        amount = reserved < slashPenalty ? reserved : slashPenalty;
        reservations[evaluator][taskId] = reserved - amount;
        e.reserved -= uint128(amount);
        e.stake -= uint128(amount);
        if (amount != 0) token.safeTransfer(treasury, amount);
        emit Slashed(evaluator, amount, taskId);
    }
}
