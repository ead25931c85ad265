// node-fetch 2 (client-node's HTTP client) takes URL from node:url and requires whatwg-url
// only as a fallback for runtimes without one. Bundled, whatwg-url adds ~280 KB (tr46's
// Unicode tables) and its require('punycode') makes Node print a deprecation warning.
export const URL = globalThis.URL;
export default { URL };
