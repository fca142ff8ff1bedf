// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice Test fixture: an ERC-20 that, once armed, calls back into a target (the market) from inside
/// transfer/transferFrom, catches the outcome and records it. The hook fires once per arming.
contract ReentrantToken {
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    bool public armed;
    address public target;
    bytes public reentryCall;
    bool public reentered;
    bool public reentrySucceeded;
    bytes public reentryResult; // the revert data when the re-entry failed

    function arm(address target_, bytes calldata call_) external {
        armed = true;
        target = target_;
        reentryCall = call_;
    }

    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        _reenter();
        _move(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        _reenter();
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= amount, "allowance");
            allowance[from][msg.sender] = allowed - amount;
        }
        _move(from, to, amount);
        return true;
    }

    function _reenter() private {
        if (!armed) return;
        armed = false;
        (bool ok, bytes memory result) = target.call(reentryCall);
        // An empty failure is out-of-gas, not the target's answer: fail the outer call so gas estimation allows more.
        require(ok || result.length != 0, "re-entry ran out of gas");
        reentered = true;
        reentrySucceeded = ok;
        reentryResult = result;
    }

    function _move(address from, address to, uint256 amount) private {
        require(balanceOf[from] >= amount, "balance");
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }
}
