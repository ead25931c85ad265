// @aws-sdk/credential-providers from the Lambda runtime, loaded by Node's CommonJS loader (see bundling.ts).
const id = '@aws-sdk/credential-providers';
module.exports = require(id);
