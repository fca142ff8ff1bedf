"""Every way an identity check fails, under one base, each carrying the values it compared."""

from __future__ import annotations

from typing import Any

from v2vchain.errors import ConfigError, InvalidInput, V2VError


class InvalidDid(InvalidInput):
    """A DID is not a well-formed did:pkh:eip155 identifier, so no document can be resolved for it."""


class CredentialError(V2VError):
    """A credential, presentation or access secret was rejected; `values` holds what the check compared."""

    def __init__(self, message: str, **values: Any) -> None:
        super().__init__(message)
        self.values = values


class MalformedCredential(CredentialError, InvalidInput):
    """The credential JSON is not the VehicleCredential shape."""


class MalformedPresentation(CredentialError, InvalidInput):
    """The presentation JSON is not the expected shape."""


class UnknownContext(CredentialError, InvalidInput):
    """A document names a JSON-LD context this package does not ship: its terms could mean anything."""


class ForgedCredential(CredentialError):
    """An issuer proof does not recover to the credential's issuer."""


class WrongDeployment(CredentialError):
    """Signed for another chain or Registry than the verifier's."""


class CredentialNotYetValid(CredentialError):
    """validFrom is in the future."""


class CredentialExpired(CredentialError):
    """validUntil (or the registered expiry) has passed."""


class SubjectMismatch(CredentialError):
    """The presentation's holder is not the credential's subject."""


class ForgedPresentation(CredentialError):
    """The presentation's signature does not recover to its holder."""


class UnknownChallenge(CredentialError):
    """The challenge was never issued by this verifier (or was forgotten after expiry)."""


class ChallengeExpired(CredentialError):
    """The challenge was issued too long ago."""


class ReplayedChallenge(CredentialError):
    """The challenge was already used by an earlier presentation."""


class WrongDomain(CredentialError):
    """The presentation was made for another verifier."""


class NotRegistered(CredentialError):
    """The Registry has no credential for the vehicle."""


class CredentialRevoked(CredentialError):
    """The issuer revoked the vehicle's credential on-chain."""


class IssuerNotAuthorised(CredentialError):
    """The Registry no longer (or never) authorised the vehicle's issuer."""


class CredentialSuperseded(CredentialError):
    """The Registry holds a different credential for the vehicle (another expiry) than the one presented."""


class VerifierBusy(CredentialError):
    """More challenges were answered within one challenge lifetime than the verifier keeps spent: try again later."""


class AccessDenied(CredentialError):
    """The access secret shown at the meeting does not hash to the commitment on-chain."""


class KeystoreError(ConfigError):
    """A keystore could not be created, read or unlocked."""


class KeystoreNotFound(KeystoreError):
    """No keystore file at the configured path."""


class KeystoreExists(KeystoreError):
    """Refused to overwrite a keystore: the key in it may hold funds and a registration."""


class KeystoreCorrupt(KeystoreError):
    """The file is not a readable eth-account keystore."""


class WrongPassword(KeystoreError):
    """The password does not unlock the keystore (MAC mismatch)."""


class PasswordUnavailable(KeystoreError):
    """No password: the environment variable is unset and there is no terminal to prompt on."""


class PasswordMismatch(KeystoreError):
    """The password and its confirmation differ."""
