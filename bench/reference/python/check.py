"""Reference check, written the way public boto3 sample scripts are.

Read the API key from Secrets Manager, GET the portal's backup service
state with a Bearer key, publish to SNS when the service is not enabled.
bench/run times it as a whole process, start to exit.

Environment: PORTAL_URL, SECRET_ID, TOPIC_ARN, AWS_ENDPOINT_URL (boto3
reads it too), AWS_REGION and credentials as usual.
"""
import json
import os
import urllib.error
import urllib.parse
import urllib.request

import boto3


def main():
    portal_url = os.environ["PORTAL_URL"].rstrip("/")
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None

    sm = boto3.client("secretsmanager", endpoint_url=endpoint)
    secret = sm.get_secret_value(SecretId=os.environ["SECRET_ID"])["SecretString"]
    try:
        api_key = json.loads(secret).get("apiKey", secret)
    except ValueError:
        api_key = secret  # a plain-text secret is the key itself

    req = urllib.request.Request(
        portal_url + "/api/2.0/backup/getservicestate",
        headers={"Authorization": "Bearer " + api_key, "Accept": "application/json"},
    )
    status, enabled = 0, None
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status = resp.status
            enabled = json.load(resp).get("response", {}).get("enabled")
    except urllib.error.HTTPError as e:
        status = e.code
    except (urllib.error.URLError, ValueError):
        pass
    healthy = status == 200 and enabled is True
    host = urllib.parse.urlsplit(portal_url).netloc
    print(json.dumps({"portal": host, "httpStatus": status, "enabled": enabled, "healthy": healthy}))

    if not healthy:
        sns = boto3.client("sns", endpoint_url=endpoint)
        sns.publish(
            TopicArn=os.environ["TOPIC_ARN"],
            Subject="DocSpace backup check failed: " + host,
            Message="Backup service state: HTTP %d, enabled=%s" % (status, enabled),
        )


if __name__ == "__main__":
    main()
