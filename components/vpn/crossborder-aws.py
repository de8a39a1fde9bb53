#!/usr/bin/python3
# crossborder-aws: the few AWS calls the border VPN endpoint makes at boot and while it runs, signed with
# Signature Version 4 from the instance role's IMDSv2 credentials, with nothing but Python's standard
# library. Ubuntu 24.04 has no awscli package (only a snap, which would have to come from outside China),
# and its cloud images ship python3 (cloud-init is written in it).
#
#   crossborder-aws attach-eni ENI_ID                   attach the fixed interface as device 1
#   crossborder-aws fill-secret FILE PLACEHOLDER PARAM  replace PLACEHOLDER in FILE by the SecureString PARAM
#                                                       (the key goes from the API into the file only: never
#                                                       into a command line, the environment or a log)
#   crossborder-aws set-unhealthy REASON                tell the auto-scaling group to replace this instance
#   crossborder-aws tunnel-health                       publish how many tunnels are up; after FAILS_BEFORE_REPLACE
#                                                       checks in a row with none, set-unhealthy
#
# Settings come from /etc/crossborder/aws.conf (KEY=VALUE: REGION, DNS_SUFFIX, ENDPOINT_NAME, METRIC_NAMESPACE,
# GRACE_SECONDS, FAILS_BEFORE_REPLACE); every request has a time limit and a bounded response.
import datetime
import hashlib
import hmac
import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

CONF = "/etc/crossborder/aws.conf"
STATE = "/var/lib/crossborder"
IMDS = "http://169.254.169.254"
TIMEOUT = 20
MAX_RESPONSE = 1024 * 1024


def fail(message):
    sys.stderr.write("crossborder-aws: %s\n" % message)
    sys.exit(1)


def settings():
    conf = {}
    with open(CONF) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                conf[key.strip()] = value.strip()
    for key in ("REGION", "DNS_SUFFIX"):
        if not conf.get(key):
            fail("%s sets no %s" % (CONF, key))
    return conf


def http(request):
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, response.read(MAX_RESPONSE)
    except urllib.error.HTTPError as e:
        return e.code, e.read(MAX_RESPONSE)
    except (urllib.error.URLError, OSError) as e:
        fail("%s %s: %s" % (request.get_method(), request.full_url, e))


def imds(path, token=None):
    if token is None:
        status, body = http(
            urllib.request.Request(
                IMDS + "/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"}
            )
        )
        if status != 200:
            fail("the instance metadata service gave no token (HTTP %d)" % status)
        token = body.decode()
    status, body = http(urllib.request.Request(IMDS + path, headers={"X-aws-ec2-metadata-token": token}))
    if status != 200:
        fail("instance metadata %s: HTTP %d" % (path, status))
    return body.decode(), token


def credentials():
    role, token = imds("/latest/meta-data/iam/security-credentials/")
    doc, _ = imds("/latest/meta-data/iam/security-credentials/" + role.strip().splitlines()[0], token)
    creds = json.loads(doc)
    instance, _ = imds("/latest/meta-data/instance-id", token)
    return creds, instance.strip()


