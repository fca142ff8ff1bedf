// Veramo (@veramo/credential-eip712 in a core agent, with the did:pkh resolver), an independent verifier of
// EthereumEip712Signature2021 proofs: reads a JSON list of calls on stdin, each {method, args} with method
// "verifyCredential" or "verifyPresentation" and args as the agent takes them, and prints the JSON list of
// {verified, error} it answers (error: Veramo's errorCode, or the message of what it threw). It needs no network:
// did:pkh resolves from the DID alone, and this suite hashes the JSON document, loading no JSON-LD context.
import { createAgent } from "@veramo/core";
import { CredentialProviderEIP712 } from "@veramo/credential-eip712";
import { CredentialPlugin } from "@veramo/credential-w3c";
import { getDidPkhResolver } from "@veramo/did-provider-pkh";
import { DIDResolverPlugin } from "@veramo/did-resolver";

const agent = createAgent({
  plugins: [new DIDResolverPlugin({ ...getDidPkhResolver() }), new CredentialPlugin([new CredentialProviderEIP712()])],
});

let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", async () => {
  const results = [];
  for (const { method, args } of JSON.parse(input)) {
    try {
      const result = await agent[method](args);
      results.push({ verified: result.verified, error: result.error?.errorCode ?? null });
    } catch (error) {
      results.push({ verified: false, error: error.message });
    }
  }
  process.stdout.write(JSON.stringify(results));
});
