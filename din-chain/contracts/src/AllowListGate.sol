// SPDX-License-Identifier: Apache-2.0 OR MIT
pragma solidity 0.8.30;

import {IParticipantGate} from "./IParticipantGate.sol";

/// @title Allow-list gate
/// @notice The simplest participant gate: its deployer lists the accounts allowed in.
contract AllowListGate is IParticipantGate {
    /// The account that may change the list.
    address public immutable admin;
    /// Accounts allowed in.
    mapping(address => bool) public allowed;

    /// Only `admin` may change the list.
    error NotAdmin(address caller);

    /// `account` was allowed in (`true`) or removed (`false`).
    event AllowListChanged(address indexed account, bool allowed);

    constructor() {
        admin = msg.sender;
    }

    /// Allows (or removes) `accounts`.
    function setAllowed(address[] calldata accounts, bool value) external {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        for (uint256 i = 0; i < accounts.length; ++i) {
            allowed[accounts[i]] = value;
            emit AllowListChanged(accounts[i], value);
        }
    }

    /// @inheritdoc IParticipantGate
    function isAllowed(uint64, address participant, bytes calldata) external view returns (bool) {
        return allowed[participant];
    }
}