def sign(conf, creds, service, host, body, headers):
    """Signature Version 4 (AWS General Reference, "Create a signed AWS API request")."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    headers = dict(headers, host=host, **{"x-amz-date": amz_date, "x-amz-security-token": creds["Token"]})
    names = sorted(headers)  # every key is lower case already
    canonical_headers = "".join("%s:%s\n" % (k, str(headers[k]).strip()) for k in names)
    signed = ";".join(names)
    payload = hashlib.sha256(body).hexdigest()
    canonical = "\n".join(["POST", "/", "", canonical_headers, signed, payload])
    scope = "%s/%s/%s/aws4_request" % (day, conf["REGION"], service)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + creds["SecretAccessKey"]).encode()
    for part in (day, conf["REGION"], service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        creds["AccessKeyId"],
        scope,
        signed,
        signature,
    )
    return headers


def call(conf, service, body, content_type, extra=None):
    creds, instance = credentials()
    host = "%s.%s.%s" % (service, conf["REGION"], conf["DNS_SUFFIX"])
    headers = sign(conf, creds, service, host, body, dict({"content-type": content_type}, **(extra or {})))
    url = "https://%s/" % host
    status, reply = http(urllib.request.Request(url, data=body, method="POST", headers=headers))
    if status >= 300:
        fail("%s %s: HTTP %d: %s" % (service, body[:80].decode(errors="replace"), status, reply[:400].decode(errors="replace")))
    return reply, instance


def query(conf, service, params):
    body = urllib.parse.urlencode(sorted(params.items())).encode()
    return call(conf, service, body, "application/x-www-form-urlencoded; charset=utf-8")


def instance_id():
    return credentials()[1]


def attach_eni(conf, eni):
    instance = instance_id()
    query(
        conf,
        "ec2",
        {
            "Action": "AttachNetworkInterface",
            "Version": "2016-11-15",
            "NetworkInterfaceId": eni,
            "InstanceId": instance,
            "DeviceIndex": "1",
        },
    )


def fill_secret(conf, path, placeholder, name):
    body = json.dumps({"Name": name, "WithDecryption": True}).encode()
    reply, _ = call(conf, "ssm", body, "application/x-amz-json-1.1", {"x-amz-target": "AmazonSSM.GetParameter"})
    value = json.loads(reply)["Parameter"]["Value"]
    with open(path) as f:
        text = f.read()
    if placeholder not in text:
        fail("%s holds no %s" % (path, placeholder))
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text.replace(placeholder, value))
    os.replace(tmp, path)


def set_unhealthy(conf, reason):
    sys.stderr.write("crossborder-aws: marking this instance unhealthy: %s\n" % reason)
    query(
        conf,
        "autoscaling",
        {
            "Action": "SetInstanceHealth",
            "Version": "2011-01-01",
            "InstanceId": instance_id(),
            "HealthStatus": "Unhealthy",
            "ShouldRespectGracePeriod": "false",
        },
    )


def tunnels_up():
    try:
        out = subprocess.run(["swanctl", "--list-sas"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(1 for line in out.splitlines() if "ESTABLISHED" in line)


def uptime():
    with open("/proc/uptime") as f:
        return float(f.read().split()[0])


def tunnel_health(conf):
    up = tunnels_up()
    query(
        conf,
        "monitoring",
        {
            "Action": "PutMetricData",
            "Version": "2010-08-01",
            "Namespace": conf.get("METRIC_NAMESPACE", "crossborder/vpn"),
            "MetricData.member.1.MetricName": "TunnelsUp",
            "MetricData.member.1.Value": str(up),
            "MetricData.member.1.Dimensions.member.1.Name": "Endpoint",
            "MetricData.member.1.Dimensions.member.1.Value": conf.get("ENDPOINT_NAME", "vpn"),
        },
    )
    os.makedirs(STATE, exist_ok=True)
    counter = os.path.join(STATE, "tunnel-failures")
    fails = 0 if up or uptime() < float(conf.get("GRACE_SECONDS", "600")) else 1
    if fails:
        try:
            with open(counter) as f:
                fails += int(f.read().strip() or 0)
        except (OSError, ValueError):
            pass
    with open(counter, "w") as f:
        f.write(str(fails))
    if fails >= int(conf.get("FAILS_BEFORE_REPLACE", "5")):
        set_unhealthy(conf, "no tunnel established in %d checks" % fails)


def main(argv):
    conf = settings()
    if argv[:1] == ["attach-eni"] and len(argv) == 2:
        attach_eni(conf, argv[1])
    elif argv[:1] == ["fill-secret"] and len(argv) == 4:
        fill_secret(conf, argv[1], argv[2], argv[3])
    elif argv[:1] == ["set-unhealthy"] and len(argv) == 2:
        set_unhealthy(conf, argv[1])
    elif argv[:1] == ["tunnel-health"] and len(argv) == 1:
        tunnel_health(conf)
    else:
        sys.stderr.write(
            "usage: crossborder-aws attach-eni ENI | fill-secret FILE PLACEHOLDER PARAM | set-unhealthy REASON | tunnel-health\n"
        )
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
