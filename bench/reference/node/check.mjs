// Reference check, written the way public AWS SDK for JavaScript v3 sample
// scripts are: read the API key from Secrets Manager, GET the portal's
// backup service state with a Bearer key, publish to SNS when the service
// is not enabled. bench/run times it as a whole process, start to exit.
//
// Environment: PORTAL_URL, SECRET_ID, TOPIC_ARN, AWS_ENDPOINT_URL (the SDK
// reads it too), AWS_REGION and credentials as usual.
import { SecretsManagerClient, GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { SNSClient, PublishCommand } from "@aws-sdk/client-sns";

const { PORTAL_URL, SECRET_ID, TOPIC_ARN, AWS_ENDPOINT_URL } = process.env;
const clientConfig = AWS_ENDPOINT_URL ? { endpoint: AWS_ENDPOINT_URL } : {};

const sm = new SecretsManagerClient(clientConfig);
const secret = await sm.send(new GetSecretValueCommand({ SecretId: SECRET_ID }));
let apiKey = secret.SecretString;
try {
  apiKey = JSON.parse(secret.SecretString).apiKey ?? apiKey;
} catch {
  // a plain-text secret is the key itself
}

const url = PORTAL_URL.replace(/\/+$/, "") + "/api/2.0/backup/getservicestate";
const res = await fetch(url, {
  headers: { Authorization: `Bearer ${apiKey}`, Accept: "application/json" },
  signal: AbortSignal.timeout(10000),
});
let enabled = null;
if (res.ok) {
  enabled = (await res.json())?.response?.enabled ?? null;
}
const healthy = res.ok && enabled === true;
console.log(JSON.stringify({ portal: new URL(PORTAL_URL).host, httpStatus: res.status, enabled, healthy }));

if (!healthy) {
  const sns = new SNSClient(clientConfig);
  await sns.send(new PublishCommand({
    TopicArn: TOPIC_ARN,
    Subject: `DocSpace backup check failed: ${new URL(PORTAL_URL).host}`,
    Message: `Backup service state: HTTP ${res.status}, enabled=${enabled}`,
  }));
}
