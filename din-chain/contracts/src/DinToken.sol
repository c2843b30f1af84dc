// SPDX-License-Identifier: Apache-2.0 OR MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title DIN token
/// @notice The ERC-20 used for evaluator stakes, task deposits and fees (paper §3.3).
/// The whole supply is minted once, to the deployer; there is no owner and no further minting.
contract DinToken is ERC20 {
    /// @param initialSupply tokens (in wei units, 18 decimals) minted to the deployer
    constructor(uint256 initialSupply) ERC20("DIN Token", "DIN") {
        _mint(msg.sender, initialSupply);
    }
}
