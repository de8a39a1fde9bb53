#!/bin/sh
# crossborder ECR token refresher: fetches an ECR authorization token and upserts a docker-registry
# Secret with it in every listed namespace. ECR tokens live 12 hours; the CronJob runs well inside that.
#
# Environment (set by the CronJob from the stack config and the slow-link profile):
#   REGION               AWS region of the registry, e.g. cn-northwest-1
#   REGISTRY             registry host, e.g. 123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn
#   NAMESPACES           space-separated namespaces that get the Secret
#   SECRET_NAME          name of the Secret in each namespace
#   ATTEMPTS             attempts per step before giving up
#   BACKOFF_SECONDS      first wait between attempts; doubles up to MAX_BACKOFF_SECONDS
#   MAX_BACKOFF_SECONDS
# Credentials come from the environment the pod gets (IRSA web identity, or a referenced Secret); the
# token is never printed. Exit 0 when every namespace was updated, 1 otherwise. When no token can be
# fetched, no Secret is touched.
set -u

log() { echo "ecr-refresher: $*" >&2; }

# retry WHAT COMMAND...: run COMMAND until it succeeds, ATTEMPTS times at most, with exponential backoff.
retry() {
    what=$1
    shift
    attempt=1
    delay=$BACKOFF_SECONDS
    while ! "$@"; do
        if [ "$attempt" -ge "$ATTEMPTS" ]; then
            log "$what failed after $attempt attempts"
            return 1
        fi
        log "$what failed (attempt $attempt of $ATTEMPTS), retrying in ${delay}s"
        sleep "$delay"
        attempt=$((attempt + 1))
        delay=$((delay * 2))
        if [ "$delay" -gt "$MAX_BACKOFF_SECONDS" ]; then delay=$MAX_BACKOFF_SECONDS; fi
    done
}

fetch_token() {
    TOKEN=$(aws ecr get-login-password --region "$REGION") && [ -n "$TOKEN" ]
}

apply_secret() {
    printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: %s\n  labels:\n    app.kubernetes.io/managed-by: ecr-refresher\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: %s\n' \
        "$SECRET_NAME" "$1" "$DOCKER_CONFIG_B64" |
        kubectl apply --server-side --force-conflicts --field-manager=ecr-refresher -f -
}

TOKEN=""
retry "fetching the ECR token" fetch_token || exit 1
AUTH=$(printf 'AWS:%s' "$TOKEN" | base64 | tr -d '\n')
DOCKER_CONFIG_B64=$(printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY" "$AUTH" | base64 | tr -d '\n')

failed=0
for ns in $NAMESPACES; do
    if retry "updating $ns/$SECRET_NAME" apply_secret "$ns"; then
        log "updated $ns/$SECRET_NAME"
    else
        failed=$((failed + 1))
    fi
done
if [ "$failed" -ne 0 ]; then
    log "$failed namespace(s) not updated"
    exit 1
fi
