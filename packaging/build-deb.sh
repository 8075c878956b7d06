#!/usr/bin/env bash
# npm run package: builds dist/package/hostnet_<version>_<arch>.deb with dpkg-deb.
#
# The package holds the compiled agent and its production npm dependencies under
# /usr/lib/hostnet, wrappers on PATH, the systemd unit, a commented /etc/hostnet/agent.yaml
# (a conffile), bash completion, man pages made from the commands' --help, and the maintainer
# scripts in packaging/debian. Its architecture is the build machine's (amd64 here), not
# `all`: koffi's prebuilt native module (@koromix/koffi-linux-x64/linux_x64/koffi.node) is in it.
#
# Needs: node and npm (the repository's node_modules installed with `npm ci`), dpkg-deb, gzip.
# The TypeScript is compiled first (tsc; the generated proto types are in the repository).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD

die() { echo "build-deb.sh: $*" >&2; exit 1; }
for tool in node npm dpkg-deb dpkg dpkg-shlibdeps gzip md5sum; do
  command -v "$tool" >/dev/null || die "$tool not found (Debian: apt-get install dpkg-dev / nodejs)"
done
[[ -d node_modules ]] || die "node_modules missing: run npm ci first"

version=$(node -p 'require("./package.json").version')
changelog_version=$(sed -n '1s/^hostnet (\([^)]*\)).*/\1/p' packaging/debian/changelog)
[[ $changelog_version == "$version" ]] ||
  die "packaging/debian/changelog's first entry is $changelog_version, package.json says $version: add a changelog entry"
arch=$(dpkg --print-architecture)
case $arch in
  amd64) koffi_dir=linux_x64 ;;
  arm64) koffi_dir=linux_arm64 ;;
  *) die "no koffi prebuilt known for Debian architecture $arch" ;;
esac

echo "build-deb.sh: compiling (tsc)" >&2
npx tsc -p tsconfig.json
chmod 755 dist/agent/main.js dist/agent/cli/main.js dist/agent/cni-plugin/main.js

out=dist/package
root=$out/root
rm -rf "$root" "$out"/hostnet_*.deb
mkdir -p "$root"
lib=$root/usr/lib/hostnet

# The runtime only: agent, dataplane, dhcp without the test helpers, demos and source maps;
# package.json for "type": "module"; the .proto files for gRPC server reflection.
mkdir -p "$lib/dist"
cp -a dist/agent dist/dataplane dist/dhcp "$lib/dist/"
find "$lib/dist" -depth -type d \( -name testing -o -name demo \) -exec rm -rf {} +
find "$lib/dist" -name '*.map' -delete
cp package.json package-lock.json "$lib/"
(cd proto && find . -name '*.proto' -exec install -D -m 644 {} "$repo/$lib/proto/{}" \;)

# Production dependencies: a copy of node_modules pruned of the dev ones (offline; the copy
# has exactly the lock file's versions and koffi's native module already in place).
echo "build-deb.sh: copying node_modules and pruning dev dependencies" >&2
cp -a node_modules "$lib/"
(cd "$lib" && npm prune --omit=dev --ignore-scripts --offline --no-audit --no-fund --loglevel=error >/dev/null) ||
  die "npm prune --omit=dev failed"
rm -f "$lib/package-lock.json"
# koffi: the glibc build of this architecture only (the musl one is for Alpine).
koffi_pkg=$(find "$lib/node_modules/@koromix" -mindepth 1 -maxdepth 1 -name 'koffi-linux-*' | head -n1)
[[ -n $koffi_pkg && -f $koffi_pkg/$koffi_dir/koffi.node ]] || die "koffi's $koffi_dir/koffi.node not in node_modules/@koromix"
find "$koffi_pkg" -mindepth 1 -maxdepth 1 -type d ! -name "$koffi_dir" -exec rm -rf {} +
rm -f "$lib/node_modules/koffi/cnoke.cjs" # koffi's build-from-source installer, never run here
# What npm packages carry besides their code: their tests, CI and VCS files, HTML docs.
find "$lib/node_modules" -depth \( -type d \( -name test -o -name tests -o -name .github -o -name .husky \) \
  -o -type f \( -name .npmignore -o -name .gitattributes -o -name '.eslintrc*' -o -name .travis.yml -o -name '*.html' \
  -o -name inc-version.sh \) \) -exec rm -rf {} +
# Nothing under /usr/lib/hostnet is run by path (the wrappers run node on it); scripts with a
# #! line keep an exec bit, as Debian expects of them.
find "$lib" -type d -exec chmod 755 {} +
find "$lib" -type f -exec chmod 644 {} +
find "$lib" -type f -name '*.*js' -exec grep -lZ -m1 '^#!' {} + | xargs -0 -r chmod 755
find "$lib/node_modules" -type f -path '*/bin/*' ! -name '*.*' -exec grep -lZ -m1 '^#!' {} + | xargs -0 -r chmod 755

