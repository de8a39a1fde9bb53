#!/bin/sh
# crossborder: a Pulumi runner inside the China VPC.
#
# `pulumi up -s china` must run where it can reach the private EKS endpoint: a runner inside the China VPC.
# Such a runner cannot fetch Pulumi's CLI from get.pulumi.com, its provider plugins from GitHub releases, or
# npm packages from registry.npmjs.org without crossing the border. This script moves them once, through a
# bucket inside China, and sets the runner up to use only that bucket and an npm mirror inside China.
#
#   stacks/runner/bootstrap.sh stage   s3://<bucket>/<prefix>   outside China: download, then upload (needs
#                                                              curl and an AWS CLI profile for the China account)
#   stacks/runner/bootstrap.sh install s3://<bucket>/<prefix>   on the runner: install from the bucket only
#
# The plugin versions are the exact provider versions of package-lock.json (test/stacks/runner.test.ts
# fails when they drift): a runner with another plugin version would plan with a different provider.
#
# The chart cache travels too (run crossborder charts pull before stage): the china stack installs Flux from
# the locked flux2 archive on the runner's disk, since the chart in the private China namespace would need a
# helm registry login that helm.v3.Release cannot do. `pulumi up` checks the archive against catalog.lock.
set -eu

PULUMI_CLI_VERSION=3.248.0
# name=version for every resource plugin the program uses.
PLUGINS="alicloud=3.108.0 aws=7.48.0 kubernetes=4.34.2 random=4.21.2"
# Alibaba's npm mirror, inside China.
NPM_REGISTRY="${CROSSBORDER_NPM_REGISTRY:-https://registry.npmmirror.com}"
AWS_PROFILE_CHINA="${CROSSBORDER_AWS_PROFILE:-china}"
PREFIX_DIR="${CROSSBORDER_PULUMI_HOME:-/opt/pulumi}"
ARCH="${CROSSBORDER_ARCH:-amd64}"
REGION="${CROSSBORDER_REGION:-cn-northwest-1}"

usage() {
    echo "usage: $0 stage|install s3://<bucket>/<prefix>" >&2
    exit 2
}

cli_tarball() { echo "pulumi-v${PULUMI_CLI_VERSION}-linux-$([ "$ARCH" = amd64 ] && echo x64 || echo arm64).tar.gz"; }
plugin_tarball() { echo "pulumi-resource-$1-v$2-linux-${ARCH}.tar.gz"; }

# crossborder's chart cache (gitops/engine/paths.ts): CROSSBORDER_CHARTS, else $CROSSBORDER_CACHE/charts, ...
charts_dir() { echo "${CROSSBORDER_CHARTS:-${CROSSBORDER_CACHE:-${XDG_CACHE_HOME:-${HOME:?set HOME or CROSSBORDER_CHARTS}/.cache}/crossborder}/charts}"; }

stage() {
    CHARTS=$(charts_dir)
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    curl -fsSL --retry 5 -o "$work/$(cli_tarball)" "https://get.pulumi.com/releases/sdk/$(cli_tarball)"
    for p in $PLUGINS; do
        name=${p%%=*}
        version=${p#*=}
        curl -fsSL --retry 5 -o "$work/$(plugin_tarball "$name" "$version")" \
            "https://github.com/pulumi/pulumi-${name}/releases/download/v${version}/$(plugin_tarball "$name" "$version")"
    done
    if ! ls "$CHARTS"/*/ >/dev/null 2>&1; then
        echo "bootstrap: no chart archives in $CHARTS: run crossborder charts pull first (or set CROSSBORDER_CHARTS)" >&2
        exit 1
    fi
    cp -R "$CHARTS" "$work/charts"
    aws --profile "$AWS_PROFILE_CHINA" s3 cp --recursive "$work/" "$1/"
    echo "staged Pulumi ${PULUMI_CLI_VERSION}, plugins ($PLUGINS) and the chart cache in $1"
}

install() {
    CHARTS=$(charts_dir)
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    aws s3 cp --recursive "$1/" "$work/"
    mkdir -p "$PREFIX_DIR"
    tar -xzf "$work/$(cli_tarball)" -C "$PREFIX_DIR"
    pulumi="$PREFIX_DIR/pulumi/pulumi"
    for p in $PLUGINS; do
        name=${p%%=*}
        version=${p#*=}
        "$pulumi" plugin install resource "$name" "$version" --file "$work/$(plugin_tarball "$name" "$version")"
    done
    if [ -d "$work/charts" ]; then
        mkdir -p "$CHARTS"
        cp -R "$work/charts/." "$CHARTS/"
    fi
    bucket=${1#s3://}
    # Any plugin the engine still asks for is looked up inside China (the bucket's HTTPS endpoint, or
    # CROSSBORDER_PLUGIN_URL), never on GitHub: the engine appends the tarball's name to this base.
    plugin_url="${CROSSBORDER_PLUGIN_URL:-https://${bucket%%/*}.s3.${REGION}.amazonaws.com.cn/${bucket#*/}}"
    cat > "${CROSSBORDER_PROFILE_FILE:-/etc/profile.d/crossborder-pulumi.sh}" <<PROFILE
export PATH="$PREFIX_DIR/pulumi:\$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES='^.*\$=${plugin_url}'
export npm_config_registry='${NPM_REGISTRY}'
PROFILE
    echo "installed Pulumi ${PULUMI_CLI_VERSION}, plugins ($PLUGINS) and the chart cache ($CHARTS) from $1; npm uses ${NPM_REGISTRY}"
}

[ $# -eq 2 ] || usage
case "$2" in s3://?*/?*) ;; *) usage ;; esac
case "$1" in
stage) stage "$2" ;;
install) install "$2" ;;
*) usage ;;
esac
