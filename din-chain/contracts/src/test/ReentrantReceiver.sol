// SPDX-License-Identifier: Apache-2.0 OR MIT
pragma solidity 0.8.30;

import {ITokenReceiver} from "./CallbackToken.sol";

/// @title Reentrant receiver (tests only)
/// @notice A malicious participant: its owner drives it through `exec`; when a reward
/// arrives it calls back into the payer (`claim` again) and records what happened.
contract ReentrantReceiver is ITokenReceiver {
    address public immutable controller;
    address public target;
    bytes public reentryCall;
    uint256 public reentryAttempts;
    bool public reentrySucceeded;
    bytes public reentryError;

    error NotController();

    constructor() {
        controller = msg.sender;
    }

    /// Forwards `data` to `to` as this contract (bubbling reverts).
    function exec(address to, bytes calldata data) external returns (bytes memory) {
        if (msg.sender != controller) revert NotController();
        (bool ok, bytes memory ret) = to.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    /// Arms the attack: on the next incoming transfer, call `to` with `data`.
    function arm(address to, bytes calldata data) external {
        if (msg.sender != controller) revert NotController();
        target = to;
        reentryCall = data;
    }

    function onTokenReceived(address, uint256) external {
        if (target == address(0)) return;
        address to = target;
        target = address(0);
        ++reentryAttempts;
        (bool ok, bytes memory ret) = to.call(reentryCall);
        reentrySucceeded = ok;
        reentryError = ret;
    }
}