# The native module's libraries (libc6, libstdc++6, libgcc-s1), as dpkg-shlibdeps computes them.
shlibs=$(
  t=$(mktemp -d)
  mkdir "$t/debian" && printf 'Source: hostnet\n\nPackage: hostnet\nArchitecture: any\n' >"$t/debian/control"
  (cd "$t" && dpkg-shlibdeps -O -e "$repo/$koffi_pkg/$koffi_dir/koffi.node" 2>/dev/null)
  rm -rf "$t"
)
shlibs=${shlibs#shlibs:Depends=}
[[ -n $shlibs ]] || die "dpkg-shlibdeps found no libraries for koffi.node"

# Commands on PATH; hostnet-cni also where CNI runtimes look for plugins.
install -D -m 755 packaging/bin/hostnet-agent packaging/bin/hostnetctl packaging/bin/hostnet-cni -t "$root/usr/bin"
mkdir -p "$root/usr/lib/cni"
ln -s ../../bin/hostnet-cni "$root/usr/lib/cni/hostnet-cni"

install -D -m 644 systemd/hostnet-agent.service "$root/lib/systemd/system/hostnet-agent.service"
install -D -m 644 packaging/agent.yaml "$root/etc/hostnet/agent.yaml"
install -D -m 644 packaging/debian/lintian-overrides "$root/usr/share/lintian/overrides/hostnet"
install -D -m 644 packaging/hostnetctl.bash-completion "$root/usr/share/bash-completion/completions/hostnetctl"

doc=$root/usr/share/doc/hostnet
install -D -m 644 packaging/debian/copyright "$doc/copyright"
install -m 644 README.md "$doc/README.md" # the unit's Documentation= points here
gzip -9n <packaging/debian/changelog >"$doc/changelog.gz"
chmod 644 "$doc/changelog.gz"

# Man pages from the commands' own usage text, so they cannot disagree with --help.
date=$(date -u -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)" +%Y-%m-%d)
manpage() { # NAME SECTION SUMMARY USAGE DESCRIPTION
  local name=$1 section=$2 summary=$3 usage=$4 description=$5 dir=$root/usr/share/man/man$2
  mkdir -p "$dir"
  {
    printf '.TH %s %s %s "hostnet %s"\n' "${name^^}" "$section" "$date" "$version"
    printf '.SH NAME\n%s \\- %s\n' "${name//-/\\-}" "$summary"
    printf '.SH SYNOPSIS\n.nf\n%s\n.fi\n' "$(sed -e 's/\\/\\\\/g' -e 's/^\./\\\&./' -e 's/-/\\-/g' <<<"$usage")"
    printf '.SH DESCRIPTION\n%s\n' "$description"
    printf '.SH SEE ALSO\n'
    printf '/usr/share/doc/hostnet/README.md, hostnet\\-agent(8), hostnetctl(1), hostnet\\-cni(8)\n'
  } | gzip -9n >"$dir/$name.$section.gz"
  chmod 644 "$dir/$name.$section.gz"
}
manpage hostnet-agent 8 'per-host network agent' "$(node dist/agent/main.js --help)" \
'Runs as the systemd service hostnet\-agent.service. Settings come from /etc/hostnet/agent.yaml
(every key is listed there, commented), and flags win over the file. The gRPC API is served on
the unix socket /run/hostnet/agent.sock (mode 0660, group socketGroup: hostnet in the packaged
agent.yaml); the desired state, DHCP leases and address assignments are kept in
/var/lib/hostnet. SIGTERM stops the agent and leaves every device it made in place; SIGHUP asks
for a full pass.'
manpage hostnetctl 1 "the admin's view of a node's hostnet agent" "$(node dist/agent/cli/main.js --help)" \
'Talks to the local agent over /run/hostnet/agent.sock (root, or a member of the group hostnet),
another socket with \-\-socket or HOSTNET_SOCKET, or a remote agent over mutual TLS with
\-\-server. Exit status: 0 done, 1 refused or failed, 2 applied with \-\-wait but not Ready
within the timeout.'
manpage hostnet-cni 8 'CNI plugin of hostnet' \
'hostnet-cni   (run by a CNI runtime: CNI_COMMAND=ADD|DEL|CHECK|STATUS|GC|VERSION, the network configuration on stdin)' \
'A CNI plugin (spec 1.1) that asks the local hostnet agent over its unix socket for each
container interface. Runtimes find it in /usr/lib/cni. Its network configuration:
.nf
{ "cniVersion": "1.1.0", "name": "web", "type": "hostnet\-cni", "network": "web",
  "agentSocket": "/run/hostnet/agent.sock" }
.fi'

# Control files.
mkdir -p "$root/DEBIAN"
install -m 755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$root/DEBIAN/"
echo /etc/hostnet/agent.yaml >"$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@SHLIBS@/$shlibs/" packaging/debian/control.in >"$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

deb=$out/hostnet_${version}_${arch}.deb
dpkg-deb --build --root-owner-group -Zxz "$root" "$deb" >/dev/null
rm -rf "$root"
echo "$deb"
