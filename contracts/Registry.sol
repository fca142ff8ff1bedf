// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";

/// @notice Who may trade: vehicles holding a credential signed by an issuer the admin authorised.
/// One DID is bound to one address at a time (Sybil), and an issuer can revoke what it issued.
contract Registry is IRegistry, EIP712, Ownable2Step {
    error IssuerAlreadyAuthorised(address issuer);
    error IssuerNotAuthorised(address issuer);
    error NoRoles();
    error UnknownRoles(uint8 roles);
    error ZeroDid();
    error CredentialExpired(address vehicle, uint40 expiry, uint256 nowTs);
    error CredentialAlreadyUsed(bytes32 digest);
    error DidAlreadyBound(bytes32 didHash, address vehicle);
    error VehicleAlreadyRegistered(address vehicle);
    error NotRegistered(address vehicle);
    error CredentialRevoked(address vehicle);
    error NotVehicleIssuer(address caller, address issuer);
    error MissingRole(address vehicle, uint8 roles, uint8 required);
    error ZeroAddress();

    event IssuerAdded(address indexed issuer);
    event IssuerRemoved(address indexed issuer);
    event VehicleRegistered(address indexed vehicle, bytes32 indexed didHash, address indexed issuer, uint8 roles, uint40 expiry);
    event VehicleRevoked(address indexed vehicle, bytes32 indexed didHash, address indexed issuer);

    uint8 public constant ROLE_BUYER = 1;
    uint8 public constant ROLE_SELLER = 2;
    uint8 private constant ALL_ROLES = ROLE_BUYER | ROLE_SELLER;

    bytes32 public constant CREDENTIAL_TYPEHASH =
        keccak256("Credential(address vehicle,bytes32 didHash,uint8 roles,uint64 expiry)");

    struct Vehicle {
        address issuer; // packed with the three fields below into one slot: one SLOAD per trade check
        uint40 expiry;
        uint8 roles;
        bool revoked;
    }

    mapping(address => bool) public isIssuer;
    mapping(address => Vehicle) public vehicles;
    mapping(address => bytes32) public didOf;
    mapping(bytes32 => address) public vehicleOfDid;
    mapping(bytes32 => bool) public credentialUsed;

    constructor(address initialOwner) EIP712("V2V Registry", "1") Ownable(initialOwner) {}

    function addIssuer(address issuer) external onlyOwner {
        if (issuer == address(0)) revert ZeroAddress();
        if (isIssuer[issuer]) revert IssuerAlreadyAuthorised(issuer);
        isIssuer[issuer] = true;
        emit IssuerAdded(issuer);
    }

    /// @dev Removing an issuer suspends every credential it issued (checked in requireActive) and frees their
    /// vehicles and DIDs for a credential from another issuer.
    function removeIssuer(address issuer) external onlyOwner {
        if (!isIssuer[issuer]) revert IssuerNotAuthorised(issuer);
        isIssuer[issuer] = false;
        emit IssuerRemoved(issuer);
    }

    /// @notice Anyone may submit a vehicle's credential: the issuer's signature binds the vehicle address.
    function register(address vehicle, bytes32 didHash, uint8 roles, uint64 expiry, bytes calldata issuerSig)
        external
    {
        if (vehicle == address(0)) revert ZeroAddress();
        if (didHash == bytes32(0)) revert ZeroDid();
        if (roles == 0) revert NoRoles();
        if (roles & ~ALL_ROLES != 0) revert UnknownRoles(roles);
        if (expiry <= block.timestamp || expiry > type(uint40).max) {
            revert CredentialExpired(vehicle, uint40(expiry > type(uint40).max ? type(uint40).max : expiry), block.timestamp);
        }
        bytes32 digest = credentialDigest(vehicle, didHash, roles, expiry);
        if (credentialUsed[digest]) revert CredentialAlreadyUsed(digest);
        address issuer = ECDSA.recover(digest, issuerSig);
        if (!isIssuer[issuer]) revert IssuerNotAuthorised(issuer);

        if (_bound(vehicles[vehicle])) revert VehicleAlreadyRegistered(vehicle);
        address holder = vehicleOfDid[didHash];
        if (holder != address(0) && holder != vehicle) {
            if (_bound(vehicles[holder])) revert DidAlreadyBound(didHash, holder);
            delete didOf[holder];
            // The DID moved on: the old credential ends now, so re-authorising its issuer cannot revive it.
            Vehicle storage displaced = vehicles[holder];
            if (displaced.expiry > block.timestamp) displaced.expiry = uint40(block.timestamp);
        }
        bytes32 previousDid = didOf[vehicle];
        if (previousDid != bytes32(0) && previousDid != didHash) delete vehicleOfDid[previousDid];

        credentialUsed[digest] = true;
        vehicles[vehicle] = Vehicle({issuer: issuer, expiry: uint40(expiry), roles: roles, revoked: false});
        didOf[vehicle] = didHash;
        vehicleOfDid[didHash] = vehicle;
        emit VehicleRegistered(vehicle, didHash, issuer, roles, uint40(expiry));
    }

    /// @notice Only the issuer that issued a credential may revoke it; the DID is released for a new key.
    function revoke(address vehicle) external {
        Vehicle storage v = vehicles[vehicle];
        if (v.issuer == address(0)) revert NotRegistered(vehicle);
        if (v.issuer != msg.sender) revert NotVehicleIssuer(msg.sender, v.issuer);
        if (v.revoked) revert CredentialRevoked(vehicle);
        v.revoked = true;
        bytes32 didHash = didOf[vehicle];
        delete vehicleOfDid[didHash];
        delete didOf[vehicle];
        emit VehicleRevoked(vehicle, didHash, msg.sender);
    }

    /// @notice Reverts with the reason a vehicle may not trade in `role` now; markets call this on every entry.
    function requireActive(address vehicle, uint8 role) external view {
        Vehicle memory v = vehicles[vehicle];
        if (v.issuer == address(0)) revert NotRegistered(vehicle);
        if (v.revoked) revert CredentialRevoked(vehicle);
        if (v.expiry <= block.timestamp) revert CredentialExpired(vehicle, v.expiry, block.timestamp);
        if (v.roles & role != role) revert MissingRole(vehicle, v.roles, role);
        if (!isIssuer[v.issuer]) revert IssuerNotAuthorised(v.issuer);
    }

    function isActive(address vehicle, uint8 role) external view returns (bool) {
        Vehicle memory v = vehicles[vehicle];
        return v.issuer != address(0) && !v.revoked && v.expiry > block.timestamp && v.roles & role == role
            && isIssuer[v.issuer];
    }

    function credentialDigest(address vehicle, bytes32 didHash, uint8 roles, uint64 expiry)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(CREDENTIAL_TYPEHASH, vehicle, didHash, roles, expiry)));
    }

    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @dev A vehicle holds its address and DID while its credential is unrevoked, unexpired and from an issuer
    /// still authorised: a removed issuer's vehicles are free to register with another issuer.
    function _bound(Vehicle memory v) private view returns (bool) {
        return v.issuer != address(0) && !v.revoked && v.expiry > block.timestamp && isIssuer[v.issuer];
    }
}
