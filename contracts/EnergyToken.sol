// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

/// @notice The dev deployment's payment token: a plain ERC-20 (6 decimals, like the stablecoins a real
/// deployment would pass in instead) that only the owner can mint.
contract EnergyToken is ERC20, Ownable2Step {
    constructor(address initialOwner) ERC20("V2V Energy Credit", "VEC") Ownable(initialOwner) {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
