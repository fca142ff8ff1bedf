// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "./IERC20.sol";

/// @notice Token calls that accept tokens returning nothing and reject tokens returning false or reverting.
/// At most 32 bytes of return data are copied, so a hostile token cannot return-bomb the caller.
library SafeTransfer {
    error TokenTransferFailed(address token, address from, address to, uint256 amount);

    function safeTransfer(IERC20 token, address to, uint256 amount) internal {
        _call(token, abi.encodeCall(IERC20.transfer, (to, amount)), address(this), to, amount);
    }

    function safeTransferFrom(IERC20 token, address from, address to, uint256 amount) internal {
        _call(token, abi.encodeCall(IERC20.transferFrom, (from, to, amount)), from, to, amount);
    }

    function _call(IERC20 token, bytes memory data, address from, address to, uint256 amount) private {
        bool ok;
        uint256 retSize;
        uint256 retWord;
        assembly ("memory-safe") {
            ok := call(gas(), token, 0, add(data, 0x20), mload(data), 0, 0x20)
            retSize := returndatasize()
            retWord := mload(0)
        }
        bool accepted = retSize == 0 ? address(token).code.length != 0 : (retSize >= 32 && retWord == 1);
        if (!ok || !accepted) revert TokenTransferFailed(address(token), from, to, amount);
    }
}
