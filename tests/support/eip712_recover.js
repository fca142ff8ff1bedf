// An independent EthereumEip712Signature2021 check (MetaMask's eth-sig-util, the EIP-712 code Veramo verifies
// with): reads a JSON list of signed documents on stdin, prints the JSON list of the addresses their proofs
// recover to. It rebuilds the typed data from each document alone, as the suite says: the document with its proof
// options (the proof less proofValue and eip712) as `proof` is the message; eip712 gives domain, types and
// primaryType.
"use strict";
const { recoverTypedSignature, SignTypedDataVersion } = require("@metamask/eth-sig-util");

let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const recovered = JSON.parse(input).map((document) => {
    const { proof, ...unsigned } = document;
    const { proofValue, eip712, ...options } = proof;
    const data = { ...eip712, message: { ...unsigned, proof: options } };
    return recoverTypedSignature({ data, signature: proofValue, version: SignTypedDataVersion.V4 });
  });
  process.stdout.write(JSON.stringify(recovered));
});
