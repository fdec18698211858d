// The two undici modules src/net/undici-slim.ts imports by path (CommonJS: the default import is
// module.exports). Their real types are the package's, applied there.
declare module "undici/lib/dispatcher/agent.js" {
  const Agent: unknown;
  export default Agent;
}
declare module "undici/lib/api/api-request.js" {
  const request: unknown;
  export default request;
}
