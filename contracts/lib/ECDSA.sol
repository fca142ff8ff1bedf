// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice Signature recovery that rejects the three classic forgeries: malleable high-s,
/// a v other than 27/28, and signatures that recover to the zero address.
library ECDSA {
    error BadSignatureLength(uint256 length);
    error BadSignatureS(bytes32 s);
    error BadSignatureV(uint8 v);
    error InvalidSignature();

    // secp256k1n / 2: any s above this has a twin (n - s) that also verifies.
    uint256 private constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    function recover(bytes32 digest, bytes calldata sig) internal pure returns (address signer) {
        if (sig.length != 65) revert BadSignatureLength(sig.length);
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (uint256(s) > HALF_ORDER) revert BadSignatureS(s);
        if (v != 27 && v != 28) revert BadSignatureV(v);
        signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) revert InvalidSignature();
    }
}
