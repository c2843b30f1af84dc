// SPDX-License-Identifier: Apache-2.0 OR MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// Receives a callback on every incoming transfer of a `CallbackToken`.
interface ITokenReceiver {
    /// Called after `value` tokens from `from` arrived.
    function onTokenReceived(address from, uint256 value) external;
}

/// @title Callback token (tests only)
/// @notice An ERC-20 that calls `onTokenReceived` on contract recipients after each
/// transfer, the way ERC-777 or ERC-1363 hooks do: the door a reentrancy attack needs.
contract CallbackToken is ERC20 {
    constructor(uint256 initialSupply) ERC20("Callback Token", "CBT") {
        _mint(msg.sender, initialSupply);
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        // Like ERC-1363: recipients that do not implement the hook are skipped.
        if (to.code.length != 0 && from != address(0)) {
            try ITokenReceiver(to).onTokenReceived(from, value) {} catch {}
        }
    }
}
